package paymentstest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
)

// Every builder's output must parse into the Event it describes; that is
// the whole promise the ledger and HTTP tests rely on.
func TestBuildersRoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	later := at.Add(72 * time.Hour)
	base := paymentstest.Sale{
		Email: "buyer@example.com", ProductID: "prod_1", ProductName: "Course",
		Amount: 11900, Tax: 1900, Discount: 1000, Fee: 600, Referral: "r_abc", Coupon: "JANE10", At: at,
	}
	sale := func(order string, f func(*paymentstest.Sale)) paymentstest.Sale {
		s := base
		s.OrderID = order
		if f != nil {
			f(&s)
		}
		return s
	}
	renewal := func(order string) paymentstest.Sale {
		return sale(order, func(s *paymentstest.Sale) { s.SubscriptionID, s.Renewal = "sub_1", true })
	}
	jpy := func(order string) paymentstest.Sale {
		return sale(order, func(s *paymentstest.Sale) {
			s.Currency, s.Amount, s.Tax, s.Discount, s.Fee = "JPY", 5500, 500, 0, 300
		})
	}
	part := paymentstest.Refund{Amount: 4000, Tax: 500, At: later}

	type want struct {
		kind       payments.Kind
		order      string
		currency   string
		gross      int64
		refund     int64 // increment
		cumulative int64
		referral   bool // the payload carries the referral
	}
	tests := []struct {
		name     string
		platform string
		body     []byte
		want     want
	}{
		{"paddle sale", payments.Paddle, paymentstest.PaddleSale(sale("txn_1", nil)), want{payments.KindSale, "txn_1", "USD", 11900, 0, 0, true}},
		{"paddle renewal", payments.Paddle, paymentstest.PaddleSale(renewal("txn_2")), want{payments.KindRenewal, "txn_2", "USD", 11900, 0, 0, true}},
		{"paddle JPY", payments.Paddle, paymentstest.PaddleSale(jpy("txn_3")), want{payments.KindSale, "txn_3", "JPY", 5500, 0, 0, true}},
		{"paddle refund", payments.Paddle, paymentstest.PaddleRefund(sale("txn_1", nil), part), want{payments.KindRefund, "txn_1", "USD", 0, 4000, 0, false}},
		{"paddle chargeback", payments.Paddle, paymentstest.PaddleChargeback(sale("txn_1", nil), paymentstest.Refund{Amount: 11900}), want{payments.KindChargeback, "txn_1", "USD", 0, 11900, 0, false}},

		{"classic sale", payments.PaddleClassic, paymentstest.PaddleClassicSale(sale("100-1", nil), key), want{payments.KindSale, "100-1", "USD", 11900, 0, 0, true}},
		{"classic first subscription payment", payments.PaddleClassic, paymentstest.PaddleClassicSale(sale("100-2", func(s *paymentstest.Sale) { s.SubscriptionID = "77" }), key), want{payments.KindSale, "100-2", "USD", 11900, 0, 0, true}},
		{"classic renewal", payments.PaddleClassic, paymentstest.PaddleClassicSale(renewal("100-3"), key), want{payments.KindRenewal, "100-3", "USD", 11900, 0, 0, true}},
		{"classic JPY", payments.PaddleClassic, paymentstest.PaddleClassicSale(jpy("100-4"), key), want{payments.KindSale, "100-4", "JPY", 5500, 0, 0, true}},
		{"classic refund", payments.PaddleClassic, paymentstest.PaddleClassicRefund(sale("100-1", nil), part, key), want{payments.KindRefund, "100-1", "USD", 0, 4000, 0, true}},
		{"classic chargeback", payments.PaddleClassic, paymentstest.PaddleClassicChargeback(sale("100-1", nil), paymentstest.Refund{Amount: 11900}, key), want{payments.KindChargeback, "100-1", "USD", 0, 11900, 0, true}},

		{"lemon sale", payments.LemonSqueezy, paymentstest.LemonSqueezySale(sale("3001", nil)), want{payments.KindSale, "3001", "USD", 11900, 0, 0, true}},
		{"lemon renewal", payments.LemonSqueezy, paymentstest.LemonSqueezySale(renewal("9001")), want{payments.KindRenewal, "invoice-9001", "USD", 11900, 0, 0, true}},
		{"lemon JPY", payments.LemonSqueezy, paymentstest.LemonSqueezySale(jpy("3002")), want{payments.KindSale, "3002", "JPY", 5500, 0, 0, true}},
		{"lemon refund", payments.LemonSqueezy, paymentstest.LemonSqueezyRefund(sale("3001", nil), part), want{payments.KindRefund, "3001", "USD", 11900, 0, 4000, true}},
		{"lemon renewal refund", payments.LemonSqueezy, paymentstest.LemonSqueezyRefund(renewal("9001"), part), want{payments.KindRefund, "invoice-9001", "USD", 11900, 0, 4000, true}},

		{"stripe sale", payments.Stripe, paymentstest.StripeSale(sale("pi_1", nil)), want{payments.KindSale, "pi_1", "USD", 11900, 0, 0, true}},
		{"stripe renewal", payments.Stripe, paymentstest.StripeSale(renewal("pi_2")), want{payments.KindRenewal, "pi_2", "USD", 11900, 0, 0, true}},
		{"stripe JPY", payments.Stripe, paymentstest.StripeSale(jpy("pi_3")), want{payments.KindSale, "pi_3", "JPY", 5500, 0, 0, true}},
		{"stripe ISK", payments.Stripe, paymentstest.StripeSale(sale("pi_4", func(s *paymentstest.Sale) { s.Currency = "ISK" })), want{payments.KindSale, "pi_4", "ISK", 11900, 0, 0, true}},
		{"stripe refund", payments.Stripe, paymentstest.StripeRefund(sale("pi_1", nil), part), want{payments.KindRefund, "pi_1", "USD", 11900, 0, 4000, false}},
		{"stripe chargeback", payments.Stripe, paymentstest.StripeChargeback(sale("pi_1", nil), paymentstest.Refund{Amount: 11900}), want{payments.KindChargeback, "pi_1", "USD", 0, 11900, 0, false}},

		{"gumroad sale", payments.Gumroad, paymentstest.GumroadSale(sale("g1", nil)), want{payments.KindSale, "g1", "USD", 11900, 0, 0, true}},
		{"gumroad renewal", payments.Gumroad, paymentstest.GumroadSale(renewal("g2")), want{payments.KindRenewal, "g2", "USD", 11900, 0, 0, true}},
		{"gumroad JPY", payments.Gumroad, paymentstest.GumroadSale(jpy("g3")), want{payments.KindSale, "g3", "JPY", 5500, 0, 0, true}},
		{"gumroad refund", payments.Gumroad, paymentstest.GumroadRefund(sale("g1", nil)), want{payments.KindRefund, "g1", "USD", 11900, 11900, 0, true}},
		{"gumroad chargeback", payments.Gumroad, paymentstest.GumroadChargeback(sale("g1", nil)), want{payments.KindChargeback, "g1", "USD", 11900, 11900, 0, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.platform == payments.PaddleClassic {
				if err := payments.VerifyPaddleClassic(tt.body, &key.PublicKey); err != nil {
					t.Fatalf("signature: %v", err)
				}
			}
			ev, err := payments.Parse(tt.platform, tt.body)
			if err != nil {
				t.Fatalf("Parse: %v\n%s", err, tt.body)
			}
			w := tt.want
			if ev.Kind != w.kind || ev.OrderID != w.order || ev.Currency != w.currency || ev.Gross != w.gross ||
				ev.Refund != w.refund || ev.RefundCumulative != w.cumulative {
				t.Errorf("got kind %s order %s %s gross %d refund %d cumulative %d; want %+v",
					ev.Kind, ev.OrderID, ev.Currency, ev.Gross, ev.Refund, ev.RefundCumulative, w)
			}
			if w.referral && ev.Referral != "r_abc" {
				t.Errorf("Referral = %q", ev.Referral)
			}
			if ev.EventID == "" || ev.OccurredAt.IsZero() {
				t.Errorf("EventID %q, OccurredAt %v", ev.EventID, ev.OccurredAt)
			}
			if w.kind == payments.KindSale || w.kind == payments.KindRenewal {
				if !ev.OccurredAt.Equal(at) {
					t.Errorf("OccurredAt = %v, want %v", ev.OccurredAt, at)
				}
				if ev.CustomerEmail == "" && tt.platform != payments.Paddle {
					t.Error("no CustomerEmail")
				}
				if wantTax := map[string]int64{"USD": 1900, "ISK": 1900, "JPY": 500}[w.currency]; tt.platform != payments.Gumroad && ev.Tax != wantTax {
					t.Errorf("Tax = %d, want %d", ev.Tax, wantTax)
				}
			}
		})
	}
}

