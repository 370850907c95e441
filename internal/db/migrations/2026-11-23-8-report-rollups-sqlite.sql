-- Rollups for the owner's reports at scale (internal/analytics), so that a
-- quarter of a busy program is a few thousand rows, not every order.
--
-- Clicks: per program and UTC hour (the overview), and per affiliate and
-- UTC day (the top affiliates over whole days). The click writer keeps
-- them in the batch's transaction, with click_rollups and click_dims.
create table click_program_hours (
	program_id bigint not null,
	hour       {{time}} not null,
	clicks     bigint not null default 0,
	uniques    bigint not null default 0,
	bots       bigint not null default 0,
	primary key (program_id, hour)
);
create table click_days (
	affiliate_id bigint not null,
	program_id   bigint not null,
	day          {{time}} not null,  -- midnight UTC
	clicks       bigint not null default 0,
	uniques      bigint not null default 0,
	bots         bigint not null default 0,
	primary key (affiliate_id, program_id, day)
);
create index click_days_program on click_days (program_id, day, affiliate_id, clicks, uniques, bots);

-- Attributed payments (orders with a sale and an affiliate), refunds taken
-- off, with their commissions as they stand: per program and UTC hour, and
-- per affiliate and UTC day. Kept by the triggers below in the transaction
-- of every change to orders and commissions, whoever makes it: the ledger
-- needs to know nothing of them. An order counts under its program,
-- affiliate, hour of occurred_at, currency and kind (sale or renewal).
create table sale_hours (
	program_id bigint not null,
	hour       {{time}} not null,
	currency   text   not null,
	kind       text   not null,
	orders     bigint not null default 0,
	gross      bigint not null default 0,
	net        bigint not null default 0,
	commission bigint not null default 0,
	primary key (program_id, hour, currency, kind)
);
create table sale_days (
	affiliate_id bigint not null,
	program_id   bigint not null,
	day          {{time}} not null,
	currency     text   not null,
	kind         text   not null,
	orders       bigint not null default 0,
	gross        bigint not null default 0,
	net          bigint not null default 0,
	commission   bigint not null default 0,
	primary key (affiliate_id, program_id, day, currency, kind)
);
create index sale_days_program on sale_days (program_id, day, affiliate_id, currency, kind, orders, gross, net, commission);

-- An order's contribution is added when it is inserted, moved when it
-- changes (old taken off, new added), taken off when deleted. Its
-- commission moves with it; a commission's changes go to its order's rows.
-- Times are stored as UTC text ("2026-11-23 10:04:05.123+00:00"), so the
-- hour and the day are prefixes.
create trigger orders_sale_rollups_insert after insert on orders
when new.has_sale and new.affiliate_id is not null and new.program_id is not null
begin
	insert into sale_hours (program_id, hour, currency, kind, orders, gross, net, commission)
	select new.program_id, substr(new.occurred_at, 1, 13) || ':00:00+00:00', new.currency, new.kind, 1,
		new.gross - new.refunded_gross, new.net - new.refunded_net,
		coalesce((select amount from commissions where order_id = new.id), 0)
	where true
	on conflict (program_id, hour, currency, kind) do update set orders = sale_hours.orders + excluded.orders,
		gross = sale_hours.gross + excluded.gross, net = sale_hours.net + excluded.net,
		commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, orders, gross, net, commission)
	select new.affiliate_id, new.program_id, substr(new.occurred_at, 1, 10) || ' 00:00:00+00:00', new.currency, new.kind, 1,
		new.gross - new.refunded_gross, new.net - new.refunded_net,
		coalesce((select amount from commissions where order_id = new.id), 0)
	where true
	on conflict (affiliate_id, program_id, day, currency, kind) do update set orders = sale_days.orders + excluded.orders,
		gross = sale_days.gross + excluded.gross, net = sale_days.net + excluded.net,
		commission = sale_days.commission + excluded.commission;
end;

create trigger orders_sale_rollups_update after update on orders
begin
	insert into sale_hours (program_id, hour, currency, kind, orders, gross, net, commission)
	select old.program_id, substr(old.occurred_at, 1, 13) || ':00:00+00:00', old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where old.has_sale and old.affiliate_id is not null and old.program_id is not null
	on conflict (program_id, hour, currency, kind) do update set orders = sale_hours.orders + excluded.orders,
		gross = sale_hours.gross + excluded.gross, net = sale_hours.net + excluded.net,
		commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, orders, gross, net, commission)
	select old.affiliate_id, old.program_id, substr(old.occurred_at, 1, 10) || ' 00:00:00+00:00', old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where old.has_sale and old.affiliate_id is not null and old.program_id is not null
	on conflict (affiliate_id, program_id, day, currency, kind) do update set orders = sale_days.orders + excluded.orders,
		gross = sale_days.gross + excluded.gross, net = sale_days.net + excluded.net,
		commission = sale_days.commission + excluded.commission;
	insert into sale_hours (program_id, hour, currency, kind, orders, gross, net, commission)
	select new.program_id, substr(new.occurred_at, 1, 13) || ':00:00+00:00', new.currency, new.kind, 1,
		new.gross - new.refunded_gross, new.net - new.refunded_net,
		coalesce((select amount from commissions where order_id = new.id), 0)
	where new.has_sale and new.affiliate_id is not null and new.program_id is not null
	on conflict (program_id, hour, currency, kind) do update set orders = sale_hours.orders + excluded.orders,
		gross = sale_hours.gross + excluded.gross, net = sale_hours.net + excluded.net,
		commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, orders, gross, net, commission)
	select new.affiliate_id, new.program_id, substr(new.occurred_at, 1, 10) || ' 00:00:00+00:00', new.currency, new.kind, 1,
		new.gross - new.refunded_gross, new.net - new.refunded_net,
		coalesce((select amount from commissions where order_id = new.id), 0)
	where new.has_sale and new.affiliate_id is not null and new.program_id is not null
	on conflict (affiliate_id, program_id, day, currency, kind) do update set orders = sale_days.orders + excluded.orders,
		gross = sale_days.gross + excluded.gross, net = sale_days.net + excluded.net,
		commission = sale_days.commission + excluded.commission;
