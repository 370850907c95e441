-- The time of a commission's order, on the commission, so that a page of
-- an affiliate's commissions over a range of time is read from one index
-- (the console's affiliate page lists a month of them: through the orders,
-- that was every older commission of the affiliate, an order lookup each).
-- The ledger writes it with the commission; the triggers below keep it
-- equal to the order's, whoever changes either.
alter table commissions add column occurred_at timestamptz;
update commissions c set occurred_at = o.occurred_at from orders o where o.id = c.order_id;

create function commissions_occurred() returns trigger language plpgsql as $$
begin
	select occurred_at into new.occurred_at from orders where id = new.order_id;
	return new;
end $$;
create trigger commissions_occurred before insert or update of occurred_at, order_id on commissions
	for each row execute function commissions_occurred();

create function orders_commission_occurred() returns trigger language plpgsql as $$
begin
	update commissions set occurred_at = new.occurred_at where order_id = new.id;
	return null;
end $$;
create trigger orders_commission_occurred after update of occurred_at on orders
	for each row when (old.occurred_at is distinct from new.occurred_at) execute function orders_commission_occurred();

-- An affiliate's commissions by id with their time: a page of them over a
-- range of time is read from the index alone, in id order, skipping
-- those outside the range without visiting the table.
drop index commissions_affiliate_id;
create index commissions_affiliate_id_occurred on commissions (affiliate_id, id) include (occurred_at);
