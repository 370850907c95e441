package ledger

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// TestConcurrentPayouts creates two payouts at once, over and over, on a
// ledger with many payable commissions. On PostgreSQL the two run in
// their own transactions on two connections; on SQLite they queue for the
// writer. Either one wins and the other finds nothing (or a conflict), or
// both pay disjoint sets: no ledger entry, hence no commission, is ever
// paid twice, every line is the sum of its entries, and nothing payable is
// left behind.
func TestConcurrentPayouts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		ctx := context.Background()
		affs := []*program.Affiliate{f.anna}
		for _, code := range []string{"bea", "cid"} {
			a := program.NewAffiliate()
			a.ProgramID, a.Name, a.Email, a.Code, a.CouponCode = f.prog.ID, code, code+"@example.com", code, code+"-coupon"
			if err := f.progs.CreateAffiliate(ctx, a); err != nil {
				t.Fatal(err)
			}
			affs = append(affs, a)
		}
		order := 0
		addSales := func(n int) {
			for range n {
				order++
				a := affs[order%len(affs)]
				ev := sale(fmt.Sprintf("o%d", order), []string{"USD", "EUR"}[order%2], int64(1000+order))
				ev.Coupon = a.CouponCode
				if a == f.anna {
					ev.Coupon = "ANNA15"
				}
				f.ingest(ev)
				if order%7 == 0 { // some reversed in part: entries of both signs
					f.ingest(payments.Event{Kind: payments.KindRefund, EventID: fmt.Sprintf("r%d", order), RefundID: fmt.Sprintf("re%d", order),
						OrderID: ev.OrderID, Currency: ev.Currency, Refund: 300, RefundNet: 300, RefundNetReported: true})
				}
			}
			f.now = f.now.AddDate(0, 0, 31) // all past the hold
		}

		paidTwice := map[int64]int64{} // commission → payout, over every round
		created := 0
		for round := range 6 {
			addSales(60)
			payable := sumUnpaid(t, f)
			var wg sync.WaitGroup
			start := make(chan struct{})
			results := make([]*Payout, 2)
			errs := make([]error, 2)
			for i := range 2 {
				wg.Go(func() {
					<-start
					results[i], errs[i] = f.l.CreatePayout(ctx, 0, f.now)
				})
			}
			close(start)
			wg.Wait()

			var paid int64
			won := 0
			for i, p := range results {
				if errs[i] != nil {
					if e, ok := apperr.As(errs[i]); !ok || e.Kind != apperr.KindConflict {
						t.Fatalf("round %d: payout %d failed with %v, want success or a conflict", round, i, errs[i])
					}
					continue
				}
				won++
				var lines int64
				for _, ln := range p.Lines {
					lines += ln.Amount
					if ln.Amount <= 0 {
						t.Errorf("round %d: line %+v is not positive", round, ln)
					}
					for _, c := range ln.CommissionIDs {
						if other, ok := paidTwice[c]; ok {
							t.Errorf("round %d: commission %d is in payouts %d and %d", round, c, other, p.ID)
						}
						paidTwice[c] = p.ID
					}
				}
				var entries int64
				if err := d.R(ctx).QueryRowContext(ctx, `select coalesce(sum(e.amount), 0) from payout_entries pe
					join ledger_entries e on e.id = pe.entry_id where pe.payout_id = $1`, p.ID).Scan(&entries); err != nil {
					t.Fatal(err)
				}
				if entries != lines {
					t.Errorf("round %d: payout %d lines sum to %d, its entries to %d", round, p.ID, lines, entries)
				}
				paid += lines
			}
			t.Logf("round %d: %d of 2 created; errors %v", round, won, errs)
			if won == 0 {
				t.Fatalf("round %d: neither payout was created: %v", round, errs)
			}
			if paid != payable {
				t.Errorf("round %d: payouts paid %d of %d payable", round, paid, payable)
			}
			var payouts int
			if err := d.R(ctx).QueryRowContext(ctx, `select count(*) from payouts`).Scan(&payouts); err != nil {
				t.Fatal(err)
			}
			if created += won; payouts != created {
				t.Errorf("round %d: %d payouts stored, %d created: a loser left a row", round, payouts, created)
			}
			if _, err := f.l.CreatePayout(ctx, 0, f.now); !apperr.Is(err, apperr.KindConflict) {
				t.Errorf("round %d: a third payout found something left: %v", round, err)
			}
			for _, p := range results {
				if p != nil {
					if _, err := f.l.MarkPaid(ctx, p.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		f.verify()
	})
}

// sumUnpaid is the total of the ledger entries no payout holds, per what
// a payout could take now (every test commission is past its hold).
func sumUnpaid(t *testing.T, f *fixture) int64 {
	t.Helper()
	var sum int64
	err := f.d.R(context.Background()).QueryRowContext(context.Background(), `select coalesce(sum(e.amount), 0)
		from ledger_entries e where not exists (select 1 from payout_entries pe where pe.entry_id = e.id)`).Scan(&sum)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestConcurrentEventsOfOneOrder delivers events of the same order at the
// same moment, as platforms do (Stripe sends a charge.refunded per refund
// within milliseconds; retries overlap): two running totals, two separate
// refunds, the same event twice, a sale together with its refund. A
// delivery that fails is retried, as the platform would. The result must
// be what one-by-one delivery gives, and verify must find nothing.
func TestConcurrentEventsOfOneOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		ctx := context.Background()
		refund := func(order, id string, inc, cum int64) payments.Event {
			return payments.Event{Kind: payments.KindRefund, EventID: id, RefundID: id, OrderID: order, Currency: "USD",
				Refund: inc, RefundCumulative: cum, OccurredAt: f.now}
		}
		// at delivers evs at once, each retried until it is stored.
		at := func(evs ...payments.Event) {
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, ev := range evs {
				wg.Go(func() {
					<-start
					ev.Platform = "shop"
					var err error
					for range 5 {
						if _, err = f.l.Ingest(ctx, "shop", []byte(ev.EventID), ev, nil); err == nil {
							return
						}
					}
					t.Errorf("%s: %v", ev.EventID, err)
				})
			}
			close(start)
			wg.Wait()
		}
		type want struct{ refunded, commission int64 }
		cases := map[string]want{}
		for i := range 15 {
			o := fmt.Sprintf("cum%d", i) // running totals 3000 then 5400, at once
			f.ingest(sale(o, "USD", 10000))
			at(refund(o, o+"-a", 0, 3000), refund(o, o+"-b", 0, 5400))
			cases[o] = want{5400, 2300}

			o = fmt.Sprintf("inc%d", i) // two refunds of 1000 and 2000, at once
			f.ingest(sale(o, "USD", 10000))
			at(refund(o, o+"-a", 1000, 0), refund(o, o+"-b", 2000, 0))
			cases[o] = want{3000, 3500}

			o = fmt.Sprintf("dup%d", i) // one refund delivered twice at once
			f.ingest(sale(o, "USD", 10000))
			at(refund(o, o+"-a", 1000, 0), refund(o, o+"-a", 1000, 0))
			cases[o] = want{1000, 4500}

			o = fmt.Sprintf("new%d", i) // a sale and its refund, at once, the order unknown
			at(sale(o, "USD", 10000), refund(o, o+"-a", 4000, 0))
			cases[o] = want{4000, 3000}

		}
		for o, w := range cases {
			c := f.commission(o)
			if c == nil {
				t.Errorf("%s: no commission", o)
				continue
			}
			got, err := f.l.Order(ctx, c.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if got.RefundedGross != w.refunded || c.Amount != w.commission {
				t.Errorf("%s: refunded %d, commission %d; want %d, %d", o, got.RefundedGross, c.Amount, w.refunded, w.commission)
			}
		}
		f.verify()
	})
}

