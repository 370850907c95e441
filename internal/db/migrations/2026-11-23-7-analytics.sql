-- Daily click counters by report dimension, per affiliate: where visitors
-- came from (referrer_host), where they landed (landing_path: host and
-- path, no query) and on what (device). Days are UTC midnights. Only human
-- clicks are counted, so each dimension sums to click_rollups.clicks over
-- the same days. The click writer updates them in the batch's transaction.
-- Clicks logged before this migration are not back-filled.
create table click_dims (
	affiliate_id bigint not null,
	program_id   bigint not null,
	day          {{time}} not null,
	dim          text   not null,             -- referrer_host, landing_path, device
	value        text   not null,             -- '' for no referrer
	clicks       bigint not null default 0,
	primary key (affiliate_id, dim, day, value)
);
-- Per-program reports read this index alone.
create index click_dims_program on click_dims (program_id, dim, day, value, clicks);

-- Covering indexes for the owner's reports: aggregates over a range are
-- answered from the index without visiting the table rows.
create index click_rollups_program_cover on click_rollups (program_id, hour, affiliate_id, clicks, uniques, bots);
create index click_rollups_affiliate_cover on click_rollups (affiliate_id, hour, clicks, uniques, bots);
create index orders_program_sales on orders (program_id, occurred_at, affiliate_id, has_sale, kind, currency,
	gross, refunded_gross, net, refunded_net);
create index orders_affiliate_sales on orders (affiliate_id, occurred_at, has_sale, kind, currency,
	gross, refunded_gross, net, refunded_net);
create index commissions_order_amount on commissions (order_id, amount);
