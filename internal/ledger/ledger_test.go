package ledger

import (
	"context"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/program"
)

func TestRuleAmount(t *testing.T) {
	cases := []struct {
		name                   string
		r                      rule
		net, refundedNet, want int64
	}{
		{"half of a cent rounds up", rule{rateBps: 5000}, 1, 0, 1},
		{"half up", rule{rateBps: 5000}, 10001, 0, 5001},
		{"100%", rule{rateBps: 10000}, 999, 0, 999},
		{"0%", rule{rateBps: 0}, 999, 0, 0},
		{"partial refund", rule{rateBps: 5000}, 10000, 3333, 3334},
		{"refund larger than net is capped", rule{rateBps: 5000}, 1000, 5000, 0},
		{"zero-decimal JPY", rule{rateBps: 1500}, 1234, 0, 185},
		{"flat, no refund", rule{flat: 1000}, 5000, 0, 1000},
		{"flat, half refunded", rule{flat: 1000}, 5000, 2500, 500},
		{"flat on a zero net", rule{flat: 1000}, 0, 0, 0},
		{"odd rate", rule{rateBps: 3333}, 100, 0, 33},
	}
	for _, c := range cases {
		o := &Order{Net: c.net, RefundedNet: c.refundedNet}
		if got := c.r.amount(o); got != c.want {
			t.Errorf("%s: amount = %d, want %d", c.name, got, c.want)
		}
	}
}

// The pieces booked by successive partial refunds sum to the whole: the
// final commission equals rate × (net − refunded net), however the refund
// is split.
func TestPartialRefundPiecesSumToWhole(t *testing.T) {
	for net := int64(1); net <= 301; net += 7 {
		for _, split := range [][]int64{{1}, {1, 1, 1}, {net / 3, net / 3}, {net}} {
			o := &Order{Net: net}
			r := rule{rateBps: 5000}
			total := r.amount(o)
			sum := total
			for _, part := range split {
				o.RefundedNet = min(o.RefundedNet+part, net)
				next := r.amount(o)
				sum += next - total
				total = next
			}
			if want := r.amount(&Order{Net: net, RefundedNet: o.RefundedNet}); sum != want {
				t.Fatalf("net %d split %v: pieces sum to %d, want %d", net, split, sum, want)
			}
		}
	}
}

func TestSaleRefundPayoutClawback(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		ctx := context.Background()
		if got := f.ingest(sale("o1", "USD", 10001)); got != Applied {
			t.Fatalf("sale: %s", got)
		}
		if got := f.ingest(sale("o1", "USD", 10001)); got != Duplicate {
			t.Fatalf("same event again: %s, want duplicate", got)
		}
		c := f.commission("o1")
		if c == nil || c.Amount != 5001 || c.Status != StatusPending {
			t.Fatalf("commission = %+v", c)
		}
		// A partial refund before payout reverses proportionally.
		f.ingest(payments.Event{Kind: payments.KindRefund, EventID: "r1", RefundID: "re_1", OrderID: "o1", Currency: "USD",
			Refund: 2001, RefundNet: 2001, RefundNetReported: true})
		if c = f.commission("o1"); c.Amount != 4000 {
			t.Fatalf("after refund: amount %d, want 4000", c.Amount)
		}
		if _, err := f.l.CreatePayout(ctx, 0, f.now); err == nil {
			t.Fatal("payout created while everything is pending")
		}
		f.now = f.now.AddDate(0, 0, 31)
		if c = f.commission("o1"); c.Status != StatusPayable {
			t.Fatalf("after the hold: %s, want payable", c.Status)
		}
		p, err := f.l.CreatePayout(ctx, 0, f.now)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Lines) != 1 || p.Lines[0].Amount != 4000 || p.Lines[0].Commissions != 1 {
			t.Fatalf("payout lines %+v", p.Lines)
		}
		if _, err := f.l.MarkPaid(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if c = f.commission("o1"); c.Status != StatusPaid {
			t.Fatalf("after payout: %s", c.Status)
		}
		// A refund after payout is a clawback, deducted from the next payout.
		f.ingest(payments.Event{Kind: payments.KindRefund, EventID: "r2", RefundID: "re_2", OrderID: "o1", Currency: "USD",
			Refund: 8000, RefundNet: 8000, RefundNetReported: true})
		bal, err := f.l.Balances(ctx, f.anna.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(bal) != 1 || bal[0].Clawback != -4000 || bal[0].Paid != 4000 {
			t.Fatalf("balance %+v", bal)
		}
		// A new sale of 3000 (commission 1500) does not cover the clawback: nothing is paid, the balance carries over.
		f.ingest(sale("o2", "USD", 3000))
		f.now = f.now.AddDate(0, 0, 31)
		if _, err := f.l.CreatePayout(ctx, 0, f.now); err == nil {
			t.Fatal("a negative balance was paid out")
		}
		f.ingest(sale("o3", "USD", 10000))
		f.now = f.now.AddDate(0, 0, 31)
		p2, err := f.l.CreatePayout(ctx, 0, f.now)
		if err != nil {
			t.Fatal(err)
		}
		if p2.Lines[0].Amount != 1500+5000-4000 || p2.Lines[0].Clawbacks != -4000 {
			t.Fatalf("second payout %+v", p2.Lines[0])
		}
		f.verify()
	})
}

