package payments_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"affiliated/internal/payments"
)

func TestParseLemonSqueezy(t *testing.T) {
	order := testdata(t, "lemonsqueezy/order_created.json")
	refund := testdata(t, "lemonsqueezy/order_refunded.partial.json")
	renewal := testdata(t, "lemonsqueezy/subscription_payment_success.renewal.json")

	wantSale := payments.Event{
		Kind: payments.KindSale, Platform: "lemonsqueezy",
		EventID: "order_created:3120457", EventType: "order_created",
		OrderID: "3120457", CustomerID: "3311789", CustomerEmail: "lea@example.com",
		ProductID: "301122", ProductName: "Watercolour Workshop",
		Currency: "EUR", Gross: 5580, Tax: 1080, Discount: 500, Net: 4500,
		Referral:   "r_9Lm3Qd",
		OccurredAt: utc("2024-07-02T09:15:41Z"),
	}
	wantRefund := wantSale
	wantRefund.Kind, wantRefund.EventType, wantRefund.EventID = payments.KindRefund, "order_refunded", "order_refunded:3120457:1500"
	wantRefund.RefundCumulative, wantRefund.OccurredAt = 1500, utc("2024-07-09T11:02:07Z")
	// The second partial refund reports the running total (1500 + 2000):
	// a new EventID, and the ledger's delta is 2000.
	wantRefund2 := wantRefund
	wantRefund2.EventID, wantRefund2.RefundCumulative = "order_refunded:3120457:3500", 3500
	wantFull := wantRefund
	wantFull.EventID, wantFull.RefundCumulative = "order_refunded:3120457:5580", 5580
	wantRenewal := payments.Event{
		Kind: payments.KindRenewal, Platform: "lemonsqueezy",
		EventID: "subscription_payment_success:1299001", EventType: "subscription_payment_success",
		OrderID: "invoice-1299001", SubscriptionID: "433120", CustomerID: "3311789", CustomerEmail: "lea@example.com",
		Currency: "USD", Gross: 1900, Net: 1900, Referral: "r_9Lm3Qd",
		OccurredAt: utc("2024-08-02T09:15:44Z"),
	}
	wantRenewalRefund := wantRenewal
	wantRenewalRefund.Kind, wantRenewalRefund.EventType = payments.KindRefund, "subscription_payment_refunded"
	wantRenewalRefund.EventID, wantRenewalRefund.RefundCumulative = "subscription_payment_refunded:1299001:1900", 1900
	wantRenewalRefund.OccurredAt = utc("2024-08-05T10:00:00Z")

	runParseCases(t, payments.ParseLemonSqueezy, []parseCase{
		{name: "sale", body: order, want: wantSale},
		{name: "real capture without custom_data", body: testdata(t, "lemonsqueezy/order_created.lemonsqueezy_java.json"), want: payments.Event{
			Kind: payments.KindSale, Platform: "lemonsqueezy", Test: true,
			EventID: "order_created:2925880", EventType: "order_created",
			OrderID: "2925880", CustomerID: "3083767", CustomerEmail: "test@company.com",
			ProductID: "278897", ProductName: "MelodyMatrix (1 year subscription)",
			Currency: "EUR", Gross: 1999, Net: 1999,
			OccurredAt: utc("2024-06-19T14:08:14Z"),
		}},
		{name: "referral sent as a number", body: edit(t, order, `"referral": "r_9Lm3Qd"`, `"referral": 4711`),
			want: func() payments.Event { e := wantSale; e.Referral = "4711"; return e }()},
		{name: "zero-decimal JPY", body: edit(t, order, `"currency": "EUR"`, `"currency": "JPY"`,
			`"total": 5580`, `"total": 558`, `"tax": 1080`, `"tax": 108`, `"discount_total": 500`, `"discount_total": 50`),
			want: func() payments.Event {
				e := wantSale
				e.Currency, e.Gross, e.Tax, e.Discount, e.Net = "JPY", 558, 108, 50, 450
				return e
			}()},
		{name: "renewal", body: renewal, want: wantRenewal},
		{name: "plan change payment", body: edit(t, renewal, `"billing_reason": "renewal"`, `"billing_reason": "updated"`), want: wantRenewal},
		{name: "partial refund", body: refund, want: wantRefund},
		{name: "second partial refund", body: edit(t, refund, `"refunded_amount": 1500`, `"refunded_amount": 3500`), want: wantRefund2},
		{name: "full refund", body: edit(t, refund, `"status": "partial_refund"`, `"status": "refunded"`,
			`"refunded": false`, `"refunded": true`, `"refunded_amount": 1500`, `"refunded_amount": 5580`), want: wantFull},
		{name: "refund without refunded_at uses updated_at", body: edit(t, refund, `"refunded_at": "2024-07-09T11:02:07.000000Z"`, `"refunded_at": null`), want: wantRefund},
		{name: "renewal refund", body: edit(t, renewal, `"subscription_payment_success"`, `"subscription_payment_refunded"`,
			`"status": "paid"`, `"status": "refunded"`, `"refunded": false`, `"refunded": true`,
			`"refunded_at": null`, `"refunded_at": "2024-08-05T10:00:00.000000Z"`, `"refunded_amount": 0`, `"refunded_amount": 1900`),
			want: wantRenewalRefund},

		{name: "ignored initial invoice", body: edit(t, renewal, `"billing_reason": "renewal"`, `"billing_reason": "initial"`), err: payments.ErrIgnored},
		{name: "ignored initial invoice refund", body: edit(t, renewal, `"subscription_payment_success"`, `"subscription_payment_refunded"`,
			`"billing_reason": "renewal"`, `"billing_reason": "initial"`), err: payments.ErrIgnored},
		{name: "ignored subscription_created", body: edit(t, renewal, `"subscription_payment_success"`, `"subscription_created"`), err: payments.ErrIgnored},
		{name: "ignored pending order", body: edit(t, order, `"status": "paid"`, `"status": "pending"`), err: payments.ErrIgnored},
		{name: "ignored refund of nothing", body: edit(t, refund, `"refunded_amount": 1500`, `"refunded_amount": 0`), err: payments.ErrIgnored},

		{name: "malformed JSON", body: order[:100], err: payments.ErrMalformed},
		{name: "empty body", body: nil, err: payments.ErrMalformed},
		{name: "missing event_name", body: edit(t, order, `"event_name": "order_created",`, ``), err: payments.ErrMalformed},
		{name: "missing data", body: []byte(`{"meta":{"event_name":"order_created"}}`), err: payments.ErrMalformed},
		{name: "wrong data type", body: edit(t, order, `"type": "orders"`, `"type": "subscriptions"`), err: payments.ErrMalformed},
		{name: "missing id", body: edit(t, order, `"id": "3120457",`, ``), err: payments.ErrMalformed},
		{name: "missing total", body: edit(t, order, `"total": 5580,`, ``), err: payments.ErrMalformed},
		{name: "total as float", body: edit(t, order, `"total": 5580`, `"total": 55.80`), err: payments.ErrMalformed},
		{name: "total as exponent", body: edit(t, order, `"total": 5580`, `"total": 5.58e3`), err: payments.ErrMalformed},
		{name: "total as formatted string", body: edit(t, order, `"total": 5580`, `"total": "€55.80"`), err: payments.ErrMalformed},
		{name: "total overflows", body: edit(t, order, `"total": 5580`, `"total": 92233720368547758070`), err: payments.ErrMalformed},
		{name: "missing currency", body: edit(t, order, `"currency": "EUR",`, ``), err: payments.ErrMalformed},
		{name: "missing created_at", body: edit(t, order, `"created_at": "2024-07-02T09:15:41.000000Z",
      "updated_at"`, `"updated_at"`), err: payments.ErrMalformed},
		{name: "refund missing refunded_amount", body: edit(t, refund, `"refunded_amount": 1500,`, ``), err: payments.ErrMalformed},
		{name: "test_mode not a boolean", body: edit(t, order, `"test_mode": false,`, `"test_mode": "no",`), err: payments.ErrMalformed},
	})
}

