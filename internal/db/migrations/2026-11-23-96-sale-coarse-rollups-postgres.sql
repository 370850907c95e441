-- Coarser rollups of attributed payments for the owner's overview page
-- (internal/analytics), refunds taken off, with their commissions as they
-- stand: what sale_hours holds, per program and UTC day
-- (sale_program_days), and what sale_days holds, per affiliate and UTC
-- week starting on Monday (sale_affiliate_weeks). A quarter's series is
-- then ~90 daily rows per program, currency and kind, corrected by the few
-- hours of each UTC day that belong to another day in the owner's zone
-- (read from sale_hours), rather than ~2,200 hourly rows; a quarter's top
-- affiliates are ~13 weekly rows per affiliate, plus the days and hours at
-- the edges, rather than ~90 daily ones. Kept like the other sale rollups
-- by triggers in the transaction of every change to orders and
-- commissions: an order's contribution is added when it is inserted,
-- moved when it changes, taken off when it is deleted; a commission's
-- changes go to its order's rows: sale_rollups_add, which the triggers of
-- orders and commissions call with an order's old and new contribution,
-- now adds to these two as well. Every column the reports read is in the
-- key's index (index-only scans).
create table sale_program_days (
	program_id bigint not null,
	day        timestamptz not null,  -- midnight UTC
	currency   text   not null,
	kind       text   not null,
	orders     bigint not null default 0,
	gross      bigint not null default 0,
	net        bigint not null default 0,
	commission bigint not null default 0,
	primary key (program_id, day, currency, kind) include (orders, gross, net, commission)
);
create table sale_affiliate_weeks (
	affiliate_id bigint not null,
	week         timestamptz not null,  -- Monday, midnight UTC
	program_id   bigint not null,
	currency     text   not null,
	kind         text   not null,
	orders       bigint not null default 0,
	gross        bigint not null default 0,
	net          bigint not null default 0,
	commission   bigint not null default 0,
	primary key (affiliate_id, week, program_id, currency, kind) include (orders, gross, net, commission)
);

create or replace function sale_rollups_add(p_program bigint, p_affiliate bigint, p_at timestamptz, p_currency text, p_kind text,
	p_orders bigint, p_gross bigint, p_net bigint, p_commission bigint) returns void language plpgsql as $$
begin
	insert into sale_hours (program_id, hour, currency, kind, orders, gross, net, commission)
	values (p_program, date_trunc('hour', p_at at time zone 'UTC') at time zone 'UTC', p_currency, p_kind,
		p_orders, p_gross, p_net, p_commission)
	on conflict (program_id, hour, currency, kind) do update set orders = sale_hours.orders + excluded.orders,
		gross = sale_hours.gross + excluded.gross, net = sale_hours.net + excluded.net,
		commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, orders, gross, net, commission)
	values (p_affiliate, p_program, date_trunc('day', p_at at time zone 'UTC') at time zone 'UTC', p_currency, p_kind,
		p_orders, p_gross, p_net, p_commission)
	on conflict (affiliate_id, program_id, day, currency, kind) do update set orders = sale_days.orders + excluded.orders,
		gross = sale_days.gross + excluded.gross, net = sale_days.net + excluded.net,
		commission = sale_days.commission + excluded.commission;
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, orders, gross, net, commission)
	values (p_affiliate, date_trunc('hour', p_at at time zone 'UTC') at time zone 'UTC', p_program, p_currency, p_kind,
		p_orders, p_gross, p_net, p_commission)
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set orders = sale_affiliate_hours.orders + excluded.orders,
		gross = sale_affiliate_hours.gross + excluded.gross, net = sale_affiliate_hours.net + excluded.net,
		commission = sale_affiliate_hours.commission + excluded.commission;
	insert into sale_program_days (program_id, day, currency, kind, orders, gross, net, commission)
	values (p_program, date_trunc('day', p_at at time zone 'UTC') at time zone 'UTC', p_currency, p_kind,
		p_orders, p_gross, p_net, p_commission)
	on conflict (program_id, day, currency, kind) do update set orders = sale_program_days.orders + excluded.orders,
		gross = sale_program_days.gross + excluded.gross, net = sale_program_days.net + excluded.net,
		commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, orders, gross, net, commission)
	values (p_affiliate, date_trunc('week', p_at at time zone 'UTC') at time zone 'UTC', p_program, p_currency, p_kind,
		p_orders, p_gross, p_net, p_commission)
	on conflict (affiliate_id, week, program_id, currency, kind) do update set orders = sale_affiliate_weeks.orders + excluded.orders,
		gross = sale_affiliate_weeks.gross + excluded.gross, net = sale_affiliate_weeks.net + excluded.net,
		commission = sale_affiliate_weeks.commission + excluded.commission;
end $$;

-- The hours of each UTC day that a series in the owner's zone moves to the
-- next or the previous local day (for New York, 00:00-04:00 UTC) are read
-- from sale_hours by hour of day: with this index, a seek per program and
-- hour of day rather than a scan of every hour of the range.
create index sale_hours_hod on sale_hours (program_id, (extract(hour from hour at time zone 'UTC')), hour)
	include (currency, kind, orders, gross, net, commission);

-- What already exists.
insert into sale_program_days (program_id, day, currency, kind, orders, gross, net, commission)
select program_id, date_trunc('day', hour at time zone 'UTC') at time zone 'UTC', currency, kind,
	sum(orders), sum(gross), sum(net), sum(commission)
from sale_hours group by 1, 2, 3, 4;
insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, orders, gross, net, commission)
select affiliate_id, date_trunc('week', day at time zone 'UTC') at time zone 'UTC', program_id, currency, kind,
	sum(orders), sum(gross), sum(net), sum(commission)
from sale_days group by 1, 2, 3, 4, 5;

-- The top affiliates read the hours at the edges of their range from
-- sale_affiliate_hours (a seek per affiliate) rather than from the orders
-- of those hours, which was the one query this covering index served: it
-- cost every insert and refund of an order a ten-column index entry.
drop index orders_program_sales;

-- Statistics for the new tables and index now: where autovacuum is off (as
-- on the benchmark machine) the planner would otherwise guess their size.
analyze sale_program_days;
analyze sale_affiliate_weeks;
analyze sale_hours;
