-- Two indexes that every attributed sale paid for and no query needs
-- (issue 4: each b-tree a sale touches is an insert and, in a group
-- commit, a page written to the WAL):
--
-- orders_affiliate (affiliate_id, occurred_at) is a prefix of
-- orders_affiliate_sales (affiliate_id, occurred_at, has_sale, kind, ...),
-- which serves every query it served.
--
-- commissions_affiliate (affiliate_id, created_at): no query filters or
-- orders commissions by created_at; an affiliate's commissions are read by
-- commissions_affiliate_id_occurred (pages by id over a time range) and
-- commissions_affiliate_payable (balances).
drop index orders_affiliate;
drop index commissions_affiliate;
