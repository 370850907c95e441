-- Attributed payments per affiliate and UTC hour, refunds taken off, with
-- their commissions as they stand: what sale_hours holds per program,
-- keyed by affiliate, so that one affiliate's (or a few affiliates')
-- sales over a range are read from a row per hour, currency and kind
-- rather than from every order (the busiest affiliate of a demo has ~8,000
-- orders a month). Kept by the triggers below in the transaction of every
-- change to orders and commissions, like sale_hours: a refund changes the
-- order's row, an attribution to another affiliate moves its sums. A table
-- clustered by its key (without rowid): reports read an affiliate's hours
-- in key order.
create table sale_affiliate_hours (
	affiliate_id bigint not null,
	hour         {{time}} not null,
	program_id   bigint not null,
	currency     text   not null,
	kind         text   not null,
	orders       bigint not null default 0,
	gross        bigint not null default 0,
	net          bigint not null default 0,
	commission   bigint not null default 0,
	primary key (affiliate_id, hour, program_id, currency, kind)
) without rowid;

-- Times are stored as UTC text ("2026-11-23 10:04:05.123+00:00"), so the
-- hour is a prefix.
create trigger orders_sale_affiliate_hours_insert after insert on orders
when new.has_sale and new.affiliate_id is not null and new.program_id is not null
begin
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, orders, gross, net, commission)
	select new.affiliate_id, substr(new.occurred_at, 1, 13) || ':00:00+00:00', new.program_id, new.currency, new.kind, 1,
		new.gross - new.refunded_gross, new.net - new.refunded_net,
		coalesce((select amount from commissions where order_id = new.id), 0)
	where true
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set orders = sale_affiliate_hours.orders + excluded.orders,
		gross = sale_affiliate_hours.gross + excluded.gross, net = sale_affiliate_hours.net + excluded.net,
		commission = sale_affiliate_hours.commission + excluded.commission;
end;

create trigger orders_sale_affiliate_hours_update after update on orders
begin
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, orders, gross, net, commission)
	select old.affiliate_id, substr(old.occurred_at, 1, 13) || ':00:00+00:00', old.program_id, old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where old.has_sale and old.affiliate_id is not null and old.program_id is not null
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set orders = sale_affiliate_hours.orders + excluded.orders,
		gross = sale_affiliate_hours.gross + excluded.gross, net = sale_affiliate_hours.net + excluded.net,
		commission = sale_affiliate_hours.commission + excluded.commission;
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, orders, gross, net, commission)
	select new.affiliate_id, substr(new.occurred_at, 1, 13) || ':00:00+00:00', new.program_id, new.currency, new.kind, 1,
		new.gross - new.refunded_gross, new.net - new.refunded_net,
		coalesce((select amount from commissions where order_id = new.id), 0)
	where new.has_sale and new.affiliate_id is not null and new.program_id is not null
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set orders = sale_affiliate_hours.orders + excluded.orders,
		gross = sale_affiliate_hours.gross + excluded.gross, net = sale_affiliate_hours.net + excluded.net,
		commission = sale_affiliate_hours.commission + excluded.commission;
end;

create trigger orders_sale_affiliate_hours_delete after delete on orders
when old.has_sale and old.affiliate_id is not null and old.program_id is not null
begin
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, orders, gross, net, commission)
	select old.affiliate_id, substr(old.occurred_at, 1, 13) || ':00:00+00:00', old.program_id, old.currency, old.kind, -1,
		-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
		-coalesce((select amount from commissions where order_id = old.id), 0)
	where true
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set orders = sale_affiliate_hours.orders + excluded.orders,
		gross = sale_affiliate_hours.gross + excluded.gross, net = sale_affiliate_hours.net + excluded.net,
		commission = sale_affiliate_hours.commission + excluded.commission;
end;

-- A commission's amount (delta) goes to its order's row.
create trigger commissions_sale_affiliate_hours_insert after insert on commissions
begin
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, commission)
	select o.affiliate_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.program_id, o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set commission = sale_affiliate_hours.commission + excluded.commission;
end;

create trigger commissions_sale_affiliate_hours_update after update of amount, order_id on commissions
begin
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, commission)
	select o.affiliate_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.program_id, o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set commission = sale_affiliate_hours.commission + excluded.commission;
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, commission)
	select o.affiliate_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.program_id, o.currency, o.kind, new.amount
	from orders o where o.id = new.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set commission = sale_affiliate_hours.commission + excluded.commission;
end;

create trigger commissions_sale_affiliate_hours_delete after delete on commissions
begin
	insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, commission)
	select o.affiliate_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.program_id, o.currency, o.kind, -old.amount
	from orders o where o.id = old.order_id and o.has_sale and o.affiliate_id is not null and o.program_id is not null
	on conflict (affiliate_id, hour, program_id, currency, kind) do update set commission = sale_affiliate_hours.commission + excluded.commission;
end;

-- What already exists.
insert into sale_affiliate_hours (affiliate_id, hour, program_id, currency, kind, orders, gross, net, commission)
select o.affiliate_id, substr(o.occurred_at, 1, 13) || ':00:00+00:00', o.program_id, o.currency, o.kind, count(*),
	sum(o.gross - o.refunded_gross), sum(o.net - o.refunded_net), sum(coalesce(c.amount, 0))
from orders o left join commissions c on c.order_id = o.id
where o.has_sale and o.affiliate_id is not null and o.program_id is not null
group by o.affiliate_id, substr(o.occurred_at, 1, 13), o.program_id, o.currency, o.kind;
