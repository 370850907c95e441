package ledger

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/program"
)

// readBack is a notifier that reads, inside the notice's transaction, what
// a commission.created notice carries, as the notifier would without it.
type readBack struct {
	t       *testing.T
	l       *Ledger
	notices int
}

func (r *readBack) Notify(ctx context.Context, n Notice) error {
	if n.Type != "commission.created" {
		return nil
	}
	r.notices++
	if n.Commission == nil || n.Order == nil || n.Affiliate == nil || n.Program == nil {
		r.t.Errorf("%s: carries commission %v, order %v, affiliate %v, program %v", n.Key,
			n.Commission != nil, n.Order != nil, n.Affiliate != nil, n.Program != nil)
		return nil
	}
	c, err := r.l.Commission(ctx, n.CommissionID)
	if err != nil {
		return err
	}
	o, err := r.l.Order(ctx, n.OrderID)
	if err != nil {
		return err
	}
	a, err := r.l.Programs.Affiliate(ctx, n.AffiliateID)
	if err != nil {
		return err
	}
	p, err := r.l.Programs.Program(ctx, c.ProgramID)
	if err != nil {
		return err
	}
	// As JSON: what webhooks send, and what emails are made of.
	for _, x := range []struct {
		what        string
		got, wanted any
	}{{"commission", n.Commission, c}, {"order", n.Order, o}, {"affiliate", n.Affiliate, a}, {"program", n.Program, p}} {
		got, _ := json.Marshal(x.got)
		want, _ := json.Marshal(x.wanted)
		if string(got) != string(want) {
			r.t.Errorf("%s: the notice's %s\n%s\nreads back as\n%s", n.Key, x.what, got, want)
		}
	}
	return nil
}

// A commission.created notice carries the commission, order, affiliate and
// program as the notifier would read them in the same transaction: a new
// sale, a held self-referral, one refunded before its sale (reversed), one
// whose hold has passed, a renewal attributed by its subscription, and a
// renewal that arrived first and is attributed when its first sale lands.
func TestCommissionNoticeCarriesWhatItAnnounces(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(p *program.Program) { p.HoldDays = 30 })
		rb := &readBack{t: t, l: f.l}
		f.l.Notifier = rb

		f.ingest(sale("o1", "EUR", 10000))
		self := sale("o2", "EUR", 5000)
		self.CustomerEmail = "ANNA@example.com"
		f.ingest(self)
		f.ingest(payments.Event{Kind: payments.KindRefund, EventID: "r3", OrderID: "o3", Currency: "EUR", Refund: 7000})
		f.ingest(sale("o3", "EUR", 7000))
		old := sale("o4", "USD", 999)
		old.OccurredAt = f.now.Add(-40 * 24 * time.Hour)
		f.ingest(old)
		first := sale("o5", "EUR", 2000)
		first.SubscriptionID = "sub1"
		f.ingest(first)
		f.ingest(payments.Event{Kind: payments.KindRenewal, EventID: "renew-o6", OrderID: "o6", Currency: "EUR",
			Gross: 2000, Net: 2000, NetReported: true, SubscriptionID: "sub1"})
		f.ingest(payments.Event{Kind: payments.KindRenewal, EventID: "renew-o8", OrderID: "o8", Currency: "EUR",
			Gross: 3000, Net: 3000, NetReported: true, SubscriptionID: "sub2"})
		second := sale("o7", "EUR", 3000)
		second.SubscriptionID = "sub2"
		f.ingest(second)

		if rb.notices != 8 {
			t.Fatalf("%d commission.created notices, want 8", rb.notices)
		}
		for order, want := range map[string]string{"o1": StatusPending, "o2": StatusHeld, "o3": StatusReversed, "o4": StatusPayable} {
			if c := f.commission(order); c == nil || c.Status != want {
				t.Errorf("%s: commission %+v, want status %s", order, c, want)
			}
		}
	})
}
