-- An affiliate's orders by id with their time: a page of them over a range
-- of time (the console's affiliate page) is found in the index, in id
-- order, instead of sorting every order of the range by id (a quarter of
-- the largest demo affiliate is ~20,000 orders).
create index orders_affiliate_id_occurred on orders (affiliate_id, id, occurred_at);
