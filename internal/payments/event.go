// Package payments turns payment platforms' webhook deliveries into one
// normalized Event: it verifies signatures on the raw bytes and parses each
// platform's payload (Paddle Billing, Paddle Classic, Lemon Squeezy,
// Stripe, Gumroad). It knows no HTTP and no database: callers pass the body
// and the signature header's value, and get back an Event or an error.
//
// Typical use by an HTTP handler:
//
//	if err := payments.VerifyStripe(body, sigHeader, secret, now, payments.StripeTolerance); err != nil { … 400 }
//	ev, err := payments.ParseStripe(body)
//	switch {
//	case errors.Is(err, payments.ErrIgnored):   // 200: not an event we use
//	case errors.Is(err, payments.ErrMalformed): // 400: log it
//	case err == nil:                            // hand ev to the ledger
//	}
package payments

import (
	"errors"
	"fmt"
	"time"
)

// Platform names, as used in webhook paths and stored with every event.
const (
	Paddle        = "paddle"
	PaddleClassic = "paddle-classic"
	LemonSqueezy  = "lemonsqueezy"
	Stripe        = "stripe"
	Gumroad       = "gumroad"
)

// Kind is what an event means for the ledger.
type Kind string

const (
	KindSale               Kind = "sale"                // first payment of an order or subscription
	KindRenewal            Kind = "renewal"             // a later payment of a subscription
	KindRefund             Kind = "refund"              // money returned to the buyer, full or partial
	KindChargeback         Kind = "chargeback"          // the buyer's bank took the money back
	KindChargebackReversed Kind = "chargeback_reversed" // a chargeback was won; the money came back
	// KindLink moves no money: it says that OrderRefs name the same
	// payment as OrderID (Stripe's invoice_payment.paid, the one place
	// where API versions from 2025-03-31 tie an invoice to the payment
	// intent and charge that paid it, which refunds and disputes name).
	KindLink Kind = "link"
)

// Event is one payment-platform event in a platform-neutral form.
//
// Amounts are int64 minor units of Currency (ISO 4217, upper case, with the
// ISO exponent: platforms that count differently are converted).
//
// On a sale or renewal, Gross, Tax, Discount, Fee and Net describe the
// payment. On a refund or chargeback they describe the original payment
// when the payload carries it (Lemon Squeezy, Stripe charge.refunded,
// Gumroad) and are zero otherwise; the amount taken back is in the Refund*
// fields.
//
// Refund amounts come in two flavours, because platforms report them
// differently:
//
//   - Refund (with RefundTax, RefundNet) is the amount taken back by this
//     event alone, an increment. Paddle Billing (one adjustment per refund),
//     Paddle Classic, Gumroad, and all chargebacks report it this way. Apply
//     it once per RefundID.
//   - RefundCumulative is the total refunded on the order so far, as Lemon
//     Squeezy order_refunded and Stripe charge.refunded report it. The
//     ledger's increment is RefundCumulative minus what it already recorded
//     for the order (never below zero, so a late, smaller total changes
//     nothing); RefundDelta does that arithmetic.
//
// Exactly one of the two is set (positive) on a refund event; both are zero
// on other kinds.
type Event struct {
	Kind     Kind
	Platform string
	// EventID is the platform's id of this delivery's event (Paddle evt_,
	// Stripe evt_, Paddle Classic alert_id). Lemon Squeezy and Gumroad send
	// none, so it is built from the event name, the object id and, for
	// cumulative refunds, the refunded total: the same event delivered
	// twice gets the same id. Deduplicate on (Platform, EventID).
	EventID string
	// EventType is the platform's own name for the event
	// ("transaction.completed", "order_refunded", …), for logs.
	EventType string
	Test      bool // the platform marked it as test mode

	// OrderID identifies the payment that sales, refunds and chargebacks
	// share, so a refund finds its sale: Paddle txn_, Paddle Classic
	// order_id, Lemon Squeezy order id (renewal invoices as
	// "invoice-<id>"), Stripe payment_intent (see ParseStripe), Gumroad
	// sale_id.
	OrderID string
	// OrderRefs are other ids of the same payment, set only for Stripe,
	// whose objects name a payment by different ids (payment_intent,
	// invoice, charge, checkout session) depending on the flow and the
	// API version. A ledger that records them with the sale can find the
	// sale of a refund whose OrderID differs; see ParseStripe.
	OrderRefs []string
	// RefundID identifies one refund or chargeback (Paddle adj_, Stripe
	// dp_, …); the ledger applies an increment at most once per
	// (Platform, Kind, RefundID).
	RefundID       string
	SubscriptionID string
	CustomerID     string // the platform's customer id, when sent (Paddle Billing sends no email)
	CustomerEmail  string
	ProductID      string
	ProductName    string

	Currency string
	// Gross is what the buyer paid: after discounts, including tax.
	Gross int64
	Tax   int64
	// Discount is informational: it is already taken off Gross.
	Discount int64
	// Fee is the platform's fee when the payload reports it.
	Fee int64
	// Net is the merchant's revenue: the platform's own earnings figure
	// when it reports one (Paddle, Paddle Classic), else Gross − Tax − Fee.
	// NetReported is true when the platform's fee is accounted for, i.e.
	// it reported its earnings or its fee (Gumroad); it is false for Lemon
	// Squeezy and Stripe, which put fees only in their APIs, so there Net
	// is Gross − Tax.
	Net         int64
	NetReported bool

	Refund int64 // gross taken back by this event (increment), see above
	// RefundTax is the tax part of Refund when reported (a VAT-only refund
	// has Refund == RefundTax and leaves the merchant's revenue alone).
	RefundTax int64
	// RefundNet is the merchant's revenue taken back by this event when
	// the platform reports it (Paddle earnings, Paddle Classic
	// earnings_decrease; may be negative for VAT refunds); see
	// RefundNetReported.
	RefundNet         int64
	RefundNetReported bool
	RefundCumulative  int64 // total refunded on the order so far, see above

	// Referral is the checkout attribution key "referral" (see DESIGN.md),
	// trimmed; empty when absent or not a plausible id (longer than 200
	// bytes or holding control characters).
	Referral string
	// Coupon is the discount code, or the platform's discount id where the
	// payload has no code (Paddle dsc_, Stripe promo_/coupon id).
	Coupon string

	OccurredAt time.Time // UTC
}