func TestParseLemonSqueezyMalformedNamesField(t *testing.T) {
	order := testdata(t, "lemonsqueezy/order_created.json")
	_, err := payments.ParseLemonSqueezy(edit(t, order, `"total": 5580`, `"total": 55.80`))
	malformedField(t, err, "data.attributes.total")
	_, err = payments.ParseLemonSqueezy(edit(t, order, `"total": 5580`, `"total": true`))
	malformedField(t, err, "data.attributes.total")
}

func TestRefundDeltaLemonSqueezy(t *testing.T) {
	refund := testdata(t, "lemonsqueezy/order_refunded.partial.json")
	recorded := int64(0)
	for _, step := range []struct{ cumulative, delta int64 }{
		{1500, 1500},
		{1500, 0}, // redelivery
		{3500, 2000},
		{1500, 0}, // a late, older total
		{5580, 2080},
	} {
		body := edit(t, refund, `"refunded_amount": 1500`, `"refunded_amount": `+strconv.FormatInt(step.cumulative, 10))
		ev, err := payments.ParseLemonSqueezy(body)
		if err != nil {
			t.Fatal(err)
		}
		d := ev.RefundDelta(recorded)
		if d != step.delta {
			t.Fatalf("cumulative %d after %d recorded: delta %d, want %d", step.cumulative, recorded, d, step.delta)
		}
		recorded += d
	}
}