// Two partial refunds through the builders: increments for Paddle,
// running totals for Stripe and Lemon Squeezy; RefundDelta evens them out.
func TestBuildersTwoPartialRefunds(t *testing.T) {
	s := paymentstest.Sale{OrderID: "pi_9", Amount: 10000, Email: "b@example.com"}
	ls := s
	ls.OrderID = "4242"
	for name, bodies := range map[string][2][]byte{
		payments.Paddle: {paymentstest.PaddleRefund(s, paymentstest.Refund{Amount: 3000}),
			paymentstest.PaddleRefund(s, paymentstest.Refund{Amount: 2000})},
		payments.Stripe: {paymentstest.StripeRefund(s, paymentstest.Refund{Amount: 3000}),
			paymentstest.StripeRefund(s, paymentstest.Refund{Amount: 5000})},
		payments.LemonSqueezy: {paymentstest.LemonSqueezyRefund(ls, paymentstest.Refund{Amount: 3000}),
			paymentstest.LemonSqueezyRefund(ls, paymentstest.Refund{Amount: 5000})},
	} {
		var recorded int64
		ids := map[string]bool{}
		for _, body := range bodies {
			ev, err := payments.Parse(name, body)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			recorded += ev.RefundDelta(recorded)
			ids[ev.EventID] = true
		}
		if recorded != 5000 || len(ids) != 2 {
			t.Errorf("%s: recorded %d in %d distinct events, want 5000 in 2", name, recorded, len(ids))
		}
	}
}