// Two servers sharing one database each receive one of two events of a
// payment at the same moment: a refund naming it by the payment intent,
// and the link that ties the intent to its order (Stripe basil). Their
// transactions run at once; whichever order they end in, the refund is
// on the order and no second order is left (on PostgreSQL, the payment's
// advisory locks make them take turns; SQLite's file lock does).
func TestConcurrentLinkAndRefundOnTwoServers(t *testing.T) {
	dbtest.EachReplicas(t, func(t *testing.T, a, b *db.DB) {
		f := newFixture(t, a, nil)
		other := *f.l
		other.DB = b
		other.Programs = &program.Store{DB: b, Audit: &audit.Log{DB: b}, BaseURL: f.progs.BaseURL}
		other.Clicks = &tracking.Stats{DB: b}
		ctx := context.Background()
		for i := range 15 {
			o := fmt.Sprintf("lnk%d", i)
			f.ingest(sale(o, "USD", 10000))
			link := payments.Event{Kind: payments.KindLink, Platform: "shop", EventID: o + "-link", OrderID: o,
				OrderRefs: []string{"pi-" + o}, Currency: "USD", OccurredAt: f.now}
			ref := payments.Event{Kind: payments.KindRefund, Platform: "shop", EventID: o + "-a", RefundID: o + "-a",
				OrderID: "pi-" + o, Currency: "USD", Refund: 2000, OccurredAt: f.now}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, x := range []struct {
				l  *Ledger
				ev payments.Event
			}{{f.l, link}, {&other, ref}} {
				wg.Go(func() {
					<-start
					var err error
					for range 5 { // a deadlock or busy database is retried, as a platform would
						if _, err = x.l.Ingest(ctx, "shop", []byte(x.ev.EventID), x.ev, nil); err == nil {
							return
						}
					}
					t.Errorf("%s: %v", x.ev.EventID, err)
				})
			}
			close(start)
			wg.Wait()
			c := f.commission(o)
			got, err := f.l.Order(ctx, c.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if got.RefundedGross != 2000 || c.Amount != 4000 {
				t.Errorf("%s: refunded %d, commission %d; want 2000, 4000", o, got.RefundedGross, c.Amount)
			}
		}
		if orders, _, err := f.l.Orders(ctx, OrderFilter{Limit: 1000}); err != nil || len(orders) != 15 {
			t.Errorf("%d orders (%v), want 15: a refund was left on an order of its own", len(orders), err)
		}
		f.verify()
	})
}
