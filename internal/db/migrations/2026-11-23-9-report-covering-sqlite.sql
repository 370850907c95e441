-- The overview reads a range of hours of a program from sale_hours and
-- click_program_hours: with every column it reads in the index, it never
-- visits the table (a 90-day overview was thousands of table lookups).
create index sale_hours_cover on sale_hours (program_id, hour, currency, kind, orders, gross, net, commission);
create index click_program_hours_cover on click_program_hours (program_id, hour, clicks, uniques, bots);

-- Daily dimension counters per program: click_dims summed over the
-- program's affiliates, so that a program's (or every program's) referrer,
-- landing page and device reports read a row per value and day rather
-- than one per affiliate, value and day. Kept by the triggers below in the
-- transaction of every change to click_dims: the click writer needs to
-- know nothing of it. A table clustered by its key (without rowid): the
-- reports read it in key order.
create table click_program_dims (
	program_id bigint not null,
	dim        text   not null,
	day        {{time}} not null,
	value      text   not null,
	clicks     bigint not null default 0,
	primary key (program_id, dim, day, value)
) without rowid;

-- The click writer upserts click_dims: a new row fires the insert trigger,
-- an existing one the update trigger.
create trigger click_dims_program_insert after insert on click_dims
begin
	insert into click_program_dims (program_id, dim, day, value, clicks)
	values (new.program_id, new.dim, new.day, new.value, new.clicks)
	on conflict (program_id, dim, day, value) do update set clicks = click_program_dims.clicks + excluded.clicks;
end;

create trigger click_dims_program_update after update on click_dims
begin
	insert into click_program_dims (program_id, dim, day, value, clicks)
	values (old.program_id, old.dim, old.day, old.value, -old.clicks)
	on conflict (program_id, dim, day, value) do update set clicks = click_program_dims.clicks + excluded.clicks;
	insert into click_program_dims (program_id, dim, day, value, clicks)
	values (new.program_id, new.dim, new.day, new.value, new.clicks)
	on conflict (program_id, dim, day, value) do update set clicks = click_program_dims.clicks + excluded.clicks;
end;

create trigger click_dims_program_delete after delete on click_dims
begin
	insert into click_program_dims (program_id, dim, day, value, clicks)
	values (old.program_id, old.dim, old.day, old.value, -old.clicks)
	on conflict (program_id, dim, day, value) do update set clicks = click_program_dims.clicks + excluded.clicks;
end;

-- What already exists.
insert into click_program_dims (program_id, dim, day, value, clicks)
select program_id, dim, day, value, sum(clicks) from click_dims group by program_id, dim, day, value;
