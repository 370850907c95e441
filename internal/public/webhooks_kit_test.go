package public_test

// Shared by the webhook tests, the property test, the end-to-end test, the
// benchmark and the fuzz target: the secrets a test server is started
// with, how each platform signs a delivery, and per-platform builders of
// realistic payloads (internal/payments/paymentstest) with what the ledger
// should make of them.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/ledger"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/program"
	"affiliated/internal/public"
	"affiliated/internal/server/servertest"
	"affiliated/internal/tracking"
)

const (
	paddleSecret  = "pdl_ntfset_01test_current_secret"
	paddleOld     = "pdl_ntfset_01test_previous_secret" // still accepted while rotating
	lemonSecret   = "lemon-signing-secret"
	stripeSecret  = "whsec_test_endpoint_secret"
	gumroadToken  = "gumroad-ping-token-0123456789abcdef"
	webhookTarget = "/webhooks/"
)

var classicKey = sync.OnceValue(func() *rsa.PrivateKey {
	// 1024 bits is the smallest key Go signs with; enough for tests and
	// much faster to generate than Paddle's 4096.
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return k
})

// classicPublicPEM is the Paddle Classic public key as the owner pastes it.
func classicPublicPEM() string {
	der, err := x509.MarshalPKIXPublicKey(&classicKey().PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// hookFlags configures every platform, Paddle with two secrets (rotation).
func hookFlags() []string {
	return []string{
		"--paddle-secret=" + paddleSecret + "," + paddleOld,
		"--paddle-classic-public-key=" + classicPublicPEM(),
		"--lemonsqueezy-secret=" + lemonSecret,
		"--stripe-secret=" + stripeSecret,
		"--gumroad-token=" + gumroadToken,
	}
}

// platforms lists every platform, in a stable order.
var platforms = []string{payments.Paddle, payments.PaddleClassic, payments.LemonSqueezy, payments.Stripe, payments.Gumroad}

// signed returns the path and headers of a delivery of body as the
// platform would send it, signed at at. Paddle Classic bodies are signed
// by their builder (p_signature is in the form).
func signed(platform string, body []byte, at time.Time) (string, http.Header) {
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"webhook-test"}}
	switch platform {
	case payments.Paddle:
		h.Set(payments.PaddleSignatureHeader, payments.SignPaddle(body, paddleSecret, at))
	case payments.PaddleClassic:
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	case payments.LemonSqueezy:
		h.Set(payments.LemonSqueezySignatureHeader, payments.SignLemonSqueezy(body, lemonSecret))
	case payments.Stripe:
		h.Set(payments.StripeSignatureHeader, payments.SignStripe(body, stripeSecret, at))
	case payments.Gumroad:
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		return webhookTarget + "gumroad/" + gumroadToken, h
	}
	return webhookTarget + platform, h
}

// deliver posts body to the platform's endpoint, correctly signed now.
func deliver(t testing.TB, app *servertest.App, platform string, body []byte) *servertest.Response {
	t.Helper()
	path, h := signed(platform, body, time.Now())
	return app.DoWith("POST", path, body, h)
}

// mustDeliver delivers body and fails the test unless the answer is 200
// with outcome want ("" accepts applied or duplicate).
func mustDeliver(t testing.TB, app *servertest.App, platform string, body []byte, want string) {
	t.Helper()
	res := deliver(t, app, platform, body)
	var out struct{ Outcome string }
	if res.Status == http.StatusOK {
		res.JSON(t, &out)
	}
	ok := res.Status == http.StatusOK && (out.Outcome == want || want == "" && (out.Outcome == "applied" || out.Outcome == "duplicate"))
	if !ok {
		t.Fatalf("%s delivery: %d %s, want 200 with outcome %q\n%.400s", platform, res.Status, res.Body, want, body)
	}
}

// kit builds one platform's payloads and knows what the ledger makes of them.
type kit struct {
	platform string
	// cumulative: refunds report the running total (Lemon Squeezy, Stripe);
	// otherwise each refund reports its own amount.
	cumulative bool
	// partial: the platform reports partial refunds (Gumroad sends none).
	partial    bool
	sale       func(paymentstest.Sale) []byte
	refund     func(paymentstest.Sale, paymentstest.Refund) []byte
	chargeback func(paymentstest.Sale, paymentstest.Refund) []byte // nil: the platform has none
	// order is the id the platform's payload names the payment by, for
	// the n-th order of a test.
	order func(n int) string
	// ref is the order_ref the ledger stores for a sale.
	ref func(s paymentstest.Sale) string
	// net is the merchant's revenue the ledger should record for a sale.
	net func(s paymentstest.Sale) int64
	// refundNet is the revenue one incremental refund takes back when the
	// platform reports it; ok false means "in proportion to the gross".
	refundNet func(r paymentstest.Refund) (net int64, ok bool)
	ignored   []byte // a well-formed event the ledger does not use
	malformed []byte // verified but unreadable
	// malformedField is what the stored error of malformed must name.
	malformedField string
}

