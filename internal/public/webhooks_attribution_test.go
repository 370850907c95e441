package public_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/server/servertest"
)

// TestWebhookAttribution follows the attribution order through the real
// endpoints: a referral id issued by our redirect (the click is linked to
// the order), an affiliate's code, an affiliate's coupon, the
// subscription of a renewal, and an unattributed order attributed by hand.
func TestWebhookAttribution(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, hookFlags()...)
		prog := hookProgram(t, app, "shop", 30)
		ann := hookAffiliate(t, app, prog, "ann", "ANN-SAVE")
		bob := hookAffiliate(t, app, prog, "bob", "BOB20")
		now := time.Now().UTC().Truncate(time.Second)

		// A visitor follows bob's link; the redirect issues a referral id.
		ref := location(t, visit(t, app, "GET", "/r/bob"), http.StatusFound).Query().Get("ref")
		clicks := clicksOf(t, app, bob.ID)
		if ref == "" || len(clicks) != 1 || clicks[0].ReferralID != ref {
			t.Fatalf("redirect issued ref %q, bob's clicks %+v", ref, clicks)
		}
		// A referral id of the right shape that no redirect issued.
		unknown := []byte(ref)
		unknown[0] = 'A'
		if ref[0] == 'A' {
			unknown[0] = 'B'
		}

		sale := func(order string, edit func(*paymentstest.Sale)) paymentstest.Sale {
			s := paymentstest.Sale{OrderID: order, Email: "buyer@example.com", ProductName: "Course", Amount: 10000, At: now}
			edit(&s)
			return s
		}
		type want struct {
			affiliate int64 // 0: unattributed
			by        string
			click     bool
		}
		cases := []struct {
			name     string
			platform string
			s        paymentstest.Sale
			want     want
		}{
			{"referral id from the redirect", payments.Paddle,
				sale("txn_att_click", func(s *paymentstest.Sale) { s.Referral = ref }), want{bob.ID, "referral", true}},
			{"referral id beats the coupon", payments.PaddleClassic,
				sale("7000001-1", func(s *paymentstest.Sale) { s.Referral, s.Coupon = ref, "ANN-SAVE" }), want{bob.ID, "referral", true}},
			{"affiliate code in client_reference_id", payments.Stripe,
				sale("pi_att_code", func(s *paymentstest.Sale) { s.Referral = "ANN" }), want{ann.ID, "code", false}},
			{"affiliate code in Lemon Squeezy custom data", payments.LemonSqueezy,
				sale("7100001", func(s *paymentstest.Sale) { s.Referral = "bob" }), want{bob.ID, "code", false}},
			{"unknown referral id falls back to the coupon", payments.PaddleClassic,
				sale("7000002-1", func(s *paymentstest.Sale) { s.Referral, s.Coupon = string(unknown), "ann-save" }), want{ann.ID, "coupon", false}},
			{"Gumroad offer code", payments.Gumroad,
				sale("gumroadAtt1==", func(s *paymentstest.Sale) { s.Coupon = "BOB20" }), want{bob.ID, "coupon", false}},
			{"Stripe promotion code", payments.Stripe,
				sale("pi_att_coupon", func(s *paymentstest.Sale) { s.Coupon = "ANN-SAVE" }), want{ann.ID, "coupon", false}},
			{"a code nobody has", payments.Paddle,
				sale("txn_att_none", func(s *paymentstest.Sale) { s.Referral, s.Coupon = "nobody", "NOPE" }), want{0, "", false}},
		}
		for _, c := range cases {
			mustDeliver(t, app, c.platform, kitFor(c.platform).sale(c.s), "applied")
			o := orderByRef(t, app, c.platform, c.s.OrderID)
			var got want
			if o.AffiliateID != nil {
				got = want{*o.AffiliateID, o.AttributedBy, o.ClickID != nil}
			}
			if got != c.want {
				t.Errorf("%s: attributed to %+v, want %+v", c.name, got, c.want)
			}
			if c.want.click && *o.ClickID != clicks[0].ID {
				t.Errorf("%s: click_id %d, want the redirect's click %d", c.name, *o.ClickID, clicks[0].ID)
			}
			if (o.Commission != nil) != (c.want.affiliate != 0) {
				t.Errorf("%s: commission %+v", c.name, o.Commission)
			}
		}

		// A renewal without a referral is attributed like its
		// subscription's first payment, even when it arrives first.
		first := sale("txn_att_sub1", func(s *paymentstest.Sale) { s.SubscriptionID, s.Referral = "sub_att", ref })
		renewal := sale("txn_att_sub2", func(s *paymentstest.Sale) {
			s.SubscriptionID, s.Renewal, s.At = "sub_att", true, now.Add(time.Hour)
		})
		mustDeliver(t, app, payments.Paddle, kitFor(payments.Paddle).sale(renewal), "applied")
		if o := orderByRef(t, app, payments.Paddle, renewal.OrderID); o.AffiliateID != nil {
			t.Fatalf("a renewal without referral, alone, was attributed: %+v", o.orderOut)
		}
		mustDeliver(t, app, payments.Paddle, kitFor(payments.Paddle).sale(first), "applied")
		o := orderByRef(t, app, payments.Paddle, renewal.OrderID)
		if o.AffiliateID == nil || *o.AffiliateID != bob.ID || o.AttributedBy != "subscription" || o.Commission == nil || o.Commission.Amount == 0 {
			t.Errorf("renewal after its first payment: %+v commission %+v; want bob's by subscription", o.orderOut, o.Commission)
		}

		// Unattributed orders are kept, listed, and attributed by hand.
		var none orderOut
		for _, x := range allOrders(t, app, url.Values{"unattributed": {"true"}}) {
			if x.OrderRef == "txn_att_none" {
				none = x
			}
		}
		if none.ID == 0 {
			t.Fatal("the unattributed order is not listed with ?unattributed=true")
		}
		path := fmt.Sprintf("/api/v1/orders/%d/attribute", none.ID)
		var got orderOut
		app.MustDo(http.StatusOK, "POST", path, map[string]any{"affiliate_id": ann.ID}, &got)
		if got.AffiliateID == nil || *got.AffiliateID != ann.ID || got.AttributedBy != "manual" {
			t.Errorf("after attributing by hand: %+v", got)
		}
		if c := orderByRef(t, app, payments.Paddle, "txn_att_none").Commission; c == nil || c.Amount != 5000 || c.AffiliateID != ann.ID {
			t.Errorf("commission after attributing by hand: %+v, want 5000 for ann", c)
		}
		if res := app.Do("POST", path, map[string]any{"affiliate_id": bob.ID}); res.Status != http.StatusConflict {
			t.Errorf("attributing twice: %d %s, want 409", res.Status, res.Body)
		}
		if res := app.Do("POST", fmt.Sprintf("/api/v1/orders/%d/attribute", none.ID+1000), map[string]any{"affiliate_id": ann.ID}); res.Status != http.StatusNotFound {
			t.Errorf("attributing a missing order: %d, want 404", res.Status)
		}
	})
}

