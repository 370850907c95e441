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
-- Hours and days are UTC.
create function sale_rollups_add(p_program bigint, p_affiliate bigint, p_at timestamptz, p_currency text, p_kind text,
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
end $$;

create function orders_sale_rollups() returns trigger language plpgsql as $$
begin
	if tg_op <> 'INSERT' and old.has_sale and old.affiliate_id is not null and old.program_id is not null then
		perform sale_rollups_add(old.program_id, old.affiliate_id, old.occurred_at, old.currency, old.kind, -1,
			-(old.gross - old.refunded_gross), -(old.net - old.refunded_net),
			-coalesce((select amount from commissions where order_id = old.id), 0));
	end if;
	if tg_op <> 'DELETE' and new.has_sale and new.affiliate_id is not null and new.program_id is not null then
		perform sale_rollups_add(new.program_id, new.affiliate_id, new.occurred_at, new.currency, new.kind, 1,
			new.gross - new.refunded_gross, new.net - new.refunded_net,
			coalesce((select amount from commissions where order_id = new.id), 0));
	end if;
	return null;
end $$;
create trigger orders_sale_rollups after insert or update or delete on orders
	for each row execute function orders_sale_rollups();

create function commissions_sale_rollups() returns trigger language plpgsql as $$
declare o orders;
begin
	if tg_op <> 'INSERT' then
		select * into o from orders where id = old.order_id;
		if found and o.has_sale and o.affiliate_id is not null and o.program_id is not null then
			perform sale_rollups_add(o.program_id, o.affiliate_id, o.occurred_at, o.currency, o.kind, 0, 0, 0, -old.amount);
		end if;
	end if;
	if tg_op <> 'DELETE' then
		select * into o from orders where id = new.order_id;
		if found and o.has_sale and o.affiliate_id is not null and o.program_id is not null then
			perform sale_rollups_add(o.program_id, o.affiliate_id, o.occurred_at, o.currency, o.kind, 0, 0, 0, new.amount);
		end if;
	end if;
	return null;
end $$;
create trigger commissions_sale_rollups after insert or delete or update of amount, order_id on commissions
	for each row execute function commissions_sale_rollups();

-- What already exists.
insert into click_program_hours (program_id, hour, clicks, uniques, bots)
select program_id, hour, sum(clicks), sum(uniques), sum(bots) from click_rollups group by program_id, hour;
insert into click_days (affiliate_id, program_id, day, clicks, uniques, bots)
select affiliate_id, program_id, date_trunc('day', hour at time zone 'UTC') at time zone 'UTC', sum(clicks), sum(uniques), sum(bots)
from click_rollups group by 1, 2, 3;
insert into sale_hours (program_id, hour, currency, kind, orders, gross, net, commission)
select o.program_id, date_trunc('hour', o.occurred_at at time zone 'UTC') at time zone 'UTC', o.currency, o.kind, count(*),
	sum(o.gross - o.refunded_gross), sum(o.net - o.refunded_net), sum(coalesce(c.amount, 0))
from orders o left join commissions c on c.order_id = o.id
where o.has_sale and o.affiliate_id is not null and o.program_id is not null
group by 1, 2, 3, 4;
insert into sale_days (affiliate_id, program_id, day, currency, kind, orders, gross, net, commission)
select o.affiliate_id, o.program_id, date_trunc('day', o.occurred_at at time zone 'UTC') at time zone 'UTC', o.currency, o.kind, count(*),
	sum(o.gross - o.refunded_gross), sum(o.net - o.refunded_net), sum(coalesce(c.amount, 0))
from orders o left join commissions c on c.order_id = o.id
where o.has_sale and o.affiliate_id is not null and o.program_id is not null
group by 1, 2, 3, 4, 5;

-- Indexes the reports no longer read; each cost every click batch a write.
drop index click_rollups_program_cover;
drop index click_rollups_affiliate_cover;
drop index commissions_order_amount;
