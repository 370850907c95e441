// Package paymentstest builds realistic webhook bodies of every supported
// platform, in the platforms' own shapes, for tests of the packages that
// consume payments (the ledger, the webhook handlers) and for replaying
// events by hand. Sign them with payments.SignPaddle, SignStripe,
// SignLemonSqueezy; Paddle Classic builders sign when given a key.
//
// Every builder takes a Sale: the same Sale passed to a platform's sale
// and refund builders yields events that the payments parsers join on the
// same Event.OrderID.
package paymentstest

import (
	"encoding/json"
	"strings"
	"time"
)

// DefaultTime is the time of events whose Sale or Refund has no At.
var DefaultTime = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

// Sale describes one payment.
type Sale struct {
	// OrderID is the platform's id of the payment, as Event.OrderID will
	// hold it: Paddle txn_…, Paddle Classic order_id, Lemon Squeezy order
	// id (for renewals the subscription invoice id, which the parser
	// reports as "invoice-<id>"), Stripe payment_intent pi_…, Gumroad
	// sale_id. Required.
	OrderID string
	// EventID overrides the platform event id (Paddle evt_, Stripe evt_,
	// Paddle Classic alert_id); derived from OrderID when empty. Lemon
	// Squeezy and Gumroad send none.
	EventID        string
	SubscriptionID string
	Renewal        bool // a later payment of SubscriptionID
	// Invoice makes StripeSale a subscription's checkout as API versions
	// from 2025-03-31 ("basil") send it: mode subscription, this invoice,
	// no payment_intent (OrderID is then the intent that
	// StripeInvoicePayment ties to the invoice, and that StripeRefund names).
	Invoice     string
	Email       string
	ProductID   string
	ProductName string
	Currency    string // ISO 4217; "USD" when empty
	Amount      int64  // gross paid, minor units, tax included
	Tax         int64
	Discount    int64 // already taken off Amount
	Fee         int64 // platform fee (Paddle, Paddle Classic, Gumroad)
	Referral    string
	Coupon      string
	Test        bool
	At          time.Time // DefaultTime when zero
}

// Refund describes one refund or chargeback of a Sale.
type Refund struct {
	// ID is the refund's or dispute's id (Paddle adj_, Stripe dp_, Paddle
	// Classic alert_id); derived when empty.
	ID string
	// Amount is the gross refunded by this refund for Paddle and Paddle
	// Classic. For Lemon Squeezy and Stripe refunds pass the running total
	// refunded on the order, as those platforms report it. Chargebacks
	// take the disputed amount. Gumroad builders ignore it: Gumroad only
	// reports full refunds.
	Amount int64
	Tax    int64
	At     time.Time // DefaultTime when zero
}

func (s Sale) currency() string {
	if s.Currency == "" {
		return "USD"
	}
	return strings.ToUpper(s.Currency)
}

func (s Sale) at() time.Time { return orDefault(s.At) }

func (r Refund) at() time.Time { return orDefault(r.At) }

func orDefault(t time.Time) time.Time {
	if t.IsZero() {
		return DefaultTime
	}
	return t.UTC()
}

// id returns override, or prefix + a token derived from seed, so that
// derived ids are stable across calls.
func id(override, prefix, seed string) string {
	if override != "" {
		return override
	}
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range seed {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// orNull is a JSON null for an empty string.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("paymentstest: " + err.Error())
	}
	return b
}

type obj = map[string]any