func TestRefundBeforeSaleAndCumulative(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		// Cumulative refunds (Lemon Squeezy, Stripe), delivered in reverse.
		f.ingest(payments.Event{Kind: payments.KindRefund, EventID: "c50", OrderID: "o1", Currency: "EUR", RefundCumulative: 5000})
		f.ingest(payments.Event{Kind: payments.KindRefund, EventID: "c30", OrderID: "o1", Currency: "EUR", RefundCumulative: 3000})
		f.ingest(sale("o1", "EUR", 10000))
		o, err := f.l.Order(context.Background(), f.commission("o1").OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if o.RefundedGross != 5000 || o.RefundedNet != 5000 {
			t.Fatalf("refunded %d/%d, want 5000/5000", o.RefundedGross, o.RefundedNet)
		}
		if c := f.commission("o1"); c.Amount != 2500 {
			t.Fatalf("commission %d, want 2500", c.Amount)
		}
		f.verify()
	})
}

func TestChargebackAndReversal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		f.ingest(sale("o1", "USD", 8000))
		f.ingest(payments.Event{Kind: payments.KindChargeback, EventID: "cb", RefundID: "dp_1", OrderID: "o1", Currency: "USD", Refund: 8000})
		if c := f.commission("o1"); c.Amount != 0 || c.Status != StatusReversed {
			t.Fatalf("after chargeback %+v", c)
		}
		f.ingest(payments.Event{Kind: payments.KindChargebackReversed, EventID: "cbr", RefundID: "dp_1", OrderID: "o1", Currency: "USD", Refund: 8000})
		if c := f.commission("o1"); c.Amount != 4000 || c.Status != StatusPending {
			t.Fatalf("after reversal %+v", c)
		}
		f.verify()
	})
}

func TestSelfReferralHeldThenReviewed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		ev := sale("o1", "USD", 1000)
		ev.CustomerEmail = "ANNA@example.com"
		f.ingest(ev)
		c := f.commission("o1")
		if c.Status != StatusHeld {
			t.Fatalf("status %s, want held", c.Status)
		}
		f.now = f.now.AddDate(0, 0, 40)
		if _, err := f.l.CreatePayout(context.Background(), 0, f.now); err == nil {
			t.Fatal("a held commission was paid")
		}
		if err := f.l.Review(context.Background(), c.ID, false); err != nil {
			t.Fatal(err)
		}
		if c = f.commission("o1"); c.Status != StatusRejected || c.Amount != 0 {
			t.Fatalf("after reject %+v", c)
		}
		if err := f.l.Review(context.Background(), c.ID, true); err == nil {
			t.Fatal("a rejected commission was approved")
		}
		f.verify()
	})
}

func TestRecurringRules(t *testing.T) {
	for _, tc := range []struct {
		recurring string
		want      []int64 // commission per payment: sale, renewal month 1, renewal month 13
	}{
		{"once", []int64{500, 0, 0}},
		{"forever", []int64{500, 500, 500}},
		{"months:12", []int64{500, 500, 0}},
	} {
		t.Run(tc.recurring, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				f := newFixture(t, d, func(p *program.Program) { p.Recurring = tc.recurring })
				// The renewals arrive before the first sale: they are attributed when it does.
				for i, months := range []int{13, 1, 0} {
					ev := sale("o"+string(rune('0'+i)), "USD", 1000)
					ev.SubscriptionID, ev.OccurredAt = "sub_1", t0.AddDate(0, months, 0)
					if months > 0 {
						ev.Kind, ev.Coupon = payments.KindRenewal, ""
					}
					f.ingest(ev)
				}
				for i, want := range []int64{tc.want[2], tc.want[1], tc.want[0]} {
					c := f.commission("o" + string(rune('0'+i)))
					got := int64(0)
					if c != nil {
						got = c.Amount
					}
					if got != want {
						t.Errorf("payment o%d: commission %d, want %d", i, got, want)
					}
				}
				f.verify()
			})
		})
	}
}

func TestRatePrecedence(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		ctx := context.Background()
		if _, err := d.Q(ctx).ExecContext(ctx, `insert into product_rates (program_id, product_id, rate_bps) values ($1, 'pro', 2000)`, f.prog.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Q(ctx).ExecContext(ctx, `insert into product_rates (program_id, product_id, flat_amount, flat_currency) values ($1, 'flat', 700, 'USD')`, f.prog.ID); err != nil {
			t.Fatal(err)
		}
		ev := sale("p1", "USD", 1000)
		ev.ProductID = "pro"
		f.ingest(ev)
		ev = sale("p2", "USD", 1000)
		ev.ProductID = "flat"
		f.ingest(ev)
		f.ingest(sale("p3", "USD", 1000))
		rate := 1000
		f.anna.CommissionRateBps = &rate
		if err := f.progs.UpdateAffiliate(ctx, f.anna); err != nil {
			t.Fatal(err)
		}
		ev = sale("p4", "USD", 1000)
		ev.ProductID = "pro"
		f.ingest(ev)
		for order, want := range map[string]int64{"p1": 200, "p2": 700, "p3": 500, "p4": 100} {
			if c := f.commission(order); c == nil || c.Amount != want {
				t.Errorf("%s: %+v, want %d", order, c, want)
			}
		}
	})
}

func TestUnattributedThenManual(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, nil)
		ev := sale("o1", "USD", 1000)
		ev.Coupon = "NOBODY"
		f.ingest(ev)
		if f.commission("o1") != nil {
			t.Fatal("unattributed order earned a commission")
		}
		orders, _, err := f.l.Orders(context.Background(), OrderFilter{Unattributed: true})
		if err != nil || len(orders) != 1 {
			t.Fatalf("unattributed orders %v %v", orders, err)
		}
		if _, err := f.l.AttributeOrder(context.Background(), orders[0].ID, f.anna.ID); err != nil {
			t.Fatal(err)
		}
		if c := f.commission("o1"); c == nil || c.Amount != 500 {
			t.Fatalf("after manual attribution %+v", c)
		}
		if _, err := f.l.AttributeOrder(context.Background(), orders[0].ID, f.anna.ID); err == nil {
			t.Fatal("attributed twice")
		}
	})
}
