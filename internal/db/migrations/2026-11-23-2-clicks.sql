-- Every click on a referral link, append-only.
create table clicks (
	id           {{id}},
	referral_id  text    not null,
	affiliate_id bigint  not null references affiliates (id),
	program_id   bigint  not null references programs (id),
	at           {{time}} not null,
	referrer     text    not null default '',
	user_agent   text    not null default '',
	landing_url  text    not null default '',
	ip           text    not null default '',  -- truncated or hashed per --ip-mode
	device       text    not null default '',
	is_bot       boolean not null default false,
	is_unique    boolean not null default false -- the first click of its referral id
);
create index clicks_affiliate_at on clicks (affiliate_id, at, id);
create index clicks_program_at on clicks (program_id, at, id);
create index clicks_at on clicks (at, id);
create index clicks_referral on clicks (referral_id, at);

-- Hourly counters per affiliate, updated in the same transaction as the
-- clicks they count; dashboards read these, never the raw log.
create table click_rollups (
	affiliate_id bigint not null,
	program_id   bigint not null,
	hour         {{time}} not null,
	clicks       bigint not null default 0,  -- human clicks
	uniques      bigint not null default 0,  -- human first clicks of a referral id
	bots         bigint not null default 0,
	primary key (affiliate_id, hour)
);
create index click_rollups_program_hour on click_rollups (program_id, hour);
