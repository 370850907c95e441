package public_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/server/servertest"
)

// TestWebhookLifecycle drives every platform through its real endpoint:
// a sale delivered three times, two partial refunds (each delivered
// twice), a full refund, a chargeback, a subscription's first payment and
// a renewal that carries no referral, an ignored event and a malformed
// one. Each step is checked through the API, as the owner would see it.
func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, hookFlags()...)
		prog := hookProgram(t, app, "course", 30)
		ann := hookAffiliate(t, app, prog, "ann", "")
		for _, k := range kits() {
			t.Run(k.platform, func(t *testing.T) { lifecycle(t, app, d, k, ann.ID) })
		}
	})
}

func lifecycle(t *testing.T, app *servertest.App, d *db.DB, k kit, annID int64) {
	// Now, to the second: Paddle Classic's event_time has no fraction.
	at := time.Now().UTC().Truncate(time.Second)
	sale := func(n int, edit func(*paymentstest.Sale)) paymentstest.Sale {
		s := paymentstest.Sale{
			OrderID: k.order(n), Email: fmt.Sprintf("buyer%d@example.com", n), ProductName: "Course",
			Amount: 12000, Tax: 2000, Fee: 500, Referral: "ann", At: at,
		}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	// check compares an order's money with what the platform reported.
	check := func(s paymentstest.Sale, refundedGross, refundedNet int64, wantStatus string) orderDetailOut {
		t.Helper()
		o := orderByRef(t, app, k.platform, k.ref(s))
		net := k.net(s)
		if !o.HasSale || o.Gross != s.Amount || o.Net != net || o.Currency != "USD" || !o.OccurredAt.Equal(s.At) {
			t.Errorf("order %s: has_sale %v gross %d net %d %s at %v; want gross %d net %d USD at %v",
				o.OrderRef, o.HasSale, o.Gross, o.Net, o.Currency, o.OccurredAt, s.Amount, net, s.At)
		}
		if o.RefundedGross != refundedGross || o.RefundedNet != refundedNet {
			t.Errorf("order %s: refunded %d gross, %d net; want %d, %d", o.OrderRef, o.RefundedGross, o.RefundedNet, refundedGross, refundedNet)
		}
		c := o.Commission
		want := (net - refundedNet + 1) / 2 // 50%, half up
		if c == nil || c.AffiliateID != annID || c.Amount != want || c.Status != wantStatus || c.Currency != "USD" {
			t.Fatalf("order %s: commission %+v, want %d USD for affiliate %d, %s", o.OrderRef, c, want, annID, wantStatus)
		}
		if wantStatus == "pending" && !c.PayableAt.Equal(s.At.AddDate(0, 0, 30)) {
			t.Errorf("order %s: payable_at %v, want the sale's time + 30 days", o.OrderRef, c.PayableAt)
		}
		return o
	}

	// A sale, delivered three times: one order, one commission, one stored delivery.
	s1 := sale(1, nil)
	body := k.sale(s1)
	before := count(t, d, "webhook_events")
	for i, want := range []string{"applied", "duplicate", "duplicate"} {
		res := deliver(t, app, k.platform, body)
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"outcome":"`+want+`"`) {
			t.Fatalf("delivery %d: %d %s, want 200 %s", i+1, res.Status, res.Body, want)
		}
	}
	if n := count(t, d, "webhook_events") - before; n != 1 {
		t.Fatalf("three deliveries of one event stored %d rows, want 1", n)
	}
	o := check(s1, 0, 0, "pending")
	if o.Kind != "sale" || o.AttributedBy != "code" || o.Referral != "ann" || o.AffiliateID == nil || *o.AffiliateID != annID {
		t.Errorf("sale: kind %s attributed_by %q referral %q affiliate %v; want a sale by code ann", o.Kind, o.AttributedBy, o.Referral, o.AffiliateID)
	}
	if k.platform != payments.Paddle && o.CustomerEmail != s1.Email { // Paddle Billing sends no email
		t.Errorf("customer_email %q, want %q", o.CustomerEmail, s1.Email)
	}
	if len(o.Events) != 1 || o.Events[0].Outcome != "applied" || o.Events[0].Body != string(body) {
		t.Errorf("order events %+v, want the one raw delivery, applied", o.Events)
	}

	// Two partial refunds, each delivered twice. Platforms that report
	// running totals send 3000 then 5400; the others 3000 then 2400.
	if k.partial {
		s2 := sale(2, nil)
		mustDeliver(t, app, k.platform, k.sale(s2), "applied")
		parts := []paymentstest.Refund{
			{ID: "adj_01part1", Amount: 3000, Tax: 500, At: at.Add(time.Hour)},
			{ID: "adj_01part2", Amount: 2400, Tax: 400, At: at.Add(2 * time.Hour)},
		}
		if k.cumulative {
			parts[0].ID, parts[1].ID = "", ""
			parts[1].Amount = 5400
		}
		for _, r := range parts {
			rb := k.refund(s2, r)
			mustDeliver(t, app, k.platform, rb, "applied")
			mustDeliver(t, app, k.platform, rb, "duplicate")
		}
		// 2500 + 2000 of net, whether reported (Paddle's earnings: gross −
		// tax) or in proportion to gross (10000 of 12000).
		o := check(s2, 5400, 4500, "pending")
		if len(o.Refunds) != 2 || o.Refunds[0].Gross != 3000 || o.Refunds[1].Gross != 2400 || o.Refunds[0].Kind != "refund" {
			t.Errorf("refund rows %+v, want increments of 3000 and 2400", o.Refunds)
		}
		if len(o.Events) != 3 {
			t.Errorf("order has %d deliveries, want the sale and two refunds", len(o.Events))
		}
	} else {
		// Gumroad pings a partial refund with refunded=false and no amount:
		// acknowledged and recorded as ignored, nothing refunded.
		s2 := sale(2, nil)
		mustDeliver(t, app, k.platform, k.sale(s2), "applied")
		partial := strings.Replace(string(k.refund(s2, paymentstest.Refund{})), "refunded=true", "refunded=false", 1)
		mustDeliver(t, app, k.platform, []byte(partial), "ignored")
		check(s2, 0, 0, "pending")
	}

	// A full refund takes the whole commission back (the refunded net is
	// capped at the order's net when the platform reports more).
	s3 := sale(3, nil)
	mustDeliver(t, app, k.platform, k.sale(s3), "applied")
	mustDeliver(t, app, k.platform, k.refund(s3, paymentstest.Refund{ID: "adj_01full", Amount: 12000, Tax: 2000, At: at.Add(time.Hour)}), "applied")
	check(s3, 12000, k.net(s3), "reversed")

	// A chargeback does the same, recorded as a chargeback.
	if k.chargeback != nil {
		s4 := sale(4, nil)
		mustDeliver(t, app, k.platform, k.sale(s4), "applied")
		mustDeliver(t, app, k.platform, k.chargeback(s4, paymentstest.Refund{ID: "dp_1test", Amount: 12000, At: at.Add(time.Hour)}), "applied")
		o := check(s4, 12000, k.net(s4), "reversed")
		if len(o.Refunds) != 1 || o.Refunds[0].Kind != "chargeback" {
			t.Errorf("chargeback rows %+v", o.Refunds)
		}
	}

	// A subscription: its first payment carries the referral, the renewal
	// does not and is attributed like its subscription. Lemon Squeezy's
	// order_created names no subscription, but it repeats the checkout's
	// custom data on every subscription invoice, so its renewal carries the
	// referral as the platform sends it.
	sub := "sub_" + strings.ReplaceAll(k.platform, "-", "") + "_1"
	first := sale(5, func(s *paymentstest.Sale) { s.SubscriptionID = sub })
	renewal := sale(6, func(s *paymentstest.Sale) {
		s.SubscriptionID, s.Renewal, s.At = sub, true, at.Add(time.Hour)
		if k.platform != payments.LemonSqueezy {
			s.Referral = ""
		}
	})
	mustDeliver(t, app, k.platform, k.sale(first), "applied")
	mustDeliver(t, app, k.platform, k.sale(renewal), "applied")
	o = check(renewal, 0, 0, "pending")
	wantBy := "subscription"
	if k.platform == payments.LemonSqueezy {
		wantBy = "code"
	}
	if o.Kind != "renewal" || o.AttributedBy != wantBy || o.Referral != renewal.Referral {
		t.Errorf("renewal: kind %s attributed_by %q referral %q, want renewal by %s", o.Kind, o.AttributedBy, o.Referral, wantBy)
	}

	// An event the ledger does not use: 200, stored as ignored, no effect.
	orders := len(allOrders(t, app, nil))
	mustDeliver(t, app, k.platform, k.ignored, "ignored")
	found := false
	for _, dl := range deliveries(t, app, "ignored") {
		if dl.Platform == k.platform && dl.Outcome == "ignored" && dl.Error != "" && dl.EventType != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("the ignored %s event is not listed with ?status=ignored (with its type and reason)", k.platform)
	}

	// A malformed payload with a valid signature: 400, stored as failed
	// with an error that names the field, for the owner to see.
	res := deliver(t, app, k.platform, k.malformed)
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), k.malformedField) {
		t.Fatalf("malformed: %d %s, want 400 naming %s", res.Status, res.Body, k.malformedField)
	}
	found = false
	for _, dl := range deliveries(t, app, "failed") {
		if dl.Platform == k.platform && strings.Contains(dl.Error, k.malformedField) {
			found = true
		}
	}
	if !found {
		t.Errorf("the malformed %s delivery is not listed with ?status=failed and its error", k.platform)
	}
	// The platform's retry of the same bytes is acknowledged: it cannot
	// succeed, and it is already kept.
	mustDeliver(t, app, k.platform, k.malformed, "duplicate")
	if n := len(allOrders(t, app, nil)); n != orders {
		t.Errorf("ignored and malformed deliveries changed the orders: %d, want %d", n, orders)
	}
}

// TestWebhookNotConfigured: a platform without a secret answers 404 and
// says why, before reading anything.
func TestWebhookNotConfigured(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		for _, p := range platforms {
			body := kitFor(p).sale(paymentstest.Sale{OrderID: "x1", Amount: 100})
			path, h := signed(p, body, time.Now())
			res := app.DoWith("POST", path, body, h)
			if res.Status != http.StatusNotFound {
				t.Fatalf("%s: %d %s, want 404", p, res.Status, res.Body)
			}
			code, _ := res.Error(t)
			if code != "not_configured" || !strings.Contains(string(res.Body), p) || !strings.Contains(string(res.Body), "not configured") {
				t.Errorf("%s: %s, want a not_configured error naming the platform", p, res.Body)
			}
		}
		if n := count(t, d, "webhook_events"); n != 0 {
			t.Errorf("%d deliveries stored by unconfigured endpoints", n)
		}
	})
}

// TestWebhookBodyLimit: up to 1 MiB is read, one byte more is 413 and
// nothing is stored.
func TestWebhookBodyLimit(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, hookFlags()...)
		k := kitFor(payments.Paddle)
		body := k.sale(paymentstest.Sale{OrderID: "txn_01big", Amount: 1000})
		exact := append(body, strings.Repeat(" ", 1<<20-len(body))...) // JSON allows trailing spaces
		mustDeliver(t, app, payments.Paddle, exact, "applied")
		for _, p := range platforms {
			big := append([]byte(nil), kitFor(p).sale(paymentstest.Sale{OrderID: "big2", Amount: 1000})...)
			big = append(big, strings.Repeat(" ", 1<<20+1-len(big))...)
			before := count(t, d, "webhook_events")
			res := deliver(t, app, p, big)
			if res.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("%s: %d bytes: status %d, want 413", p, len(big), res.Status)
			}
			if n := count(t, d, "webhook_events"); n != before {
				t.Errorf("%s: an oversized body was stored", p)
			}
		}
	})
}