func TestVerifyLemonSqueezy(t *testing.T) {
	capture := testdata(t, "lemonsqueezy/order_created.lemonsqueezy_java.json")
	const captureSig = "011e21e6d29844d8f8b486032581f89408b9effbd02c51f355e0c48da6141ac0"
	body := testdata(t, "lemonsqueezy/order_created.json")
	good := payments.SignLemonSqueezy(body, "s3cret-signing")
	flipped := bytes.Clone(body)
	flipped[len(flipped)/2] ^= 0x20
	tests := []struct {
		name   string
		body   []byte
		sig    string
		secret string
		err    error
	}{
		{"reference vector", capture, captureSig, "test-signing-secret", nil},
		{"reference vector, upper-case hex", capture, strings.ToUpper(captureSig), "test-signing-secret", nil},
		{"reference vector, wrong secret", capture, captureSig, "test-signing-secreT", payments.ErrSignature},
		{"reference vector, unescaped slashes", bytes.ReplaceAll(capture, []byte(`\/`), []byte(`/`)), captureSig, "test-signing-secret", payments.ErrSignature},
		{"own", body, good, "s3cret-signing", nil},
		{"own, surrounding spaces", body, " " + good + " ", "s3cret-signing", nil},
		{"flipped byte", flipped, good, "s3cret-signing", payments.ErrSignature},
		{"missing signature", body, "", "s3cret-signing", payments.ErrSignature},
		{"garbage signature", body, "not-hex", "s3cret-signing", payments.ErrSignature},
		{"short signature", body, good[:32], "s3cret-signing", payments.ErrSignature},
		{"no secret configured", body, payments.SignLemonSqueezy(body, ""), "", payments.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := payments.VerifyLemonSqueezy(tt.body, tt.sig, tt.secret)
			if tt.err == nil && err != nil {
				t.Fatalf("VerifyLemonSqueezy: %v", err)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("VerifyLemonSqueezy = %v, want %v", err, tt.err)
			}
		})
	}
}

func FuzzParseLemonSqueezy(f *testing.F) {
	for _, name := range []string{"order_created.json", "order_refunded.partial.json",
		"subscription_payment_success.renewal.json", "order_created.lemonsqueezy_java.json"} {
		f.Add(testdata(f, "lemonsqueezy/"+name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := payments.ParseLemonSqueezy(body)
		checkParsed(t, ev, err)
	})
}

func FuzzVerifyLemonSqueezy(f *testing.F) {
	capture := testdata(f, "lemonsqueezy/order_created.lemonsqueezy_java.json")
	f.Add(capture, "011e21e6d29844d8f8b486032581f89408b9effbd02c51f355e0c48da6141ac0")
	f.Add([]byte("{}"), "zz")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		err := payments.VerifyLemonSqueezy(body, sig, "test-signing-secret")
		if err != nil && !errors.Is(err, payments.ErrSignature) {
			t.Fatalf("error %v is not ErrSignature", err)
		}
		if err == nil && !bytes.Equal(body, capture) {
			t.Fatalf("accepted a body the secret never signed")
		}
		if err := payments.VerifyLemonSqueezy(body, payments.SignLemonSqueezy(body, "k"), "k"); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}