// RefundDelta returns the gross amount this refund event adds, given the
// gross refunds already recorded for the order: Refund for platforms that
// report increments, RefundCumulative − alreadyRefunded (at least 0) for
// those that report running totals.
func (e Event) RefundDelta(alreadyRefunded int64) int64 {
	if e.RefundCumulative > 0 {
		if d := e.RefundCumulative - alreadyRefunded; d > 0 {
			return d
		}
		return 0
	}
	return e.Refund
}

// ErrIgnored is returned (wrapped in an *IgnoredError) for a well-formed
// event the ledger does not use: another event type, a refund still
// pending approval, a checkout not yet paid. Acknowledge it with 2xx so the
// platform stops retrying.
var ErrIgnored = errors.New("payments: event ignored")

// IgnoredError says which event was ignored and why.
type IgnoredError struct {
	Platform  string
	EventType string
	Reason    string
}

func (e *IgnoredError) Error() string {
	return fmt.Sprintf("payments: %s event %q ignored: %s", e.Platform, e.EventType, e.Reason)
}

// Is makes errors.Is(err, ErrIgnored) true.
func (e *IgnoredError) Is(target error) bool { return target == ErrIgnored }

func ignored(platform, eventType, reason string) error {
	return &IgnoredError{Platform: platform, EventType: eventType, Reason: reason}
}

// ErrMalformed is returned (wrapped in a *MalformedError) for a payload
// that cannot be read: bad JSON or form encoding, a missing required field,
// an amount that is not an exact integer.
var ErrMalformed = errors.New("payments: malformed payload")

// MalformedError names the platform and the offending field.
type MalformedError struct {
	Platform string
	Field    string // JSON path or form key; empty when the whole body is unreadable
	Reason   string
}

func (e *MalformedError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("payments: malformed %s payload: %s", e.Platform, e.Reason)
	}
	return fmt.Sprintf("payments: malformed %s payload: %s: %s", e.Platform, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(platform, field, format string, args ...any) error {
	return &MalformedError{Platform: platform, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Parse dispatches to the parser of platform (one of the Platform
// constants). Unknown platforms are malformed.
func Parse(platform string, body []byte) (Event, error) {
	switch platform {
	case Paddle:
		return ParsePaddle(body)
	case PaddleClassic:
		return ParsePaddleClassic(body)
	case LemonSqueezy:
		return ParseLemonSqueezy(body)
	case Stripe:
		return ParseStripe(body)
	case Gumroad:
		return ParseGumroad(body)
	}
	return Event{}, malformed(platform, "", "unknown platform")
}
