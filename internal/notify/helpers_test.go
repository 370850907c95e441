package notify

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/ledger"
	"affiliated/internal/mail"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a database with a program ("Course", 50%, 30-day hold), an
// affiliate (Anna, coupon ANNA15), a ledger, a real SMTP server and a
// Service on a clock the test moves.
type fixture struct {
	t     testing.TB
	d     *db.DB
	progs *program.Store
	led   *ledger.Ledger
	svc   *Service
	smtp  *smtptest.Server
	prog  *program.Program
	anna  *program.Affiliate

	mu  sync.Mutex
	now time.Time
}

func newFixture(t testing.TB, d *db.DB, edit ...func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, d: d, now: t0, smtp: smtptest.Start(t)}
	f.progs = &program.Store{DB: d, Audit: &audit.Log{DB: d}, BaseURL: "https://go.example.com"}
	p := program.NewProgram()
	p.Name, p.DestinationURL = "Course", "https://example.com/course"
	if err := f.progs.CreateProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	a := program.NewAffiliate()
	a.ProgramID, a.Name, a.Email, a.CouponCode = p.ID, "Anna", "anna@example.com", "ANNA15"
	if err := f.progs.CreateAffiliate(ctx, a); err != nil {
		t.Fatal(err)
	}
	f.prog, f.anna = p, a
	f.led = &ledger.Ledger{DB: d, Log: quietLog(), Programs: f.progs, Clicks: &tracking.Stats{DB: d}, Now: f.clock}
	cfg := f.config()
	for _, e := range edit {
		e(&cfg)
	}
	f.svc = f.service(cfg)
	f.led.Notifier = f.svc
	return f
}

// config is the fixture's Service configuration: SMTP to the test server,
// one owner, webhooks to loopback allowed, the test's clock.
func (f *fixture) config() Config {
	mc, err := mail.ParseURL(f.smtp.URL())
	if err != nil {
		f.t.Fatal(err)
	}
	return Config{DB: f.d, Log: quietLog(), Ledger: f.led, Programs: f.progs, Audit: &audit.Log{DB: f.d},
		BaseURL: "https://go.example.com", From: "Course <news@example.com>", Owners: []string{"owner@example.com"},
		Sender: mail.NewSMTP(mc), AllowPrivate: true, Now: f.clock}
}

func (f *fixture) service(cfg Config) *Service {
	f.t.Helper()
	s, err := New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// sale records a Stripe sale through Anna's coupon.
func (f *fixture) sale(order, currency string, gross int64) {
	f.t.Helper()
	f.ingest(payments.Event{Kind: payments.KindSale, EventID: "evt-sale-" + order, OrderID: order, Currency: currency,
		Gross: gross, Net: gross, NetReported: true, Coupon: "anna15", ProductName: "Go in Practice", CustomerEmail: "buyer@example.net"})
}

// refund records a refund of amount on order.
func (f *fixture) refund(order string, amount int64) {
	f.t.Helper()
	f.ingest(payments.Event{Kind: payments.KindRefund, EventID: "evt-refund-" + order, OrderID: order, RefundID: "re-" + order,
		Refund: amount})
}

func (f *fixture) ingest(ev payments.Event) {
	f.t.Helper()
	ev.Platform, ev.OccurredAt = payments.Stripe, f.clock()
	out, err := f.led.Ingest(context.Background(), ev.Platform, []byte(ev.EventID), ev, nil)
	if err != nil || out != ledger.Applied {
		f.t.Fatalf("ingest %s: %v %v", ev.EventID, out, err)
	}
}

// drain runs s until nothing is due and returns how many rows it claimed.
func drain(t *testing.T, s *Service) int {
	t.Helper()
	total := 0
	for {
		n, err := s.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// rows returns the outbox, oldest first.
func (f *fixture) rows(filter Filter) []*Message {
	f.t.Helper()
	filter.Limit = 500
	list, _, err := f.svc.Messages(context.Background(), filter)
	if err != nil {
		f.t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// byRecipient indexes received messages by their first envelope recipient.
func byRecipient(t *testing.T, msgs []smtptest.Received) map[string][]smtptest.Received {
	t.Helper()
	out := map[string][]smtptest.Received{}
	for _, m := range msgs {
		if m.ParseErr != nil {
			t.Errorf("message to %v: %v", m.To, m.ParseErr)
		}
		out[strings.Join(m.To, ",")] = append(out[strings.Join(m.To, ",")], m)
	}
	return out
}

// wantAll fails unless s holds every one of subs.
func wantAll(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}
