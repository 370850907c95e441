package public_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/server/servertest"
)

// delivery is one webhook as a platform sends it.
type delivery struct {
	platform string
	body     []byte
}

// webhookScenario builds a random mix of platforms' payments through
// paymentstest: sales (some by referral code, some by coupon, some
// unattributed), subscriptions with renewals, partial refunds (increments
// or running totals, as each platform reports them), full refunds and
// chargebacks. It returns the deliveries in the order they happened.
func webhookScenario(r *rand.Rand, run int) []delivery {
	var out []delivery
	all := kits()
	currencies := []string{"USD", "EUR", "JPY"}
	base := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	for i := range 3 + r.IntN(5) {
		k := all[r.IntN(len(all))]
		n := run*100 + i
		amount := 100 + r.Int64N(50000)
		s := paymentstest.Sale{
			OrderID: k.order(n), Email: fmt.Sprintf("buyer%d@example.com", n), ProductName: "Course",
			Currency: currencies[r.IntN(len(currencies))], Amount: amount, Tax: amount / (5 + r.Int64N(5)),
			At: base.Add(time.Duration(i) * time.Hour),
		}
		if k.platform != payments.LemonSqueezy && k.platform != payments.Stripe {
			s.Fee = amount / 20
		}
		switch r.IntN(4) {
		case 0:
			s.Referral = "ann"
		case 1:
			s.Referral = "bob"
		case 2:
			if k.platform != payments.Paddle && k.platform != payments.LemonSqueezy { // they send no code
				s.Coupon = "BOB20"
			}
		}
		pays := []paymentstest.Sale{s}
		if r.IntN(3) == 0 {
			s.SubscriptionID = fmt.Sprintf("sub_%d", n)
			pays[0] = s
			for m := 1; m <= 1+r.IntN(2); m++ {
				rn := s
				rn.OrderID, rn.Renewal, rn.At = k.order(n*10+m+5000), true, s.At.AddDate(0, m, 0)
				rn.Coupon = ""
				if k.platform != payments.LemonSqueezy { // Lemon Squeezy repeats the custom data; the others need not
					rn.Referral = ""
				}
				pays = append(pays, rn)
			}
		}
		for j, p := range pays {
			out = append(out, delivery{k.platform, k.sale(p)})
			out = append(out, takeBacks(r, k, p, fmt.Sprintf("%d-%d-", n, j))...)
		}
	}
	return out
}

// takeBacks returns random refunds or a chargeback of one payment.
func takeBacks(r *rand.Rand, k kit, s paymentstest.Sale, id string) []delivery {
	at := s.At.Add(24 * time.Hour)
	var out []delivery
	switch choice := r.IntN(4); {
	case choice == 0 && k.partial: // one to three partial refunds
		left, total := s.Amount, int64(0)
		for j := 0; j < 1+r.IntN(3) && left > 1; j++ {
			part := 1 + r.Int64N(left-1)
			left -= part
			total += part
			rf := paymentstest.Refund{ID: fmt.Sprintf("%s%d", id, j+1), Amount: part, Tax: part * s.Tax / s.Amount, At: at.Add(time.Duration(j) * time.Minute)}
			if k.cumulative {
				rf.ID, rf.Amount = "", total
			}
			out = append(out, delivery{k.platform, k.refund(s, rf)})
		}
	case choice == 1: // a full refund
		out = append(out, delivery{k.platform, k.refund(s, paymentstest.Refund{ID: id + "9", Amount: s.Amount, Tax: s.Tax, At: at})})
	case choice == 2 && k.chargeback != nil:
		out = append(out, delivery{k.platform, k.chargeback(s, paymentstest.Refund{ID: id + "8", Amount: s.Amount, At: at})})
	}
	return out
}

// ledgerView is what the API shows of one order: its money, attribution,
// refunds and commission.
type ledgerView struct {
	HasSale                    bool
	Kind, Currency             string
	Gross, Net                 int64
	RefundedGross, RefundedNet int64
	Affiliate                  int64
	AttributedBy               string
	Refunds                    []string // kind key gross net, sorted
	Commission                 int64
	CommissionStatus           string
}

func viewOf(t *testing.T, app *servertest.App) map[string]ledgerView {
	t.Helper()
	out := map[string]ledgerView{}
	for _, o := range allOrders(t, app, nil) {
		var d orderDetailOut
		app.MustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/orders/%d", o.ID), nil, &d)
		v := ledgerView{
			HasSale: d.HasSale, Kind: d.Kind, Currency: d.Currency, Gross: d.Gross, Net: d.Net,
			RefundedGross: d.RefundedGross, RefundedNet: d.RefundedNet, AttributedBy: d.AttributedBy,
		}
		if d.AffiliateID != nil {
			v.Affiliate = *d.AffiliateID
		}
		if c := d.Commission; c != nil {
			v.Commission, v.CommissionStatus = c.Amount, c.Status
		}
		// Incremental refunds are rows keyed by the platform's refund id,
		// the same whatever the order of arrival. Running totals become
		// rows of the increments seen, which depend on the order (5400
		// then 3000 is one row; 3000 then 5400 two): only their sum, in
		// RefundedGross, must agree.
		if !kitFor(o.Platform).cumulative {
			for _, rf := range d.Refunds {
				net := "proportional"
				if rf.Net != nil {
					net = fmt.Sprint(*rf.Net)
				}
				v.Refunds = append(v.Refunds, fmt.Sprintf("%s %s %d %s", rf.Kind, rf.RefundKey, rf.Gross, net))
			}
			slices.Sort(v.Refunds)
		}
		out[o.Platform+":"+o.OrderRef] = v
	}
	return out
}

// startShop starts a server with the same program and affiliates every
// time, so ids agree between servers.
func startShop(t *testing.T, d *db.DB) *servertest.App {
	t.Helper()
	app := servertest.Start(t, d, hookFlags()...)
	prog := hookProgram(t, app, "shop", 30)
	hookAffiliate(t, app, prog, "ann", "ANN-SAVE")
	hookAffiliate(t, app, prog, "bob", "BOB20")
	return app
}

// TestWebhookPropertyShuffledTriple: for random scenarios over every
// platform, delivering each event three times, all shuffled, through the
// HTTP endpoints gives the same orders, refunds and commissions as
// delivering each once in the order they happened.
func TestWebhookPropertyShuffledTriple(t *testing.T) {
	t.Parallel()
	runs := 6
	if testing.Short() {
		runs = 2
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for run := range runs {
			seed := uint64(run)*0x9e3779b97f4a7c15 + 7
			r := rand.New(rand.NewPCG(seed, 42))
			events := webhookScenario(r, run)

			inOrder := startShop(t, sameEngine(t, d))
			for _, e := range events {
				mustDeliver(t, inOrder, e.platform, e.body, "applied")
			}
			want := viewOf(t, inOrder)

			shuffled := startShop(t, sameEngine(t, d))
			stream := slices.Concat(events, events, events)
			r.Shuffle(len(stream), func(i, j int) { stream[i], stream[j] = stream[j], stream[i] })
			for _, e := range stream {
				mustDeliver(t, shuffled, e.platform, e.body, "")
			}
			got := viewOf(t, shuffled)

			if len(got) != len(want) {
				t.Errorf("run %d: %d orders, in-order delivery gives %d", run, len(got), len(want))
			}
			for key, w := range want {
				if g, ok := got[key]; !ok || fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("run %d (seed %d, %d events): order %s\n got %+v\nwant %+v", run, seed, len(events), key, g, w)
				}
			}
		}
	})
}
