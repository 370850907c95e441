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
-- changes go to its order's rows. Tables clustered by their key (without
-- rowid): the reports read ranges of it.
create table sale_program_days (
	program_id bigint not null,
	day        {{time}} not null,  -- midnight UTC
	currency   text   not null,
	kind       text   not null,
	orders     bigint not null default 0,
	gross      bigint not null default 0,
	net        bigint not null default 0,
	commission bigint not null default 0,
	primary key (program_id, day, currency, kind)
) without rowid;
create table sale_affiliate_weeks (
	affiliate_id bigint not null,
	week         {{time}} not null,  -- Monday, midnight UTC
	program_id   bigint not null,
	currency     text   not null,
	kind         text   not null,
	orders       bigint not null default 0,
	gross        bigint not null default 0,
	net          bigint not null default 0,
	commission   bigint not null default 0,
	primary key (affiliate_id, week, program_id, currency, kind)
) without rowid;

-- The hours of each UTC day that a series in the owner's zone moves to the
-- next or the previous local day (for New York, 00:00-04:00 UTC) are read
-- from sale_hours by hour of day: with this index, a seek per program and
-- hour of day rather than a scan of every hour of the range.
create index sale_hours_hod on sale_hours (program_id, substr(hour, 12, 2), hour, currency, kind, orders, gross, net, commission);

