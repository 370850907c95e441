package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"affiliated/internal/apperr"
	"affiliated/internal/mail"
)

// Message statuses.
const (
	StatusQueued  = "queued"
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusDead    = "dead"
)

// Channels.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Email is an email to queue. Its body is rendered already: the outbox
// keeps what was true when the event happened, and a template change or a
// deleted row never breaks a queued message. (The ledger's notices queue
// their emails as a template and its data instead, rendered by the worker:
// see enqueueTemplated.)
type Email struct {
	// Key is the idempotency key, e.g. "signin:ann@example.com:1712345678".
	// Enqueueing a key a second time does nothing; the Message-ID derives
	// from it, so mail clients show copies of one key once.
	Key      string
	Topic    string // what it is, for listings: "signin.code", "outreach"
	Priority int    // PriorityUrgent, PriorityNormal, PriorityBulk
	To       string
	ReplyTo  string
	Subject  string
	HTML     string
	Text     string // empty: derived from HTML
	Headers  map[string]string
	// Sensitive bodies (sign-in codes) are removed from the row once an SMTP
	// server has accepted the message. In the dev mailbox they stay.
	Sensitive bool
}

// emailPayload is an email as stored in outbox.payload.
type emailPayload struct {
	MessageID string            `json:"message_id"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	ReplyTo   string            `json:"reply_to,omitempty"`
	Subject   string            `json:"subject"`
	HTML      string            `json:"html"`
	Text      string            `json:"text"`
	Headers   map[string]string `json:"headers,omitempty"`
	Sensitive bool              `json:"sensitive,omitempty"`
	// An email of the ledger's notices is queued as its template's kind and
	// the data it was given when the event happened; HTML and Text are
	// empty, and rendered when the email is sent or shown (see render).
	Template string    `json:"template,omitempty"`
	Data     *mailData `json:"data,omitempty"`
}

// render fills in the HTML and text of an email queued as a template and
// its data. An email queued rendered is left as it is.
func (s *Service) render(p *emailPayload) error {
	if p.Template == "" {
		return nil
	}
	if p.Data == nil {
		return fmt.Errorf("notify: email of template %q without its data", p.Template)
	}
	html, text, err := s.tmpl.body(p.Template, p.Data)
	if err != nil {
		return err
	}
	p.HTML, p.Text = html, text
	return nil
}

func (p emailPayload) message() mail.Message {
	return mail.Message{MessageID: p.MessageID, From: p.From, To: p.To, ReplyTo: p.ReplyTo,
		Subject: p.Subject, HTML: p.HTML, Text: p.Text, Headers: p.Headers}
}

// webhookPayload is a delivery as stored: the body is kept as a string so
// that every retry sends the same bytes (jsonb would reorder the keys).
type webhookPayload struct {
	Body string `json:"body"`
}

// row is one outbox row to insert.
type row struct {
	key, channel, topic, recipient, subject string
	priority                                int
	endpointID                              *int64
	payload                                 any
}

// EnqueueEmail queues e through the transaction in ctx (or its own) and
// returns the row's id; created is false when e.Key was queued before, in
// which case nothing changes.
func (s *Service) EnqueueEmail(ctx context.Context, e Email) (id int64, created bool, err error) {
	if e.Key == "" || e.To == "" || e.Subject == "" || (e.HTML == "" && e.Text == "") {
		return 0, false, errors.New("notify: an email needs a key, a recipient, a subject and a body")
	}
	if e.Topic == "" {
		e.Topic = "email"
	}
	if e.Text == "" {
		e.Text = mail.HTMLToText(e.HTML)
	}
	p := emailPayload{MessageID: mail.MessageIDFor(e.Key, s.cfg.From), From: s.cfg.From, To: e.To, ReplyTo: e.ReplyTo,
		Subject: e.Subject, HTML: e.HTML, Text: e.Text, Headers: e.Headers, Sensitive: e.Sensitive}
	return s.insert(ctx, row{key: e.Key, channel: ChannelEmail, topic: e.Topic, priority: e.Priority,
		recipient: e.To, subject: e.Subject, payload: p})
}

// Enqueue queues a bulk email (outreach campaigns), behind transactional
// mail, through the transaction in ctx (or its own). m.From and m.MessageID
// are kept when set; otherwise they are the configured From and
// mail.MessageIDFor(key). A key queued before is left as it is and gives
// id 0. It satisfies outreach.Outbox's Enqueue.
func (s *Service) Enqueue(ctx context.Context, key string, m mail.Message) (id int64, err error) {
	if key == "" || m.To == "" || m.Subject == "" || (m.HTML == "" && m.Text == "") {
		return 0, errors.New("notify: an email needs a key, a recipient, a subject and a body")
	}
	if m.From == "" {
		m.From = s.cfg.From
	}
	if m.MessageID == "" {
		m.MessageID = mail.MessageIDFor(key, m.From)
	}
	if m.Text == "" {
		m.Text = mail.HTMLToText(m.HTML)
	}
	p := emailPayload{MessageID: m.MessageID, From: m.From, To: m.To, ReplyTo: m.ReplyTo, Subject: m.Subject,
		HTML: m.HTML, Text: m.Text, Headers: m.Headers}
	id, _, err = s.insert(ctx, row{key: key, channel: ChannelEmail, topic: "outreach", priority: PriorityBulk,
		recipient: m.To, subject: m.Subject, payload: p})
	return id, err
}

func (s *Service) insert(ctx context.Context, r row) (int64, bool, error) {
	b, err := json.Marshal(r.payload)
	if err != nil {
		return 0, false, err
	}
	now := s.now()
	var id int64
	err = s.db.Q(ctx).QueryRowContext(ctx, `/* notify.insert */
		insert into outbox (key, channel, topic, priority, recipient, subject, endpoint_id, payload, status,
			next_at, give_up_at, created_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $10, $9)
		on conflict (key) do nothing returning id`,
		r.key, r.channel, r.topic, r.priority, r.recipient, oneLine(r.subject, 300), r.endpointID, string(b),
		now, now.Add(s.cfg.RetryFor)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("notify: enqueue %s: %w", r.key, err)
	}
	return id, true, nil
}

func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > limit {
		for limit > 0 && !utf8.RuneStart(s[limit]) {
			limit-- // never cut a character in two
		}
		s = s[:limit]
	}
	return s
}

// Message is an outbox row as the owner sees it (without its body).
type Message struct {
	ID         int64      `json:"id"`
	Key        string     `json:"key"`
	Channel    string     `json:"channel"`
	Topic      string     `json:"topic"`
	Priority   int        `json:"priority"`
	Recipient  string     `json:"recipient"`
	Subject    string     `json:"subject"`
	EndpointID *int64     `json:"endpoint_id,omitempty"`
	Status     string     `json:"status"`
	Attempts   int        `json:"attempts"`
	NextAt     time.Time  `json:"next_at"`
	GiveUpAt   time.Time  `json:"give_up_at"`
	LastError  string     `json:"last_error"`
	CreatedAt  time.Time  `json:"created_at"`
	SentAt     *time.Time `json:"sent_at"`
}

const messageCols = `id, key, channel, topic, priority, recipient, subject, endpoint_id, status, attempts,
	next_at, give_up_at, last_error, created_at, sent_at`

func scanMessage(r interface{ Scan(...any) error }, extra ...any) (*Message, error) {
	var m Message
	var ep sql.NullInt64
	var sent sql.NullTime
	dest := append([]any{&m.ID, &m.Key, &m.Channel, &m.Topic, &m.Priority, &m.Recipient, &m.Subject, &ep, &m.Status,
		&m.Attempts, &m.NextAt, &m.GiveUpAt, &m.LastError, &m.CreatedAt, &sent}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	if ep.Valid {
		m.EndpointID = &ep.Int64
	}
	if sent.Valid {
		t := sent.Time.UTC()
		m.SentAt = &t
	}
	m.NextAt, m.GiveUpAt, m.CreatedAt = m.NextAt.UTC(), m.GiveUpAt.UTC(), m.CreatedAt.UTC()
	return &m, nil
}

// Filter narrows a listing of the outbox.
type Filter struct {
	Status  string // queued, sending, sent, dead; "" for all
	Channel string // email, webhook; "" for both
	Before  int64  // cursor: newest first, ids below this
	Limit   int
}

func (f *Filter) check() error {
	switch f.Status {
	case "", StatusQueued, StatusSending, StatusSent, StatusDead:
	default:
		return apperr.Invalid("status", "must be queued, sending, sent or dead")
	}
	switch f.Channel {
	case "", ChannelEmail, ChannelWebhook:
	default:
		return apperr.Invalid("channel", "must be email or webhook")
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	if f.Before <= 0 {
		f.Before = 1<<63 - 1
	}
	return nil
}

// where returns the conditions and arguments of f.
func (f *Filter) where() (string, []any) {
	args := []any{f.Before}
	conds := []string{"id < $1"}
	if f.Status != "" {
		args = append(args, f.Status)
		conds = append(conds, "status = $"+strconv.Itoa(len(args)))
	}
	if f.Channel != "" {
		args = append(args, f.Channel)
		conds = append(conds, "channel = $"+strconv.Itoa(len(args)))
	}
	args = append(args, f.Limit)
	return strings.Join(conds, " and ") + " order by id desc limit $" + strconv.Itoa(len(args)), args
}

// Messages lists the outbox, newest first; next is the cursor of the next
// page ("" at the end).
func (s *Service) Messages(ctx context.Context, f Filter) (list []*Message, next string, err error) {
	if err := f.check(); err != nil {
		return nil, "", err
	}
	where, args := f.where()
	rows, err := s.db.R(ctx).QueryContext(ctx, `/* notify.Messages */ select `+messageCols+` from outbox where `+where, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	list = []*Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, "", err
		}
		list = append(list, m)
	}
	if len(list) == f.Limit {
		next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return list, next, rows.Err()
}

// Message returns one outbox row.
func (s *Service) Message(ctx context.Context, id int64) (*Message, error) {
	m, err := scanMessage(s.db.R(ctx).QueryRowContext(ctx, `/* notify.Message */ select `+messageCols+` from outbox where id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("message")
	}
	return m, err
}

