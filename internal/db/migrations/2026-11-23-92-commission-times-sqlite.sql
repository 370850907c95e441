-- The time of a commission's order, on the commission, so that a page of
-- an affiliate's commissions over a range of time is read from one index
-- (the console's affiliate page lists a month of them: through the orders,
-- that was every older commission of the affiliate, an order lookup each).
-- The ledger writes it with the commission; the triggers below keep it
-- equal to the order's, whoever changes either.
alter table commissions add column occurred_at {{time}};
update commissions set occurred_at = (select o.occurred_at from orders o where o.id = commissions.order_id);

create trigger commissions_occurred_insert after insert on commissions
when new.occurred_at is not (select occurred_at from orders where id = new.order_id)
begin
	update commissions set occurred_at = (select occurred_at from orders where id = new.order_id) where id = new.id;
end;
create trigger commissions_occurred_update after update of occurred_at, order_id on commissions
when new.occurred_at is not (select occurred_at from orders where id = new.order_id)
begin
	update commissions set occurred_at = (select occurred_at from orders where id = new.order_id) where id = new.id;
end;
create trigger orders_commission_occurred after update of occurred_at on orders
when old.occurred_at is not new.occurred_at
begin
	update commissions set occurred_at = new.occurred_at where order_id = new.id;
end;

-- An affiliate's commissions by id with their time: a page of them over a
-- range of time is read from the index alone, in id order, skipping
-- those outside the range without visiting the table.
drop index commissions_affiliate_id;
create index commissions_affiliate_id_occurred on commissions (affiliate_id, id, occurred_at);
