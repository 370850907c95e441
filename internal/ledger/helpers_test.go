package ledger

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

type fixture struct {
	t     *testing.T
	d     *db.DB
	l     *Ledger
	progs *program.Store
	prog  *program.Program
	anna  *program.Affiliate // code anna, coupon ANNA15
	now   time.Time
	seq   int
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, d *db.DB, edit func(p *program.Program)) *fixture {
	t.Helper()
	ctx := context.Background()
	progs := &program.Store{DB: d, Audit: &audit.Log{DB: d}, BaseURL: "https://go.example.com"}
	p := program.NewProgram()
	p.Name, p.DestinationURL = "Course", "https://example.com/course"
	if edit != nil {
		edit(p)
	}
	if err := progs.CreateProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	a := program.NewAffiliate()
	a.ProgramID, a.Name, a.Email, a.CouponCode = p.ID, "Anna", "anna@example.com", "ANNA15"
	if err := progs.CreateAffiliate(ctx, a); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, d: d, progs: progs, prog: p, anna: a, now: t0}
	f.l = &Ledger{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Programs: progs,
		Clicks: &tracking.Stats{DB: d}, Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) ingest(ev payments.Event) Outcome {
	f.t.Helper()
	if ev.Platform == "" {
		ev.Platform = "shop"
	}
	if ev.EventID == "" {
		f.seq++
		ev.EventID = "evt-" + time.Now().Format("150405.000000000") + "-" + string(rune('a'+f.seq%26))
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = f.now
	}
	out, err := f.l.Ingest(context.Background(), ev.Platform, []byte(ev.EventID), ev, nil)
	if err != nil {
		f.t.Fatalf("ingest %+v: %v", ev, err)
	}
	return out
}

func sale(order string, currency string, net int64) payments.Event {
	return payments.Event{Kind: payments.KindSale, EventID: "sale-" + order, OrderID: order, Currency: currency,
		Gross: net, Net: net, NetReported: true, Coupon: "anna15"}
}

func (f *fixture) commission(order string) *Commission {
	f.t.Helper()
	list, _, err := f.l.Commissions(context.Background(), CommissionFilter{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range list {
		if c.OrderRef == order {
			return c
		}
	}
	return nil
}

func (f *fixture) verify() {
	f.t.Helper()
	diffs, err := f.l.Verify(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, d := range diffs {
		f.t.Errorf("verify: %s", d)
	}
}
