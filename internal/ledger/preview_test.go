package ledger

import (
	"context"
	"testing"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/program"
)

// TestPreviewMatchesCreatePayout: the preview shows exactly the lines the
// payout then has — with a clawback deducted, a balance below the minimum
// carried over, a held commission left out — and writes nothing.
func TestPreviewMatchesCreatePayout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, func(p *program.Program) { p.MinPayout = 1000; p.HoldDays = 0 })
		bob := program.NewAffiliate()
		bob.ProgramID, bob.Name, bob.Email, bob.CouponCode, bob.PayoutEmail = f.prog.ID, "Bob", "bob@example.com", "BOB", "pay@bob.example"
		if err := f.progs.CreateAffiliate(ctx, bob); err != nil {
			t.Fatal(err)
		}
		carl := program.NewAffiliate()
		carl.ProgramID, carl.Name, carl.Email, carl.CouponCode = f.prog.ID, "Carl", "carl@example.com", "CARL"
		if err := f.progs.CreateAffiliate(ctx, carl); err != nil {
			t.Fatal(err)
		}
		buy := func(order, coupon, currency string, net int64, email string) {
			ev := sale(order, currency, net)
			ev.Coupon, ev.CustomerEmail = coupon, email
			f.ingest(ev)
		}
		buy("o1", "ANNA15", "USD", 10000, "")
		buy("o2", "ANNA15", "EUR", 4000, "")
		buy("o3", "BOB", "USD", 1000, "")                  // 5.00: below the 10.00 minimum
		buy("o4", "CARL", "USD", 8000, "carl@example.com") // a self-referral: held
		f.now = f.now.AddDate(0, 0, 1)

		// Pay o1 once, then refund most of it: a clawback on the next payout.
		if _, err := f.l.CreatePayout(ctx, 0, f.now); err != nil {
			t.Fatal(err)
		}
		f.ingest(payments.Event{Kind: payments.KindRefund, EventID: "r1", RefundID: "re_1", OrderID: "o1", Currency: "USD",
			Refund: 6000, RefundNet: 6000, RefundNetReported: true})
		buy("o5", "ANNA15", "USD", 20000, "")
		buy("o6", "BOB", "USD", 1000, "")
		buy("o7", "BOB", "USD", 1000, "")
		f.now = f.now.AddDate(0, 0, 1)

		pv, err := f.l.PreviewPayout(ctx, 0, f.now)
		if err != nil {
			t.Fatal(err)
		}
		// Anna: 10000 on o5 minus a 3000 clawback; Bob: 3 × 500 ≥ 1000.
		if len(pv.Lines) != 2 || pv.Lines[0].AffiliateID != f.anna.ID || pv.Lines[0].Amount != 7000 ||
			pv.Lines[0].Clawbacks != -3000 || pv.Lines[0].Commissions != 1 ||
			pv.Lines[1].AffiliateID != bob.ID || pv.Lines[1].Amount != 1500 || pv.Lines[1].Commissions != 3 {
			t.Fatalf("preview lines = %+v", pv.Lines)
		}
		if pv.Lines[1].Name != "Bob" || pv.Lines[1].PayoutEmail != "pay@bob.example" || pv.Totals["USD"] != 8500 {
			t.Fatalf("preview = %+v", pv)
		}
		if len(pv.CarriedOver) != 0 {
			t.Fatalf("carried over = %+v", pv.CarriedOver)
		}
		// Previewing twice writes nothing: the same answer.
		again, err := f.l.PreviewPayout(ctx, 0, f.now)
		if err != nil || len(again.Lines) != 2 {
			t.Fatalf("second preview: %+v, %v", again, err)
		}

		p, err := f.l.CreatePayout(ctx, 0, f.now)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Lines) != len(pv.Lines) {
			t.Fatalf("payout lines %+v, preview %+v", p.Lines, pv.Lines)
		}
		for i, ln := range p.Lines {
			w := pv.Lines[i]
			if ln.AffiliateID != w.AffiliateID || ln.Currency != w.Currency || ln.Amount != w.Amount ||
				ln.Commissions != w.Commissions || ln.Clawbacks != w.Clawbacks || len(ln.CommissionIDs) != len(w.CommissionIDs) {
				t.Errorf("line %d: payout %+v, preview %+v", i, ln, w)
			}
		}
		// Nothing is left to pay but the EUR commission of o2 (paid in the first payout) — so nothing.
		after, err := f.l.PreviewPayout(ctx, 0, f.now)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Lines) != 0 {
			t.Fatalf("after the payout, preview lines = %+v", after.Lines)
		}
		if _, err := f.l.CreatePayout(ctx, 0, f.now); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("create with nothing payable: %v", err)
		}
	})
}

// TestPreviewCarriesOver: a balance under the minimum is shown as carried
// over, and the payout refuses when that is all there is.
func TestPreviewCarriesOver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, func(p *program.Program) { p.MinPayout = 5000; p.HoldDays = 0 })
		f.ingest(sale("o1", "USD", 2000))
		f.now = f.now.AddDate(0, 0, 1)
		pv, err := f.l.PreviewPayout(ctx, f.prog.ID, f.now)
		if err != nil {
			t.Fatal(err)
		}
		if len(pv.Lines) != 0 || len(pv.CarriedOver) != 1 || pv.CarriedOver[0].Amount != 1000 || pv.CarriedOver[0].Name != "Anna" {
			t.Fatalf("preview = %+v", pv)
		}
		if _, err := f.l.CreatePayout(ctx, f.prog.ID, f.now); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("create: %v", err)
		}
		// Before the sale, nothing at all.
		early, err := f.l.PreviewPayout(ctx, 0, t0.Add(-1))
		if err != nil || len(early.Lines)+len(early.CarriedOver) != 0 {
			t.Fatalf("early preview = %+v, %v", early, err)
		}
	})
}