// kits returns every platform's kit; built once, as signing Paddle
// Classic's fixed bodies takes RSA work.
var kits = sync.OnceValue(func() []kit {
	key := classicKey()
	incremental := func(r paymentstest.Refund) (int64, bool) { return r.Amount - r.Tax, true }
	proportional := func(paymentstest.Refund) (int64, bool) { return 0, false }
	same := func(s paymentstest.Sale) string { return s.OrderID }
	classicForm := func(f url.Values) []byte { return []byte(payments.SignPaddleClassic(f, key).Encode()) }
	return []kit{{
		platform: payments.Paddle, partial: true,
		sale: paymentstest.PaddleSale, refund: paymentstest.PaddleRefund, chargeback: paymentstest.PaddleChargeback,
		order:     func(n int) string { return fmt.Sprintf("txn_01test%04d", n) },
		ref:       same,
		net:       func(s paymentstest.Sale) int64 { return s.Amount - s.Tax - s.Fee }, // Paddle's earnings
		refundNet: incremental,
		ignored: []byte(`{"event_id":"evt_01ignored","event_type":"customer.updated","occurred_at":"2025-01-15T12:00:00.000000Z",` +
			`"notification_id":"ntf_01ignored","data":{"id":"ctm_01test","email":"buyer@example.com","status":"active"}}`),
		malformed: []byte(`{"event_id":"evt_01malformed","event_type":"transaction.completed","occurred_at":"2025-01-15T12:00:00Z",` +
			`"data":{"id":"txn_01malformed","status":"completed","origin":"web","currency_code":"USD",` +
			`"details":{"totals":{"grand_total":"12.50","tax":"0","earnings":"10"}}}}`),
		malformedField: "data.details.totals.grand_total",
	}, {
		platform: payments.PaddleClassic, partial: true,
		sale: func(s paymentstest.Sale) []byte { return paymentstest.PaddleClassicSale(s, key) },
		refund: func(s paymentstest.Sale, r paymentstest.Refund) []byte {
			return paymentstest.PaddleClassicRefund(s, r, key)
		},
		chargeback: func(s paymentstest.Sale, r paymentstest.Refund) []byte {
			return paymentstest.PaddleClassicChargeback(s, r, key)
		},
		order:     func(n int) string { return fmt.Sprintf("%d-%d", 4000000+n, 7) },
		ref:       same,
		net:       func(s paymentstest.Sale) int64 { return s.Amount - s.Tax - s.Fee },
		refundNet: incremental,
		ignored: classicForm(url.Values{"alert_name": {"subscription_created"}, "alert_id": {"99000001"},
			"subscription_id": {"5500"}, "email": {"buyer@example.com"}, "event_time": {"2025-01-15 12:00:00"}, "status": {"active"}}),
		malformed: classicForm(url.Values{"alert_name": {"payment_succeeded"}, "alert_id": {"99000002"},
			"order_id": {"4999999-1"}, "currency": {"USD"}, "event_time": {"2025-01-15 12:00:00"}, "sale_gross": {"12.5.0"}}),
		malformedField: "sale_gross",
	}, {
		platform: payments.LemonSqueezy, partial: true, cumulative: true,
		sale: paymentstest.LemonSqueezySale, refund: paymentstest.LemonSqueezyRefund,
		order: func(n int) string { return strconv.Itoa(2400000 + n) },
		ref: func(s paymentstest.Sale) string {
			if s.Renewal {
				return "invoice-" + s.OrderID
			}
			return s.OrderID
		},
		net:       func(s paymentstest.Sale) int64 { return s.Amount - s.Tax }, // no fee in the payload
		refundNet: proportional,
		ignored: []byte(`{"meta":{"event_name":"subscription_created","test_mode":true},"data":{"type":"subscriptions","id":"77001",` +
			`"attributes":{"status":"active","order_id":2400001,"user_email":"buyer@example.com"}}}`),
		malformed: []byte(`{"meta":{"event_name":"order_created","test_mode":true},"data":{"type":"orders","id":"2499999",` +
			`"attributes":{"currency":"USD","status":"paid","created_at":"2025-01-15T12:00:00.000000Z"}}}`),
		malformedField: "data.attributes.total",
	}, {
		platform: payments.Stripe, partial: true, cumulative: true,
		sale: paymentstest.StripeSale, refund: paymentstest.StripeRefund, chargeback: paymentstest.StripeChargeback,
		order:     func(n int) string { return fmt.Sprintf("pi_3Test%06d", n) },
		ref:       same,
		net:       func(s paymentstest.Sale) int64 { return s.Amount - s.Tax },
		refundNet: proportional,
		ignored: []byte(`{"id":"evt_1ignored","object":"event","type":"customer.created","created":1736942400,"livemode":false,` +
			`"data":{"object":{"id":"cus_test","object":"customer","email":"buyer@example.com"}}}`),
		malformed: []byte(`{"id":"evt_1malformed","object":"event","type":"checkout.session.completed","created":1736942400,` +
			`"livemode":false,"data":{"object":{"id":"cs_test_bad","object":"checkout.session","mode":"payment",` +
			`"payment_status":"paid","payment_intent":"pi_bad","currency":"usd"}}}`),
		malformedField: "data.object.amount_total",
	}, {
		platform: payments.Gumroad,
		sale:     paymentstest.GumroadSale,
		refund:   func(s paymentstest.Sale, _ paymentstest.Refund) []byte { return paymentstest.GumroadRefund(s) },
		chargeback: func(s paymentstest.Sale, _ paymentstest.Refund) []byte {
			return paymentstest.GumroadChargeback(s)
		},
		order:     func(n int) string { return fmt.Sprintf("gumroadSale%04d==", n) },
		ref:       same,
		net:       func(s paymentstest.Sale) int64 { return s.Amount - s.Fee }, // no tax field
		refundNet: proportional,
		ignored: []byte(url.Values{"resource_name": {"cancellation"}, "sale_id": {"gumroadSale9998=="},
			"subscription_id": {"sub9998"}, "email": {"buyer@example.com"}}.Encode()),
		malformed: []byte(url.Values{"resource_name": {"sale"}, "sale_id": {"gumroadSale9999=="}, "currency": {"usd"},
			"price": {"12.50"}, "sale_timestamp": {"2025-01-15T12:00:00Z"}}.Encode()),
		malformedField: "price",
	}}
})

