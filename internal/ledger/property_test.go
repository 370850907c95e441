package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
)

// scenario builds a random stream of sales, renewals, partial and full
// refunds (incremental and cumulative), chargebacks and their reversals,
// some of them naming their order by another id that a link event ties to it.
func scenario(r *rand.Rand) []payments.Event {
	var evs []payments.Event
	currencies := []string{"USD", "EUR", "JPY"}
	n := 2 + r.IntN(4)
	for i := range n {
		order := fmt.Sprintf("o%d", i)
		cur := currencies[r.IntN(len(currencies))]
		net := 1 + r.Int64N(50000)
		at := t0.Add(time.Duration(i) * time.Hour)
		s := payments.Event{Kind: payments.KindSale, EventID: "sale-" + order, OrderID: order, Currency: cur,
			Gross: net + net/5, Tax: net / 5, Net: net, NetReported: true, Coupon: "ANNA15", OccurredAt: at}
		if r.IntN(3) == 0 {
			s.SubscriptionID = "sub-" + order
			for k := 1; k <= 1+r.IntN(2); k++ {
				rn := s
				rn.Kind, rn.Coupon = payments.KindRenewal, ""
				rn.OrderID = fmt.Sprintf("%s-r%d", order, k)
				rn.EventID = "renewal-" + rn.OrderID
				rn.OccurredAt = at.AddDate(0, k, 0)
				evs = append(evs, rn)
			}
		}
		evs = append(evs, s)
		// Like Stripe from API version 2025-03-31: the refunds and
		// disputes name the payment by another id, which only a link
		// event ties to the order.
		refOrder := order
		if r.IntN(3) == 0 {
			refOrder = "pi-" + order
			evs = append(evs, payments.Event{Kind: payments.KindLink, EventID: "link-" + order, OrderID: order,
				OrderRefs: []string{refOrder, "ch-" + order}, Currency: cur, OccurredAt: at})
		}
		switch r.IntN(4) {
		case 0: // incremental partial refunds, with the platform's net
			left := net
			for k := 0; k < 1+r.IntN(3) && left > 0; k++ {
				part := 1 + r.Int64N(left)
				left -= part
				evs = append(evs, payments.Event{Kind: payments.KindRefund, EventID: fmt.Sprintf("ref-%s-%d", order, k),
					RefundID: fmt.Sprintf("re-%s-%d", order, k), OrderID: refOrder, Currency: cur,
					Refund: part, RefundNet: part, RefundNetReported: true, OccurredAt: at.Add(time.Minute)})
			}
		case 1: // cumulative refunds, proportional net
			total := int64(0)
			for k := 0; k < 1+r.IntN(3); k++ {
				total = min(s.Gross, total+1+r.Int64N(s.Gross))
				evs = append(evs, payments.Event{Kind: payments.KindRefund, EventID: fmt.Sprintf("cum-%s-%d", order, total),
					OrderID: refOrder, Currency: cur, RefundCumulative: total, OccurredAt: at.Add(time.Minute)})
			}
		case 2: // chargeback, maybe won
			evs = append(evs, payments.Event{Kind: payments.KindChargeback, EventID: "cb-" + order, RefundID: "dp-" + order,
				OrderID: refOrder, Currency: cur, Refund: s.Gross, OccurredAt: at.Add(time.Minute)})
			if r.IntN(2) == 0 {
				evs = append(evs, payments.Event{Kind: payments.KindChargebackReversed, EventID: "cbr-" + order, RefundID: "dp-" + order,
					OrderID: refOrder, Currency: cur, Refund: s.Gross, OccurredAt: at.Add(2 * time.Minute)})
			}
		}
	}
	return evs
}

type orderState struct {
	refundedGross, refundedNet, commission int64
	hasCommission                          bool
}

func snapshot(t *testing.T, f *fixture) map[string]orderState {
	t.Helper()
	ctx := context.Background()
	out := map[string]orderState{}
	orders, _, err := f.l.Orders(ctx, OrderFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		st := orderState{refundedGross: o.RefundedGross, refundedNet: o.RefundedNet}
		if c := f.commission(o.OrderRef); c != nil {
			st.commission, st.hasCommission = c.Amount, true
		}
		out[o.OrderRef] = st
	}
	return out
}

// Delivering a scenario's events with duplicates, in a random order, with
// payouts at random moments, gives the same orders and commissions as one
// in-order delivery; every commission is rate × (net − refunded net); no
// payout is negative; verify finds nothing.
func TestPropertyShuffledDuplicatedDelivery(t *testing.T) {
	runs := 12
	if testing.Short() {
		runs = 4
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for run := range runs {
			seed := uint64(run*7919 + 17)
			r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
			evs := scenario(r)

			want := func() map[string]orderState {
				f := newFixture(t, dbtest.SQLite(t), nil)
				for _, ev := range evs {
					f.ingest(ev)
				}
				return snapshot(t, f)
			}()

			f := newFixture(t, freshLike(t, d), nil)
			stream := append([]payments.Event{}, evs...)
			for range len(evs) {
				stream = append(stream, evs[r.IntN(len(evs))]) // duplicates
			}
			r.Shuffle(len(stream), func(i, j int) { stream[i], stream[j] = stream[j], stream[i] })
			for i, ev := range stream {
				f.ingest(ev)
				if r.IntN(6) == 0 {
					f.now = f.now.AddDate(0, 0, 10+r.IntN(30))
					p, err := f.l.CreatePayout(context.Background(), 0, f.now)
					if err == nil {
						for _, ln := range p.Lines {
							if ln.Amount <= 0 {
								t.Fatalf("seed %d: payout line %+v is not positive", seed, ln)
							}
						}
						if r.IntN(2) == 0 {
							_, err = f.l.MarkPaid(context.Background(), p.ID)
						} else {
							_, err = f.l.CancelPayout(context.Background(), p.ID)
						}
						if err != nil {
							t.Fatal(err)
						}
					}
				}
				_ = i
			}
			got := snapshot(t, f)
			if len(got) != len(want) {
				t.Fatalf("seed %d: %d orders, want %d", seed, len(got), len(want))
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("seed %d: order %s = %+v, in-order delivery gives %+v", seed, k, got[k], w)
				}
			}
			f.verify()
		}
	})
}

// freshLike returns a new empty database on the same engine as d.
func freshLike(t *testing.T, d *db.DB) *db.DB {
	if d.Dialect() == db.Postgres {
		return dbtest.Postgres(t)
	}
	return dbtest.SQLite(t)
}