// Retry re-queues a dead (or waiting) message to be sent now, with a fresh
// retry window. A message being sent or already sent cannot be retried.
func (s *Service) Retry(ctx context.Context, id int64) (*Message, error) {
	err := s.db.TX(ctx, func(ctx context.Context) error {
		now := s.now()
		res, err := s.db.Q(ctx).ExecContext(ctx, `/* notify.Retry */
			update outbox set status = 'queued', next_at = $1, give_up_at = $2, claimed_until = null
			where id = $3 and status in ('dead', 'queued')`, now, now.Add(s.cfg.RetryFor), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			m, err := s.Message(ctx, id)
			if err != nil {
				return err
			}
			return apperr.Conflict("message_"+m.Status, "", "the message is %s; only a dead or queued message can be retried", m.Status)
		}
		if s.cfg.Audit != nil {
			return s.cfg.Audit.Record(ctx, "outbox.retry", "outbox", id, nil)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Kick()
	return s.Message(ctx, id)
}

// Backlog counts the rows that are not sent yet, by status (queued,
// sending, dead), for metrics and alerts.
func (s *Service) Backlog(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.R(ctx).QueryContext(ctx, `/* notify.Backlog */
		select status, count(*) from outbox where status in ('queued', 'sending', 'dead') group by status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{StatusQueued: 0, StatusSending: 0, StatusDead: 0}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// MailboxEntry is an email with its rendered parts, for the dev mailbox.
type MailboxEntry struct {
	Message
	MessageID string `json:"message_id"`
	From      string `json:"from"`
	HTML      string `json:"html"`
	Text      string `json:"text"`
}

// Mailbox lists emails with their rendered HTML and text, newest first. It
// is the dev mailbox when no SMTP server is configured; otherwise the
// bodies of sensitive emails (sign-in codes) read "(removed after sending)".
func (s *Service) Mailbox(ctx context.Context, f Filter) (list []*MailboxEntry, next string, err error) {
	f.Channel = ChannelEmail
	if err := f.check(); err != nil {
		return nil, "", err
	}
	where, args := f.where()
	rows, err := s.db.R(ctx).QueryContext(ctx, `/* notify.Mailbox */ select `+messageCols+`, payload from outbox where `+where, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	list = []*MailboxEntry{}
	for rows.Next() {
		var payload []byte
		m, err := scanMessage(rows, &payload)
		if err != nil {
			return nil, "", err
		}
		var p emailPayload
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, "", fmt.Errorf("outbox row %d: %w", m.ID, err)
		}
		if err := s.render(&p); err != nil {
			return nil, "", fmt.Errorf("outbox row %d: %w", m.ID, err)
		}
		list = append(list, &MailboxEntry{Message: *m, MessageID: p.MessageID, From: p.From, HTML: p.HTML, Text: p.Text})
	}
	if len(list) == f.Limit {
		next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return list, next, rows.Err()
}
