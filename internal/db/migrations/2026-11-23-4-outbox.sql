-- Every message to send (an email, an outgoing webhook), written in the
-- same transaction as the change it announces. A worker claims due rows,
-- sends them and marks them sent; failures are retried with backoff until
-- give_up_at, then the row is dead (visible, re-queueable).
create table outbox (
	id            {{id}},
	key           text    not null,            -- idempotency key: a second enqueue of it is a no-op
	channel       text    not null,            -- email, webhook
	topic         text    not null,            -- what it announces: commission.created, signin.code, sale.created, …
	priority      integer not null default 0,  -- higher is sent first (sign-in codes)
	recipient     text    not null default '', -- the email address or the endpoint URL, for listings
	subject       text    not null default '', -- the email subject or the event type, for listings
	endpoint_id   bigint,                      -- webhook_endpoints.id for webhooks (no foreign key: endpoints can go)
	payload       {{json}} not null,           -- the rendered email, or the webhook body
	status        text    not null default 'queued', -- queued, sending, sent, dead
	attempts      integer not null default 0,  -- claims so far; also the fencing token of the current claim
	next_at       {{time}} not null,           -- when a queued row is due
	claimed_until {{time}},                    -- lease of a sending row; past it, another worker re-claims
	give_up_at    {{time}} not null,           -- after a failure past this, the row is dead
	last_error    text    not null default '',
	created_at    {{time}} not null,
	sent_at       {{time}}
);
create unique index outbox_key on outbox (key);
create index outbox_due on outbox (status, next_at);
create index outbox_channel on outbox (channel, id);

-- Outgoing webhook endpoints registered by the owner. The secret signs
-- every delivery, so it is kept as is (it is shown once, at creation).
create table webhook_endpoints (
	id          {{id}},
	url         text not null,
	events      text not null,               -- comma-separated event types, or *
	secret      text not null,
	description text not null default '',
	created_at  {{time}} not null
);
