-- The overview reads a range of hours of a program from sale_hours and
-- click_program_hours: with every column it reads in the index, it is an
-- index-only scan (a 90-day overview was thousands of heap fetches).
create index sale_hours_cover on sale_hours (program_id, hour) include (currency, kind, orders, gross, net, commission);
create index click_program_hours_cover on click_program_hours (program_id, hour) include (clicks, uniques, bots);

-- Daily dimension counters per program: click_dims summed over the
-- program's affiliates, so that a program's (or every program's) referrer,
-- landing page and device reports read a row per value and day rather
-- than one per affiliate, value and day. Kept by the trigger below in the
-- transaction of every change to click_dims: the click writer needs to
-- know nothing of it.
create table click_program_dims (
	program_id bigint not null,
	dim        text   not null,
	day        timestamptz not null,
	value      text   not null,
	clicks     bigint not null default 0,
	primary key (program_id, dim, day, value)
);
create index click_program_dims_cover on click_program_dims (program_id, dim, day) include (value, clicks);

-- The click writer upserts click_dims: a new row fires the trigger as an
-- insert, an existing one as an update.
create function click_dims_program() returns trigger language plpgsql as $$
begin
	if tg_op <> 'INSERT' then
		insert into click_program_dims (program_id, dim, day, value, clicks)
		values (old.program_id, old.dim, old.day, old.value, -old.clicks)
		on conflict (program_id, dim, day, value) do update set clicks = click_program_dims.clicks + excluded.clicks;
	end if;
	if tg_op <> 'DELETE' then
		insert into click_program_dims (program_id, dim, day, value, clicks)
		values (new.program_id, new.dim, new.day, new.value, new.clicks)
		on conflict (program_id, dim, day, value) do update set clicks = click_program_dims.clicks + excluded.clicks;
	end if;
	return null;
end $$;
create trigger click_dims_program after insert or update or delete on click_dims
	for each row execute function click_dims_program();

-- What already exists.
insert into click_program_dims (program_id, dim, day, value, clicks)
select program_id, dim, day, value, sum(clicks) from click_dims group by program_id, dim, day, value;
