-- Every verified webhook delivery, raw, with what became of it. Written in
-- the same transaction as its effects.
create table webhook_events (
	id          {{id}},
	platform    text not null,
	event_id    text not null,          -- the platform's, or a hash of the body when it has none
	event_type  text not null default '',
	received_at {{time}} not null,
	body        text not null,
	outcome     text not null,          -- applied, ignored, failed
	error       text not null default '',
	order_id    bigint                  -- our order, when the event touched one
);
create unique index webhook_events_key on webhook_events (platform, event_id);
create index webhook_events_outcome on webhook_events (outcome, id);
create index webhook_events_order on webhook_events (order_id);

-- A payment: a sale or a renewal. A refund that arrives first creates the
-- row with has_sale false; the sale fills it in later.
create table orders (
	id              {{id}},
	platform        text    not null,
	order_ref       text    not null,       -- the platform's order / transaction id
	kind            text    not null default 'sale',  -- sale or renewal
	has_sale        boolean not null default false,
	subscription_id text    not null default '',
	customer_id     text    not null default '',
	customer_email  text    not null default '',
	product_id      text    not null default '',
	product_name    text    not null default '',
	currency        text    not null default '',
	gross           bigint  not null default 0,
	tax             bigint  not null default 0,
	discount        bigint  not null default 0,
	fee             bigint  not null default 0,
	net             bigint  not null default 0,
	net_reported    boolean not null default false,
	refunded_gross  bigint  not null default 0,  -- sum of refunds, kept in step with the refunds table
	refunded_net    bigint  not null default 0,
	referral        text    not null default '',
	coupon          text    not null default '',
	affiliate_id    bigint  references affiliates (id),
	program_id      bigint  references programs (id),
	click_id        bigint,
	attributed_by   text    not null default '',  -- referral, code, coupon, subscription, manual
	occurred_at     {{time}} not null,
	created_at      {{time}} not null,
	updated_at      {{time}} not null
);
create unique index orders_ref on orders (platform, order_ref);
create index orders_affiliate on orders (affiliate_id, occurred_at);
create index orders_occurred on orders (occurred_at, id);
create index orders_subscription on orders (platform, subscription_id);

-- Other ids by which a platform names the same payment (Stripe).
create table order_refs (
	platform text   not null,
	ref      text   not null,
	order_id bigint not null references orders (id),
	primary key (platform, ref)
);

-- Money taken back (refunds, chargebacks; a won chargeback is negative).
create table refunds (
	id          {{id}},
	order_id    bigint not null references orders (id),
	kind        text   not null,        -- refund, chargeback, chargeback_reversed
	refund_key  text   not null,        -- the platform's refund id, or the event id
	gross       bigint not null,
	net         bigint,                 -- null: proportional to the order's net
	occurred_at {{time}} not null,
	event_id    bigint references webhook_events (id),
	created_at  {{time}} not null
);
create unique index refunds_key on refunds (order_id, kind, refund_key);

-- Per program, product id → a rate or a flat amount.
create table product_rates (
	program_id  bigint  not null references programs (id),
	product_id  text    not null,
	rate_bps    integer not null default 0,
	flat_amount bigint  not null default 0,
	flat_currency text  not null default '',
	primary key (program_id, product_id)
);

-- One commission per attributed order. amount is the sum of its ledger
-- entries, kept in the same transaction as each entry.
create table commissions (
	id           {{id}},
	order_id     bigint  not null references orders (id),
	affiliate_id bigint  not null references affiliates (id),
	program_id   bigint  not null references programs (id),
	currency     text    not null,
	rate_bps     integer not null default 0,
	flat_amount  bigint  not null default 0,
	amount       bigint  not null,
	review       text    not null default '',   -- '', held, approved, rejected
	payable_at   {{time}} not null,
	payable_notified boolean not null default false,
	created_at   {{time}} not null
);
create unique index commissions_order on commissions (order_id);
create index commissions_affiliate on commissions (affiliate_id, created_at);
create index commissions_payable on commissions (payable_at);

-- Append-only: every change of a commission, with why and which event.
create table ledger_entries (
	id            {{id}},
	commission_id bigint  not null references commissions (id),
	affiliate_id  bigint  not null,
	currency      text    not null,
	amount        bigint  not null,         -- signed
	kind          text    not null,         -- earned, reversed, restored, clawback, rejected, approved
	reason        text    not null default '',
	event_id      bigint,                   -- webhook_events.id when an event caused it
	created_at    {{time}} not null
);
create index ledger_entries_commission on ledger_entries (commission_id, id);
create index ledger_entries_affiliate on ledger_entries (affiliate_id, currency);

create table payouts (
	id         {{id}},
	program_id bigint,
	before_at  {{time}} not null,
	status     text not null default 'created',  -- created, paid, cancelled
	created_at {{time}} not null,
	paid_at    {{time}},
	cancelled_at {{time}}
);

create table payout_lines (
	id           {{id}},
	payout_id    bigint not null references payouts (id),
	affiliate_id bigint not null references affiliates (id),
	currency     text   not null,
	amount       bigint not null,
	commissions  integer not null,
	clawbacks    bigint not null default 0
);
create index payout_lines_payout on payout_lines (payout_id);

-- Which ledger entries a payout pays. An entry is in at most one live
-- payout: the unique index makes two concurrent payouts unable to take the
-- same entry, on either engine. Cancelling a payout deletes its rows.
create table payout_entries (
	payout_id bigint not null references payouts (id),
	entry_id  bigint not null references ledger_entries (id),
	primary key (entry_id)
);
create index payout_entries_payout on payout_entries (payout_id);