// TestWebhookAttributionWaitsForTheJournal delivers a sale whose referral
// id's click is still in the click journal (the loader loads only when
// someone waits): the ledger must wait for it before its transaction and
// link the order to that click.
func TestWebhookAttributionWaitsForTheJournal(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, append(hookFlags(), "--click-journal="+t.TempDir(), "--click-load-wait=1h")...)
		if app.Journal == nil {
			t.Fatal("no click journal")
		}
		prog := hookProgram(t, app, "shop", 30)
		bob := hookAffiliate(t, app, prog, "bob", "BOB20")
		ref := location(t, visit(t, app, "GET", "/r/bob"), http.StatusFound).Query().Get("ref")
		if app.Journal.Backlog() == 0 {
			t.Fatal("the click was loaded before the sale: the test would not test the wait")
		}
		s := paymentstest.Sale{OrderID: "txn_journal", Email: "buyer@example.com", ProductName: "Course", Amount: 10000,
			At: time.Now().UTC().Truncate(time.Second), Referral: ref}
		mustDeliver(t, app, payments.Paddle, kitFor(payments.Paddle).sale(s), "applied")
		o := orderByRef(t, app, payments.Paddle, s.OrderID)
		clicks := clicksOf(t, app, bob.ID)
		if o.AffiliateID == nil || *o.AffiliateID != bob.ID || o.AttributedBy != "referral" || o.ClickID == nil ||
			len(clicks) != 1 || *o.ClickID != clicks[0].ID {
			t.Fatalf("order attributed to %v by %q, click %v; bob's clicks %+v", o.AffiliateID, o.AttributedBy, o.ClickID, clicks)
		}
	})
}
