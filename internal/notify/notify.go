// Package notify tells people what happened: it turns ledger notices (and
// sign-in codes, outreach sends) into outbox rows written in the same
// transaction as the change they announce, and a worker sends them — email
// over SMTP, outgoing webhooks signed with HMAC-SHA256 — retrying with
// backoff until they are sent or dead.
//
// The guarantee is at-least-once, deduplicated: every row has an idempotency
// key, a second enqueue of the key is a no-op, and the email's Message-ID and
// the webhook's event id derive from it. A crash between sending and marking
// sent yields at most one more copy with the same Message-ID or event id.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/ledger"
	"affiliated/internal/mail"
	"affiliated/internal/program"
)

// Priorities: a higher priority is claimed first.
const (
	PriorityBulk   = -10 // outreach campaigns: after everything else
	PriorityNormal = 0
	PriorityUrgent = 100 // sign-in codes: someone is waiting at the screen
)

// Config is what New needs. Zero durations take the defaults in brackets.
type Config struct {
	DB       *db.DB
	Log      *slog.Logger
	Ledger   *ledger.Ledger
	Programs *program.Store
	Audit    *audit.Log // may be nil

	// BaseURL is the server's public URL, for the portal links in emails.
	BaseURL string
	// From is the From address of every email.
	From string
	// Owners receive the owner's copy of sale and refund emails.
	Owners []string
	// Sender sends email. nil keeps mail in the dev mailbox: it is checked
	// and logged by mail.NewLogSender, marked sent, and stays listed.
	Sender mail.Sender

	RetryFor time.Duration // how long a failing message is retried [24h]
	Backoff  time.Duration // the first retry's delay, doubling after [30s]
	MaxDelay time.Duration // the longest delay between two attempts [2h]
	Lease    time.Duration // how long a claim reserves a row [2m]
	Batch    int           // rows claimed, and sent concurrently, at once [4]
	Poll     time.Duration // how often an idle worker looks for due rows [1s]
	Sweep    time.Duration // how often the payable sweep runs [10m]

	// AllowPrivate lets webhooks reach private, loopback and link-local
	// addresses (tests, or an owner's own network).
	AllowPrivate bool
	// WebhookTimeout bounds one webhook delivery [10s].
	WebhookTimeout time.Duration
	// LookupIP resolves webhook hosts when endpoints are registered
	// [net.DefaultResolver]; tests replace it.
	LookupIP func(ctx context.Context, host string) ([]net.IP, error)

	Now    func() time.Time    // [time.Now]
	Jitter func(n int64) int64 // a random number in [0, n) [math/rand/v2]
}

// Service is the outbox: it implements ledger.Notifier, enqueues messages,
// runs the worker and the payable sweep, and manages webhook endpoints.
type Service struct {
	cfg    Config
	db     *db.DB
	log    *slog.Logger
	sender mail.Sender
	dev    bool // no SMTP: mail goes to the dev mailbox
	tmpl   *templates
	client *http.Client

	kick chan struct{}

	mu      sync.Mutex
	running bool
}

// New checks cfg and returns a Service. It starts nothing: see Start.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Ledger == nil || cfg.Programs == nil {
		return nil, errors.New("notify: DB, Ledger and Programs are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.From == "" {
		cfg.From = "affiliated@localhost"
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.RetryFor, 24*time.Hour)
	def(&cfg.Backoff, 30*time.Second)
	def(&cfg.MaxDelay, 2*time.Hour)
	def(&cfg.Lease, 2*time.Minute)
	def(&cfg.Poll, time.Second)
	def(&cfg.Sweep, 10*time.Minute)
	def(&cfg.WebhookTimeout, 10*time.Second)
	if cfg.Batch <= 0 {
		cfg.Batch = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(n int64) int64 { return rand.Int64N(n) }
	}
	if cfg.LookupIP == nil {
		cfg.LookupIP = func(ctx context.Context, host string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip", host)
		}
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, db: cfg.DB, log: cfg.Log, sender: cfg.Sender, tmpl: t, kick: make(chan struct{}, 1)}
	if s.sender == nil {
		s.sender, s.dev = mail.NewLogSender(cfg.Log), true
	}
	s.client = newWebhookClient(cfg.AllowPrivate, cfg.WebhookTimeout)
	return s, nil
}

// DevMailbox reports whether mail stays in the dev mailbox (no SMTP).
func (s *Service) DevMailbox() bool { return s.dev }

func (s *Service) now() time.Time { return db.Time(s.cfg.Now()) }

// Kick wakes an idle worker so that rows just committed are sent without
// waiting for the next poll. Call it after the transaction that enqueued.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// backoff returns the delay before attempt n+1 after n failed attempts:
// Backoff doubling each time, capped at MaxDelay, with "equal jitter" (a
// random half on top of the other half), so that rows that failed together
// do not all come back together.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < n && d < s.cfg.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxDelay)
	half := int64(d / 2)
	if half <= 0 {
		return d
	}
	return time.Duration(half + s.cfg.Jitter(half+1))
}
