package payments_test

import (
	"errors"
	"strings"
	"testing"

	"affiliated/internal/payments"
)

// The HTTP layer caps bodies at 1 MiB; at that size attacker-chosen
// numbers, ids and nesting must end in a short error or a sane Event,
// never a panic or a log line the size of the body.
func TestLargeBodies(t *testing.T) {
	const mib = 1 << 20
	huge := strings.Repeat("9", mib-200)
	long := strings.Repeat("r", mib-200)
	sale := string(testdata(t, "paddle/transaction_completed.sale.json"))
	lemon := string(testdata(t, "lemonsqueezy/order_created.json"))
	gum := string(testdata(t, "gumroad/sale.form"))
	tests := []struct {
		name     string
		platform string
		body     string
		err      error
	}{
		{"paddle huge amount", payments.Paddle, strings.Replace(sale, `"grand_total": "4807"`, `"grand_total": "`+huge+`"`, 1), payments.ErrMalformed},
		{"paddle huge referral", payments.Paddle, strings.Replace(sale, `"r_7Kq2xZ"`, `"`+long+`"`, 1), nil},
		{"paddle deep nesting", payments.Paddle, strings.Repeat("[", mib/2) + strings.Repeat("]", mib/2), payments.ErrMalformed},
		{"lemon huge number", payments.LemonSqueezy, strings.Replace(lemon, `"total": 5580`, `"total": `+huge, 1), payments.ErrMalformed},
		{"lemon huge exponent", payments.LemonSqueezy, strings.Replace(lemon, `"total": 5580`, `"total": 1e999999999`, 1), payments.ErrMalformed},
		{"stripe huge created", payments.Stripe, `{"id":"evt_1","type":"charge.refunded","created":` + huge + `,"data":{"object":{}}}`, payments.ErrMalformed},
		{"classic huge amount", payments.PaddleClassic, "alert_name=payment_succeeded&alert_id=1&order_id=1&currency=USD&event_time=2024-01-01+00%3A00%3A00&sale_gross=" + huge + ".00", payments.ErrMalformed},
		{"classic many fields", payments.PaddleClassic, strings.Repeat("a=1&", mib/4), payments.ErrMalformed},
		{"gumroad huge price", payments.Gumroad, strings.Replace(gum, "price=3000", "price="+huge, 1), payments.ErrMalformed},
		{"gumroad huge referral", payments.Gumroad, strings.Replace(gum, "r_Gq7Zt2", long, 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := payments.Parse(tt.platform, []byte(tt.body))
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Parse: %.200v", err)
				}
				if ev.Referral != "" {
					t.Errorf("kept a referral of %d bytes", len(ev.Referral))
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse = %.200v, want %v", err, tt.err)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
		})
	}
}
