-- Programs: what an affiliate promotes and the rules that apply to it.
create table programs (
	id                  {{id}},
	name                text    not null,
	slug                text    not null,
	destination_url     text    not null,
	allowed_hosts       text    not null default '',  -- comma-separated, lower-case
	fallback_url        text    not null default '',
	commission_rate_bps integer not null default 5000,
	flat_amount         bigint  not null default 0,   -- minor units; > 0 pays a flat amount instead of a rate
	flat_currency       text    not null default '',
	hold_days           integer not null default 30,
	cookie_days         integer not null default 30,
	attribution         text    not null default 'first',
	utm_source          text    not null default '{code}',
	utm_medium          text    not null default 'referral',
	utm_campaign        text    not null default '{program}',
	recurring           text    not null default 'forever',
	min_payout          bigint  not null default 0,
	auto_approve        boolean not null default false,
	terms               text    not null default '',
	created_at          {{time}} not null,
	updated_at          {{time}} not null
);
create unique index programs_slug on programs (slug);

-- Affiliates (vendors are affiliates too).
create table affiliates (
	id                  {{id}},
	program_id          bigint  not null references programs (id),
	email               text    not null,
	name                text    not null default '',
	code                text    not null,            -- lower-case, URL-safe
	coupon_code         text,                        -- null when none
	status              text    not null default 'active',
	commission_rate_bps integer,                     -- null: the program's rate
	payout_email        text    not null default '',
	website             text    not null default '',
	promotion           text    not null default '',
	notify_sales        boolean not null default true,
	created_at          {{time}} not null,
	updated_at          {{time}} not null
);
create unique index affiliates_email on affiliates (lower(email));
create unique index affiliates_code on affiliates (code);
create unique index affiliates_coupon_code on affiliates (lower(coupon_code));
create index affiliates_program on affiliates (program_id);

-- API tokens: only a SHA-256 of the token is kept.
create table api_tokens (
	id           {{id}},
	name         text not null,
	hash         text not null,
	prefix       text not null,
	created_at   {{time}} not null,
	last_used_at {{time}},
	revoked_at   {{time}}
);
create unique index api_tokens_hash on api_tokens (hash);
create unique index api_tokens_name on api_tokens (name) where revoked_at is null;

-- Who changed what, when.
create table audit_log (
	id        {{id}},
	at        {{time}} not null,
	actor     text not null,
	action    text not null,
	entity    text not null,
	entity_id text not null default '',
	detail    {{json}}
);
create index audit_log_at on audit_log (at);
