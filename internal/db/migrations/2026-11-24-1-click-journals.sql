-- How far each click journal has been loaded (tracking.ClickJournal): the
-- offset after the last record whose click is in clicks, updated in the
-- transaction that inserts those clicks, so that a restart replays exactly
-- the records after it. One row per journal directory (its ID file).
create table click_journals (
	id         text   primary key,
	loaded     bigint not null,
	updated_at {{time}} not null
);