func kitFor(platform string) kit {
	for _, k := range kits() {
		if k.platform == platform {
			return k
		}
	}
	panic("no kit for " + platform)
}

// count returns the number of rows in table.
func count(t testing.TB, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.R(context.Background()).QueryRowContext(context.Background(), "select count(*) from "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The parts of the API's answers the webhook tests read: the test's own
// copy of the contract, so a renamed JSON field fails here.
type orderOut struct {
	ID             int64     `json:"id"`
	Platform       string    `json:"platform"`
	OrderRef       string    `json:"order_ref"`
	Kind           string    `json:"kind"`
	HasSale        bool      `json:"has_sale"`
	SubscriptionID string    `json:"subscription_id"`
	CustomerEmail  string    `json:"customer_email"`
	ProductID      string    `json:"product_id"`
	ProductName    string    `json:"product_name"`
	Currency       string    `json:"currency"`
	Gross          int64     `json:"gross"`
	Tax            int64     `json:"tax"`
	Fee            int64     `json:"fee"`
	Net            int64     `json:"net"`
	NetReported    bool      `json:"net_reported"`
	RefundedGross  int64     `json:"refunded_gross"`
	RefundedNet    int64     `json:"refunded_net"`
	Referral       string    `json:"referral"`
	Coupon         string    `json:"coupon"`
	AffiliateID    *int64    `json:"affiliate_id"`
	ClickID        *int64    `json:"click_id"`
	AttributedBy   string    `json:"attributed_by"`
	OccurredAt     time.Time `json:"occurred_at"`
}

type refundOut struct {
	Kind      string `json:"kind"`
	RefundKey string `json:"refund_key"`
	Gross     int64  `json:"gross"`
	Net       *int64 `json:"net"`
}

type deliveryOut struct {
	ID        int64  `json:"id"`
	Platform  string `json:"platform"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Outcome   string `json:"outcome"`
	Error     string `json:"error"`
	OrderID   *int64 `json:"order_id"`
	Body      string `json:"body"`
}

type commissionOut struct {
	ID          int64     `json:"id"`
	OrderID     int64     `json:"order_id"`
	AffiliateID int64     `json:"affiliate_id"`
	Currency    string    `json:"currency"`
	Amount      int64     `json:"amount"`
	Status      string    `json:"status"`
	Review      string    `json:"review"`
	PayableAt   time.Time `json:"payable_at"`
}

type orderDetailOut struct {
	orderOut
	Refunds    []refundOut    `json:"refunds"`
	Events     []deliveryOut  `json:"events"`
	Commission *commissionOut `json:"commission"`
}

// allOrders lists every order through the API, following the cursor.
func allOrders(t testing.TB, app *servertest.App, query url.Values) []orderOut {
	t.Helper()
	var all []orderOut
	q := url.Values{"limit": {"50"}}
	for k, v := range query {
		q[k] = v
	}
	for {
		var page struct {
			Data       []orderOut `json:"data"`
			NextCursor string     `json:"next_cursor"`
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/orders?"+q.Encode(), nil, &page)
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all
		}
		q.Set("cursor", page.NextCursor)
	}
}

// orderByRef returns the detail of the platform's order ref, failing the
// test when there is none.
func orderByRef(t testing.TB, app *servertest.App, platform, ref string) orderDetailOut {
	t.Helper()
	for _, o := range allOrders(t, app, url.Values{"platform": {platform}}) {
		if o.OrderRef == ref {
			var d orderDetailOut
			app.MustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/orders/%d", o.ID), nil, &d)
			return d
		}
	}
	t.Fatalf("no %s order %q", platform, ref)
	return orderDetailOut{}
}

// deliveries lists stored deliveries with outcome status ("" for all).
func deliveries(t testing.TB, app *servertest.App, status string) []deliveryOut {
	t.Helper()
	var page struct {
		Data []deliveryOut `json:"data"`
	}
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	app.MustDo(http.StatusOK, "GET", "/api/v1/webhook-deliveries?"+q.Encode(), nil, &page)
	return page.Data
}

// hookAffiliate creates an affiliate with a code and a coupon code.
func hookAffiliate(t testing.TB, app *servertest.App, programID int64, code, coupon string) affiliateOut {
	t.Helper()
	var a affiliateOut
	body := map[string]any{"email": code + "@example.com", "name": "Affiliate " + code, "code": code, "program_id": programID}
	if coupon != "" {
		body["coupon_code"] = coupon
	}
	app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", body, &a)
	return a
}

// hookProgram creates a program paying 50% with the given hold.
func hookProgram(t testing.TB, app *servertest.App, slug string, holdDays int) int64 {
	t.Helper()
	var p struct {
		ID int64 `json:"id"`
	}
	app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
		"name": slug, "slug": slug, "destination_url": "https://" + slug + ".example.com/",
		"commission_rate_bps": 5000, "hold_days": holdDays,
	}, &p)
	return p.ID
}

// inMemory is the webhook surface alone, configured in memory on d and
// served without a listener: for the fuzz target, the benchmark and the
// log check.
type inMemory struct {
	http.Handler
	Ledger   *ledger.Ledger
	Programs *program.Store
}

func newInMemory(t testing.TB, d *db.DB, log io.Writer) *inMemory {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	progs := &program.Store{DB: d, Audit: &audit.Log{DB: d}, BaseURL: "https://go.example.com"}
	l := &ledger.Ledger{DB: d, Log: logger, Programs: progs, Clicks: &tracking.Stats{DB: d}}
	key, err := payments.ParseRSAPublicKey(classicPublicPEM())
	if err != nil {
		t.Fatal(err)
	}
	hooks := &public.Webhooks{
		Log: logger, Ledger: l, Tolerance: 5 * time.Minute,
		PaddleSecrets: []string{paddleSecret, paddleOld}, PaddleClassicKey: key,
		LemonSqueezySecret: lemonSecret, StripeSecret: stripeSecret, GumroadToken: gumroadToken,
	}
	mux := http.NewServeMux()
	hooks.Routes(mux, prometheus.NewRegistry())
	return &inMemory{Handler: mux, Ledger: l, Programs: progs}
}

// post serves one delivery and returns the status.
func (m *inMemory) post(path string, h http.Header, body []byte) int {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	return rec.Code
}
