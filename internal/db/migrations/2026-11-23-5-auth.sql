-- Owners run the console. They are created by `affiliated admin add EMAIL`
-- or by the one-time setup link that `serve` prints when there is none.
create table owners (
	id         {{id}},
	email      text not null,
	created_at {{time}} not null
);
create unique index owners_email on owners (lower(email));

-- One-time sign-in codes. Only hashes are kept: of the 6-digit code (with
-- the email and kind in the input) and of the magic-link token. A code row
-- is written for every request, whether or not the email belongs to
-- someone, so the two cases look and cost the same. kind 'setup' is the
-- first owner's setup link (email empty, no code).
create table signin_codes (
	id         {{id}},
	kind       text not null,             -- affiliate, owner, setup
	email      text not null,             -- lower-case
	code_hash  text not null,
	link_hash  text not null,
	flow_hash  text not null default '',  -- the requesting browser's login cookie, hashed
	created_at {{time}} not null,
	expires_at {{time}} not null,
	attempts   integer not null default 0, -- tries used, wrong or right
	used_at    {{time}}
);
create index signin_codes_email on signin_codes (kind, email, id);
create unique index signin_codes_link on signin_codes (link_hash);
create index signin_codes_expires on signin_codes (expires_at);

-- Signed-in browsers. The cookie holds a random token; only its hash is here.
create table sessions (
	id           {{id}},
	token_hash   text   not null,
	kind         text   not null,          -- affiliate or owner
	principal_id bigint not null,          -- affiliates.id or owners.id
	created_at   {{time}} not null,
	last_seen_at {{time}} not null,
	expires_at   {{time}} not null,
	user_agent   text not null default '',
	ip           text not null default ''  -- truncated (/24, /48)
);
create unique index sessions_token on sessions (token_hash);
create index sessions_principal on sessions (kind, principal_id);
create index sessions_expires on sessions (expires_at);

-- Fixed-window counters for rate limits, in the database so that limits
-- hold across replicas. Old windows are deleted as new ones are written.
create table rate_limits (
	key          text    not null,
	window_start {{time}} not null,
	count        integer not null,
	primary key (key, window_start)
);
create index rate_limits_window on rate_limits (window_start);