-- Times are stored as UTC text ("2026-11-23 10:04:05.123+00:00"): the day
-- is a prefix, the week's Monday is date(day, '-6 days', 'weekday 1').
-- One trigger per change, for both tables: each trigger costs the write
-- path a sub-program.
create trigger orders_sale_coarse_insert after insert on orders
when new.has_sale and new.affiliate_id is not null and new.program_id is not null
begin
	insert into sale_program_days (program_id, day, currency, kind, orders, gross, net, commission)
	select new.program_id, substr(new.occurred_at, 1, 10) || ' 00:00:00+00:00', new.currency, new.kind, 1,
		(new.gross - new.refunded_gross), (new.net - new.refunded_net),
		coalesce((select amount from commissions where order_id = new.id), 0)
	where true
	on conflict (program_id, day, currency, kind) do update set orders = sale_program_days.orders + excluded.orders,
		gross = sale_program_days.gross + excluded.gross, net = sale_program_days.net + excluded.net,
		commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, orders, gross, net, commission)
	select new.affiliate_id, date(substr(new.occurred_at, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', new.program_id, new.currency, new.kind, 1,
		(new.gross - new.refunded_gross), (new.net - new.refunded_net),
		coalesce((select amount from commissions where order_id = new.id), 0)
	where true
	on conflict (affiliate_id, week, program_id, currency, kind) do update set orders = sale_affiliate_weeks.orders + excluded.orders,
		gross = sale_affiliate_weeks.gross + excluded.gross, net = sale_affiliate_weeks.net + excluded.net,
		commission = sale_affiliate_weeks.commission + excluded.commission;
end;

create trigger orders_sale_coarse_update after update of has_sale, affiliate_id, program_id, occurred_at, currency, kind,
	gross, refunded_gross, net, refunded_net on orders
begin
	insert into sale_program_days (program_id, day, currency, kind, orders, gross, net, commission)
	select old.program_id, substr(old.occurred_at, 1, 10) || ' 00:00:00+00:00', old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where old.has_sale and old.affiliate_id is not null and old.program_id is not null
	on conflict (program_id, day, currency, kind) do update set orders = sale_program_days.orders + excluded.orders,
		gross = sale_program_days.gross + excluded.gross, net = sale_program_days.net + excluded.net,
		commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, orders, gross, net, commission)
	select old.affiliate_id, date(substr(old.occurred_at, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', old.program_id, old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where old.has_sale and old.affiliate_id is not null and old.program_id is not null
	on conflict (affiliate_id, week, program_id, currency, kind) do update set orders = sale_affiliate_weeks.orders + excluded.orders,
		gross = sale_affiliate_weeks.gross + excluded.gross, net = sale_affiliate_weeks.net + excluded.net,
		commission = sale_affiliate_weeks.commission + excluded.commission;
	insert into sale_program_days (program_id, day, currency, kind, orders, gross, net, commission)
	select new.program_id, substr(new.occurred_at, 1, 10) || ' 00:00:00+00:00', new.currency, new.kind, 1,
		(new.gross - new.refunded_gross), (new.net - new.refunded_net),
		coalesce((select amount from commissions where order_id = new.id), 0)
	where new.has_sale and new.affiliate_id is not null and new.program_id is not null
	on conflict (program_id, day, currency, kind) do update set orders = sale_program_days.orders + excluded.orders,
		gross = sale_program_days.gross + excluded.gross, net = sale_program_days.net + excluded.net,
		commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, orders, gross, net, commission)
	select new.affiliate_id, date(substr(new.occurred_at, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', new.program_id, new.currency, new.kind, 1,
		(new.gross - new.refunded_gross), (new.net - new.refunded_net),
		coalesce((select amount from commissions where order_id = new.id), 0)
	where new.has_sale and new.affiliate_id is not null and new.program_id is not null
	on conflict (affiliate_id, week, program_id, currency, kind) do update set orders = sale_affiliate_weeks.orders + excluded.orders,
		gross = sale_affiliate_weeks.gross + excluded.gross, net = sale_affiliate_weeks.net + excluded.net,
		commission = sale_affiliate_weeks.commission + excluded.commission;
end;

create trigger orders_sale_coarse_delete after delete on orders
when old.has_sale and old.affiliate_id is not null and old.program_id is not null
begin
	insert into sale_program_days (program_id, day, currency, kind, orders, gross, net, commission)
	select old.program_id, substr(old.occurred_at, 1, 10) || ' 00:00:00+00:00', old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where true
	on conflict (program_id, day, currency, kind) do update set orders = sale_program_days.orders + excluded.orders,
		gross = sale_program_days.gross + excluded.gross, net = sale_program_days.net + excluded.net,
		commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, orders, gross, net, commission)
	select old.affiliate_id, date(substr(old.occurred_at, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', old.program_id, old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where true
	on conflict (affiliate_id, week, program_id, currency, kind) do update set orders = sale_affiliate_weeks.orders + excluded.orders,
		gross = sale_affiliate_weeks.gross + excluded.gross, net = sale_affiliate_weeks.net + excluded.net,
		commission = sale_affiliate_weeks.commission + excluded.commission;
end;

-- A commission's amount (delta) goes to its order's rows.
create trigger commissions_sale_coarse_insert after insert on commissions
begin
	insert into sale_program_days (program_id, day, currency, kind, commission)
	select o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (program_id, day, currency, kind) do update set commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, commission)
	select o.affiliate_id, date(substr(o.occurred_at, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', o.program_id, o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, week, program_id, currency, kind) do update set commission = sale_affiliate_weeks.commission + excluded.commission;
end;

create trigger commissions_sale_coarse_update after update of amount, order_id on commissions
begin
	insert into sale_program_days (program_id, day, currency, kind, commission)
	select o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (program_id, day, currency, kind) do update set commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, commission)
	select o.affiliate_id, date(substr(o.occurred_at, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', o.program_id, o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, week, program_id, currency, kind) do update set commission = sale_affiliate_weeks.commission + excluded.commission;
	insert into sale_program_days (program_id, day, currency, kind, commission)
	select o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (program_id, day, currency, kind) do update set commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, commission)
	select o.affiliate_id, date(substr(o.occurred_at, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', o.program_id, o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, week, program_id, currency, kind) do update set commission = sale_affiliate_weeks.commission + excluded.commission;
end;

create trigger commissions_sale_coarse_delete after delete on commissions
begin
	insert into sale_program_days (program_id, day, currency, kind, commission)
	select o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (program_id, day, currency, kind) do update set commission = sale_program_days.commission + excluded.commission;
	insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, commission)
	select o.affiliate_id, date(substr(o.occurred_at, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', o.program_id, o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, week, program_id, currency, kind) do update set commission = sale_affiliate_weeks.commission + excluded.commission;
end;

-- What already exists.
insert into sale_program_days (program_id, day, currency, kind, orders, gross, net, commission)
select program_id, substr(hour, 1, 10) || ' 00:00:00+00:00', currency, kind, sum(orders), sum(gross), sum(net), sum(commission)
from sale_hours group by program_id, substr(hour, 1, 10), currency, kind;
insert into sale_affiliate_weeks (affiliate_id, week, program_id, currency, kind, orders, gross, net, commission)
select affiliate_id, date(substr(day, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00+00:00', program_id, currency, kind,
	sum(orders), sum(gross), sum(net), sum(commission)
from sale_days group by affiliate_id, date(substr(day, 1, 10), '-6 days', 'weekday 1'), program_id, currency, kind;

-- The top affiliates read the hours at the edges of their range from
-- sale_affiliate_hours (a seek per affiliate) rather than from the orders
-- of those hours, which was the one query this covering index served: it
-- cost every insert and refund of an order a ten-column index entry.
drop index orders_program_sales;