end;

create trigger orders_sale_rollups_delete after delete on orders
when old.has_sale and old.affiliate_id is not null and old.program_id is not null
begin
	insert into sale_hours (program_id, hour, currency, kind, orders, gross, net, commission)
	select old.program_id, substr(old.occurred_at, 1, 13) || ':00:00+00:00', old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where true
	on conflict (program_id, hour, currency, kind) do update set orders = sale_hours.orders + excluded.orders,
		gross = sale_hours.gross + excluded.gross, net = sale_hours.net + excluded.net,
		commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, orders, gross, net, commission)
	select old.affiliate_id, old.program_id, substr(old.occurred_at, 1, 10) || ' 00:00:00+00:00', old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where true
	on conflict (affiliate_id, program_id, day, currency, kind) do update set orders = sale_days.orders + excluded.orders,
		gross = sale_days.gross + excluded.gross, net = sale_days.net + excluded.net,
		commission = sale_days.commission + excluded.commission;
end;

-- A commission's amount (delta) goes to its order's rows.
create trigger commissions_sale_rollups_insert after insert on commissions
begin
	insert into sale_hours (program_id, hour, currency, kind, commission)
	select o.program_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (program_id, hour, currency, kind) do update set commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, commission)
	select o.affiliate_id, o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, program_id, day, currency, kind) do update set commission = sale_days.commission + excluded.commission;
end;

create trigger commissions_sale_rollups_update after update of amount, order_id on commissions
begin
	insert into sale_hours (program_id, hour, currency, kind, commission)
	select o.program_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (program_id, hour, currency, kind) do update set commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, commission)
	select o.affiliate_id, o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, program_id, day, currency, kind) do update set commission = sale_days.commission + excluded.commission;
	insert into sale_hours (program_id, hour, currency, kind, commission)
	select o.program_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (program_id, hour, currency, kind) do update set commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, commission)
	select o.affiliate_id, o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, program_id, day, currency, kind) do update set commission = sale_days.commission + excluded.commission;
end;

create trigger commissions_sale_rollups_delete after delete on commissions
begin
	insert into sale_hours (program_id, hour, currency, kind, commission)
	select o.program_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (program_id, hour, currency, kind) do update set commission = sale_hours.commission + excluded.commission;
	insert into sale_days (affiliate_id, program_id, day, currency, kind, commission)
	select o.affiliate_id, o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, program_id, day, currency, kind) do update set commission = sale_days.commission + excluded.commission;
end;

-- What already exists.
insert into click_program_hours (program_id, hour, clicks, uniques, bots)
select program_id, hour, sum(clicks), sum(uniques), sum(bots) from click_rollups group by program_id, hour;
insert into click_days (affiliate_id, program_id, day, clicks, uniques, bots)
select affiliate_id, program_id, substr(hour, 1, 10) || ' 00:00:00+00:00', sum(clicks), sum(uniques), sum(bots)
from click_rollups group by affiliate_id, program_id, substr(hour, 1, 10);
insert into sale_hours (program_id, hour, currency, kind, orders, gross, net, commission)
select o.program_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.currency, o.kind, count(*),
	sum(o.gross - o.refunded_gross), sum(o.net - o.refunded_net), sum(coalesce(c.amount, 0))
from orders o left join commissions c on c.order_id = o.id
where o.has_sale and o.affiliate_id is not null and o.program_id is not null
group by o.program_id, substr(o.occurred_at, 1, 13), o.currency, o.kind;
insert into sale_days (affiliate_id, program_id, day, currency, kind, orders, gross, net, commission)
select o.affiliate_id, o.program_id, substr(o.occurred_at, 1, 10) || ' 00:00:00+00:00', o.currency, o.kind, count(*),
	sum(o.gross - o.refunded_gross), sum(o.net - o.refunded_net), sum(coalesce(c.amount, 0))
from orders o left join commissions c on c.order_id = o.id
where o.has_sale and o.affiliate_id is not null and o.program_id is not null
group by o.affiliate_id, o.program_id, substr(o.occurred_at, 1, 10), o.currency, o.kind;

-- Indexes the reports no longer read; each cost every click batch a write.
drop index click_rollups_program_cover;
drop index click_rollups_affiliate_cover;
drop index commissions_order_amount;
