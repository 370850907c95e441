package outreach

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/ledger"
	"affiliated/internal/mail"
	"affiliated/internal/notify"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// env is a Service on a fresh database with one program and its vendors.
type env struct {
	t        *testing.T
	d        *db.DB
	s        *Service
	prog     *program.Program
	vendors  []*program.Affiliate
	programs *program.Store
	clock    time.Time // what s.Now returns, when set
}

// ctx is a request context whose changes are attributed to "test:owner".
var ctx = audit.WithActor(context.Background(), "test:owner")

func newEnv(t *testing.T, d *db.DB, vendors ...string) *env {
	t.Helper()
	log := &audit.Log{DB: d}
	programs := &program.Store{DB: d, Audit: log, BaseURL: base}
	e := &env{t: t, d: d}
	e.programs = programs
	e.s = &Service{
		DB: d, Audit: log, Programs: programs, From: "owner@go.example.com", BaseURL: base,
		Counts: func(ctx context.Context, id int64) (int64, int64, error) { return id * 10, id, nil },
		Now: func() time.Time {
			if !e.clock.IsZero() {
				return e.clock
			}
			return time.Now()
		},
	}
	e.prog = program.NewProgram()
	e.prog.Name, e.prog.DestinationURL = "Trattoria Partners", "https://trattoria.example/"
	if err := programs.CreateProgram(ctx, e.prog); err != nil {
		t.Fatal(err)
	}
	for i, name := range vendors {
		a := program.NewAffiliate()
		a.ProgramID, a.Name, a.Email = e.prog.ID, name, fmt.Sprintf("vendor%d@shops.example", i+1)
		a.CouponCode = fmt.Sprintf("SHOP%d", i+1)
		if err := programs.CreateAffiliate(ctx, a); err != nil {
			t.Fatal(err)
		}
		e.vendors = append(e.vendors, a)
	}
	e.s.Outbox = withStatus{e.outbox(nil)}
	return e
}

// outbox returns a new outbox (a new process, as far as the worker goes)
// sending through sender; nil keeps mail in the dev mailbox.
func (e *env) outbox(sender mail.Sender) *notify.Service {
	e.t.Helper()
	n, err := notify.New(notify.Config{
		DB: e.d, Log: slog.New(slog.DiscardHandler), Programs: e.programs, From: e.s.From, BaseURL: base,
		Ledger: &ledger.Ledger{DB: e.d, Programs: e.programs, Clicks: &tracking.Stats{DB: e.d}},
		Sender: sender, Batch: 1, Poll: 10 * time.Millisecond, Backoff: time.Millisecond,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// content is a valid campaign to every vendor of the program.
func (e *env) content(name string) Content {
	return Content{
		Name:       name,
		Subject:    "A partnership for {{.Name}}",
		HTML:       `<p>Dear {{.Name}},</p><p>Your link: <a href="{{.ReferralURL}}">{{.ReferralURL}}</a>, code {{.CouponCode}}, {{.Clicks}} clicks in {{.ProgramName}}.</p>`,
		Recipients: Recipients{ProgramID: e.prog.ID},
		FromName:   "Trattoria Owner",
		ReplyTo:    "owner@trattoria.example",
	}
}

func (e *env) create(name string) *Campaign {
	e.t.Helper()
	c, err := e.s.Create(ctx, e.content(name))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) state(id int64) string {
	e.t.Helper()
	c, err := e.s.campaign(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.State
}

func (e *env) transitions(id int64) []Transition {
	e.t.Helper()
	ts, err := e.s.Transitions(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return ts
}

func review() Review {
	return Review{Approver: "ann@trattoria.example", Priority: "high", DueDate: "2027-01-15", Comment: "please look"}
}

// withStatus adds MessageStatus to a notify.Service that lacks it.
type withStatus struct{ *notify.Service }

func (o withStatus) MessageStatus(ctx context.Context, id int64) (string, string, error) {
	m, err := o.Message(ctx, id)
	if err != nil {
		return "", "", err
	}
	return m.Status, m.LastError, nil
}
