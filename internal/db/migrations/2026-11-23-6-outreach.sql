-- Vendor outreach: email campaigns that are previewed and approved before
-- they are sent, one outbox message per recipient.
create table campaigns (
	id          {{id}},
	name        text    not null,
	slug        text    not null,               -- utm_content of tagged links
	subject     text    not null,               -- text/template
	html        text    not null default '',    -- html/template
	text_body   text    not null default '',    -- text/template; '' derives the text part from the HTML
	recipients  {{json}} not null,              -- {"affiliate_ids":[…],"program_id":…,"status":"…"}
	from_name   text    not null default '',
	reply_to    text    not null default '',
	utm_content boolean not null default false, -- tag referral links with utm_content=<slug>
	state       text    not null default 'draft', -- draft, in_review, changes_requested, approved, sending, sent
	approver    text    not null default '',    -- who was asked to review
	priority    text    not null default 'normal',
	due_date    text    not null default '',    -- YYYY-MM-DD, '' for none
	approved_by text    not null default '',
	approved_at {{time}},
	sent_at     {{time}},                       -- when the last recipient was settled
	created_by  text    not null default '',
	created_at  {{time}} not null,
	updated_at  {{time}} not null
);
create unique index campaigns_slug on campaigns (slug);
create index campaigns_state on campaigns (state, id);

-- Every change of state, with who, when and why. Append-only.
create table campaign_transitions (
	id          {{id}},
	campaign_id bigint not null references campaigns (id),
	at          {{time}} not null,
	actor       text   not null,
	from_state  text   not null,
	to_state    text   not null,
	comment     text   not null default ''
);
create index campaign_transitions_campaign on campaign_transitions (campaign_id, id);

-- Who a sent campaign went to. Written with the outbox rows, in the same
-- transaction as the move to "sending"; status and error mirror the outbox
-- message (refreshed on read until settled).
create table campaign_recipients (
	campaign_id  bigint not null references campaigns (id),
	affiliate_id bigint not null references affiliates (id),
	email        text   not null,
	name         text   not null default '',
	outbox_key   text   not null,               -- outreach:<campaign id>:<affiliate id>
	outbox_id    bigint not null,               -- outbox.id (no foreign key: notify owns that table)
	status       text   not null default 'queued', -- queued, sent, failed
	error        text   not null default '',
	updated_at   {{time}} not null,
	primary key (campaign_id, affiliate_id)
);

-- Shareable read-only previews: only a SHA-256 of the token is kept.
create table preview_links (
	id          {{id}},
	campaign_id bigint not null references campaigns (id),
	token_hash  text   not null,
	created_by  text   not null default '',
	created_at  {{time}} not null,
	expires_at  {{time}} not null
);
create unique index preview_links_hash on preview_links (token_hash);
create index preview_links_campaign on preview_links (campaign_id);

-- The task board: campaign reviews (opened on submit, closed when decided)
-- and anything added by hand.
create table tasks (
	id          {{id}},
	title       text   not null,
	kind        text   not null default 'manual', -- manual, campaign_review
	campaign_id bigint references campaigns (id),
	owner       text   not null default '',       -- the assignee
	priority    text   not null default 'normal', -- low, normal, high, urgent
	status      text   not null default 'open',   -- open, in_progress, done, cancelled
	due_date    text   not null default '',       -- YYYY-MM-DD
	link        text   not null default '',
	notes       text   not null default '',
	created_by  text   not null default '',
	created_at  {{time}} not null,
	updated_at  {{time}} not null,
	closed_at   {{time}}
);
create index tasks_status on tasks (status, id);
create index tasks_campaign on tasks (campaign_id);
