package payments

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"affiliated/internal/money"
)

// Stripe webhooks: an event envelope {id, type, created, livemode,
// data.object}. Amounts are integers in Stripe's minor units; currencies
// are lower case. Payload shapes follow the endpoint's pinned API version,
// so fields that moved (invoice tax and subscription in 2025-03-31
// "basil") are read from both places. See verify.go for Stripe-Signature.

type stripeEnvelope struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Created  *json.Number `json:"created"`
	Livemode bool         `json:"livemode"`
	Data     *struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

type stripeSession struct {
	ID                string            `json:"id"`
	Mode              string            `json:"mode"`
	PaymentStatus     string            `json:"payment_status"`
	PaymentIntent     json.RawMessage   `json:"payment_intent"`
	Invoice           json.RawMessage   `json:"invoice"`
	Subscription      json.RawMessage   `json:"subscription"`
	Customer          json.RawMessage   `json:"customer"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
	CustomerEmail     string            `json:"customer_email"`
	CustomerDetails   *struct {
		Email string `json:"email"`
	} `json:"customer_details"`
	AmountTotal  *json.Number `json:"amount_total"`
	Currency     string       `json:"currency"`
	TotalDetails *struct {
		AmountTax      *json.Number `json:"amount_tax"`
		AmountDiscount *json.Number `json:"amount_discount"`
	} `json:"total_details"`
	Discounts []struct {
		Coupon        json.RawMessage `json:"coupon"`
		PromotionCode json.RawMessage `json:"promotion_code"`
	} `json:"discounts"`
}

type stripeAmount struct {
	Amount *json.Number `json:"amount"`
}

type stripeInvoice struct {
	ID                   string            `json:"id"`
	BillingReason        string            `json:"billing_reason"`
	Currency             string            `json:"currency"`
	AmountPaid           *json.Number      `json:"amount_paid"`
	Tax                  *json.Number      `json:"tax"`         // before basil
	TotalTaxes           []stripeAmount    `json:"total_taxes"` // basil
	TotalDiscountAmounts []stripeAmount    `json:"total_discount_amounts"`
	CustomerEmail        string            `json:"customer_email"`
	Customer             json.RawMessage   `json:"customer"`
	Subscription         json.RawMessage   `json:"subscription"`   // before basil
	PaymentIntent        json.RawMessage   `json:"payment_intent"` // before basil
	Charge               json.RawMessage   `json:"charge"`         // before basil
	Metadata             map[string]string `json:"metadata"`
	SubscriptionDetails  *struct {
		Metadata map[string]string `json:"metadata"`
	} `json:"subscription_details"` // before basil
	Parent *struct {
		SubscriptionDetails *struct {
			Metadata     map[string]string `json:"metadata"`
			Subscription json.RawMessage   `json:"subscription"`
		} `json:"subscription_details"`
	} `json:"parent"` // basil
	Lines struct {
		Data []struct {
			Description string `json:"description"`
			Price       *struct {
				Product json.RawMessage `json:"product"`
			} `json:"price"`
			Pricing *struct {
				PriceDetails *struct {
					Product json.RawMessage `json:"product"`
				} `json:"price_details"`
			} `json:"pricing"`
		} `json:"data"`
	} `json:"lines"`
}

type stripeCharge struct {
	ID             string            `json:"id"`
	Amount         *json.Number      `json:"amount"`
	AmountRefunded *json.Number      `json:"amount_refunded"`
	Currency       string            `json:"currency"`
	PaymentIntent  json.RawMessage   `json:"payment_intent"`
	Invoice        json.RawMessage   `json:"invoice"` // before basil
	Customer       json.RawMessage   `json:"customer"`
	Metadata       map[string]string `json:"metadata"`
	ReceiptEmail   string            `json:"receipt_email"`
	BillingDetails *struct {
		Email string `json:"email"`
	} `json:"billing_details"`
}

type stripeInvoicePayment struct {
	Invoice  json.RawMessage `json:"invoice"`
	Currency string          `json:"currency"`
	Payment  *struct {
		PaymentIntent json.RawMessage `json:"payment_intent"`
		Charge        json.RawMessage `json:"charge"`
	} `json:"payment"`
}

type stripeDispute struct {
	ID            string          `json:"id"`
	Amount        *json.Number    `json:"amount"`
	Currency      string          `json:"currency"`
	Status        string          `json:"status"`
	Charge        json.RawMessage `json:"charge"`
	PaymentIntent json.RawMessage `json:"payment_intent"`
}

// ParseStripe parses a Stripe event.
//
//   - checkout.session.completed and checkout.session.async_payment_succeeded
//     are sales once payment_status is paid (or no_payment_required, which
//     records the attribution of a free trial or a 100% coupon at zero).
//     Gross is amount_total, Tax total_details.amount_tax; Stripe's fee is
//     only on the balance transaction, so Net = Gross − Tax.
//   - invoice.paid with billing_reason subscription_cycle or
//     subscription_update is a renewal; subscription_create is ignored
//     (the checkout session counted it).
//   - charge.refunded is a refund with RefundCumulative = amount_refunded.
//   - charge.dispute.created (unless it is an inquiry, status warning_…)
//     and charge.dispute.funds_withdrawn are chargebacks;
//     charge.dispute.closed with status won and
//     charge.dispute.funds_reinstated reverse them. RefundID is the
//     dispute id, so the two events of one dispute apply once.
//   - invoice_payment.paid (API versions from 2025-03-31) is a link: OrderID
//     is the invoice, OrderRefs its payment intent and charge.
//
// OrderID is the payment_intent when the object has one, else the invoice,
// else the object's own id; OrderRefs lists the other ids present. A
// one-off payment's session, charge and dispute all carry its
// payment_intent. A subscription's session and invoices carry only the
// invoice, which charges name only before API version 2025-03-31 (basil):
// with later versions, refunds and disputes of subscription payments find
// their sale through invoice_payment.paid, which the endpoint must send.
//
// Referral is metadata["referral"] when set, else client_reference_id.
// Amounts are converted to ISO minor units where Stripe counts otherwise
// (ISK and UGX ×100 in Stripe, MGA whole units).
func ParseStripe(body []byte) (Event, error) {
	var env stripeEnvelope
	if err := decodeJSON(Stripe, "", body, &env); err != nil {
		return Event{}, err
	}
	if env.Type == "" {
		return Event{}, malformed(Stripe, "type", "missing")
	}
	var parse func(Event, json.RawMessage) (Event, error)
	switch env.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		parse = parseStripeSession
	case "invoice.paid":
		parse = parseStripeInvoice
	case "charge.refunded":
		parse = parseStripeCharge
	case "invoice_payment.paid":
		parse = parseStripeInvoicePayment
	case "charge.dispute.created", "charge.dispute.funds_withdrawn",
		"charge.dispute.closed", "charge.dispute.funds_reinstated":
		parse = parseStripeDispute
	default:
		return Event{}, ignored(Stripe, env.Type, "not a payment, refund or dispute event we use")
	}
	ev := Event{Platform: Stripe, EventID: env.ID, EventType: env.Type, Test: !env.Livemode}
	if ev.EventID == "" {
		return Event{}, malformed(Stripe, "id", "missing")
	}
	if env.Created == nil {
		return Event{}, malformed(Stripe, "created", "missing")
	}
	sec, ok := intDigits(env.Created.String())
	if !ok || sec < 0 || sec > 1<<40 {
		return Event{}, malformed(Stripe, "created", "%s is not unix seconds", clip(env.Created.String()))
	}
	ev.OccurredAt = time.Unix(sec, 0).UTC()
	if env.Data == nil || len(env.Data.Object) == 0 || string(env.Data.Object) == "null" {
		return Event{}, malformed(Stripe, "data.object", "missing")
	}
	return parse(ev, env.Data.Object)
}

func parseStripeSession(ev Event, raw json.RawMessage) (Event, error) {
	var s stripeSession
	if err := decodeJSON(Stripe, "data.object", raw, &s); err != nil {
		return Event{}, err
	}
	if s.Mode == "setup" {
		return Event{}, ignored(Stripe, ev.EventType, "setup session takes no payment")
	}
	if s.PaymentStatus != "paid" && s.PaymentStatus != "no_payment_required" {
		return Event{}, ignored(Stripe, ev.EventType, fmt.Sprintf("payment_status %q is not paid yet", clip(s.PaymentStatus)))
	}
	ev.Kind = KindSale
	var err error
	if ev.Currency, err = currencyCode(Stripe, "data.object.currency", s.Currency); err != nil {
		return Event{}, err
	}
	if s.ID == "" {
		return Event{}, malformed(Stripe, "data.object.id", "missing")
	}
	setStripeOrder(&ev, stripeID(s.PaymentIntent), stripeID(s.Invoice), s.ID)
	if ev.Gross, err = stripeMinor("data.object.amount_total", s.AmountTotal, ev.Currency, true); err != nil {
		return Event{}, err
	}
	if td := s.TotalDetails; td != nil {
		if ev.Tax, err = stripeMinor("data.object.total_details.amount_tax", td.AmountTax, ev.Currency, false); err != nil {
			return Event{}, err
		}
		if ev.Discount, err = stripeMinor("data.object.total_details.amount_discount", td.AmountDiscount, ev.Currency, false); err != nil {
			return Event{}, err
		}
	}
	ev.Net = ev.Gross - ev.Tax
	ev.SubscriptionID = stripeID(s.Subscription)
	ev.CustomerID = stripeID(s.Customer)
	ev.CustomerEmail = s.CustomerEmail
	if s.CustomerDetails != nil && s.CustomerDetails.Email != "" {
		ev.CustomerEmail = s.CustomerDetails.Email
	}
	ev.Referral = cleanReferral(s.Metadata["referral"])
	if ev.Referral == "" {
		ev.Referral = cleanReferral(s.ClientReferenceID)
	}
	if len(s.Discounts) > 0 {
		ev.Coupon = stripeID(s.Discounts[0].PromotionCode)
		if ev.Coupon == "" {
			ev.Coupon = stripeID(s.Discounts[0].Coupon)
		}
	}
	return finish(ev)
}

func parseStripeInvoice(ev Event, raw json.RawMessage) (Event, error) {
	var in stripeInvoice
	if err := decodeJSON(Stripe, "data.object", raw, &in); err != nil {
		return Event{}, err
	}
	switch in.BillingReason {
	case "subscription_cycle", "subscription_update":
		ev.Kind = KindRenewal
	default:
		return Event{}, ignored(Stripe, ev.EventType, fmt.Sprintf("billing_reason %q is not a renewal", clip(in.BillingReason)))
	}
	var err error
	if ev.Currency, err = currencyCode(Stripe, "data.object.currency", in.Currency); err != nil {
		return Event{}, err
	}
	if in.ID == "" {
		return Event{}, malformed(Stripe, "data.object.id", "missing")
	}
	setStripeOrder(&ev, stripeID(in.PaymentIntent), in.ID, stripeID(in.Charge))
	if ev.Gross, err = stripeMinor("data.object.amount_paid", in.AmountPaid, ev.Currency, true); err != nil {
		return Event{}, err
	}
	if ev.Tax, err = stripeMinor("data.object.tax", in.Tax, ev.Currency, false); err != nil {
		return Event{}, err
	}
	if ev.Tax == 0 {
		if ev.Tax, err = stripeSum("data.object.total_taxes", in.TotalTaxes, ev.Currency); err != nil {
			return Event{}, err
		}
	}
	if ev.Discount, err = stripeSum("data.object.total_discount_amounts", in.TotalDiscountAmounts, ev.Currency); err != nil {
		return Event{}, err
	}
	ev.Net = ev.Gross - ev.Tax
	ev.CustomerID = stripeID(in.Customer)
	ev.CustomerEmail = in.CustomerEmail
	ev.SubscriptionID = stripeID(in.Subscription)
	ev.Referral = cleanReferral(in.Metadata["referral"])
	if sd := in.SubscriptionDetails; sd != nil && ev.Referral == "" {
		ev.Referral = cleanReferral(sd.Metadata["referral"])
	}
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil {
		sd := in.Parent.SubscriptionDetails
		if ev.SubscriptionID == "" {
			ev.SubscriptionID = stripeID(sd.Subscription)
		}
		if ev.Referral == "" {
			ev.Referral = cleanReferral(sd.Metadata["referral"])
		}
	}
	if len(in.Lines.Data) > 0 {
		l := in.Lines.Data[0]
		ev.ProductName = l.Description
		if l.Price != nil {
			ev.ProductID = stripeID(l.Price.Product)
		}
		if ev.ProductID == "" && l.Pricing != nil && l.Pricing.PriceDetails != nil {
			ev.ProductID = stripeID(l.Pricing.PriceDetails.Product)
		}
	}
	return finish(ev)
}

// parseStripeInvoicePayment reads invoice_payment.paid (API versions from
// 2025-03-31, "basil"): the invoice, and the payment intent and charge that
// paid it. Invoices of those versions name neither, while refunds and
// disputes name only them, so this event is what lets a refund of a
// subscription payment find its sale. An out-of-band payment names
// nothing a refund could carry: ignored.
func parseStripeInvoicePayment(ev Event, raw json.RawMessage) (Event, error) {
	var p stripeInvoicePayment
	if err := decodeJSON(Stripe, "data.object", raw, &p); err != nil {
		return Event{}, err
	}
	invoice := stripeID(p.Invoice)
	if invoice == "" {
		return Event{}, malformed(Stripe, "data.object.invoice", "missing")
	}
	var intent, charge string
	if p.Payment != nil {
		intent, charge = stripeID(p.Payment.PaymentIntent), stripeID(p.Payment.Charge)
	}
	if intent == "" && charge == "" {
		return Event{}, ignored(Stripe, ev.EventType, "the payment names no payment intent or charge")
	}
	ev.Kind = KindLink
	var err error
	if ev.Currency, err = currencyCode(Stripe, "data.object.currency", p.Currency); err != nil {
		return Event{}, err
	}
	setStripeOrder(&ev, invoice, intent, charge)
	return finish(ev)
}

func parseStripeCharge(ev Event, raw json.RawMessage) (Event, error) {
	var c stripeCharge
	if err := decodeJSON(Stripe, "data.object", raw, &c); err != nil {
		return Event{}, err
	}
	ev.Kind = KindRefund
	var err error
	if ev.Currency, err = currencyCode(Stripe, "data.object.currency", c.Currency); err != nil {
		return Event{}, err
	}
	if c.ID == "" {
		return Event{}, malformed(Stripe, "data.object.id", "missing")
	}
	setStripeOrder(&ev, stripeID(c.PaymentIntent), stripeID(c.Invoice), c.ID)
	if ev.Gross, err = stripeMinor("data.object.amount", c.Amount, ev.Currency, true); err != nil {
		return Event{}, err
	}
	ev.Net = ev.Gross
	if ev.RefundCumulative, err = stripeMinor("data.object.amount_refunded", c.AmountRefunded, ev.Currency, true); err != nil {
		return Event{}, err
	}
	ev.CustomerID = stripeID(c.Customer)
	ev.CustomerEmail = c.ReceiptEmail
	if c.BillingDetails != nil && c.BillingDetails.Email != "" {
		ev.CustomerEmail = c.BillingDetails.Email
	}
	ev.Referral = cleanReferral(c.Metadata["referral"])
	return finish(ev)
}

func parseStripeDispute(ev Event, raw json.RawMessage) (Event, error) {
	var d stripeDispute
	if err := decodeJSON(Stripe, "data.object", raw, &d); err != nil {
		return Event{}, err
	}
	switch ev.EventType {
	case "charge.dispute.created":
		if strings.HasPrefix(d.Status, "warning_") {
			return Event{}, ignored(Stripe, ev.EventType, "an inquiry: no funds withdrawn")
		}
		ev.Kind = KindChargeback
	case "charge.dispute.funds_withdrawn":
		ev.Kind = KindChargeback
	case "charge.dispute.closed":
		if d.Status != "won" {
			return Event{}, ignored(Stripe, ev.EventType, fmt.Sprintf("dispute closed as %q: nothing to reverse", clip(d.Status)))
		}
		ev.Kind = KindChargebackReversed
	case "charge.dispute.funds_reinstated":
		ev.Kind = KindChargebackReversed
	}
	var err error
	if ev.RefundID, err = required(Stripe, "data.object.id", d.ID); err != nil {
		return Event{}, err
	}
	if ev.Currency, err = currencyCode(Stripe, "data.object.currency", d.Currency); err != nil {
		return Event{}, err
	}
	charge, intent := stripeID(d.Charge), stripeID(d.PaymentIntent)
	if charge == "" && intent == "" {
		return Event{}, malformed(Stripe, "data.object.charge", "missing")
	}
	setStripeOrder(&ev, intent, "", charge)
	if ev.Refund, err = stripeMinor("data.object.amount", d.Amount, ev.Currency, true); err != nil {
		return Event{}, err
	}
	return finish(ev)
}

// setStripeOrder sets OrderID to the first non-empty id of
// payment_intent, invoice, own id, and OrderRefs to the others.
func setStripeOrder(ev *Event, ids ...string) {
	for _, id := range ids {
		switch {
		case id == "":
		case ev.OrderID == "":
			ev.OrderID = id
		default:
			ev.OrderRefs = append(ev.OrderRefs, id)
		}
	}
}

// stripeID reads an expandable field: an id string, or an object with an
// id when the endpoint expands it.
func stripeID(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '{' {
		return jsonID(raw)
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	return o.ID
}

// stripeExponent is the number of decimals Stripe's amounts have where it
// differs from ISO 4217: Stripe counts MGA in whole units, and ISK and UGX
// (zero-decimal in ISO) as if they had two decimals.
func stripeExponent(currency string) int {
	switch currency {
	case "MGA":
		return 0
	case "ISK", "UGX":
		return 2
	}
	return money.Exponent(currency)
}

// stripeMinor reads a Stripe amount and converts it to ISO minor units.
func stripeMinor(field string, n *json.Number, currency string, req bool) (int64, error) {
	v, err := amountNumber(Stripe, field, n, req)
	if err != nil {
		return 0, err
	}
	for d := money.Exponent(currency) - stripeExponent(currency); d != 0; {
		switch {
		case d > 0:
			if v > math.MaxInt64/10 || v < math.MinInt64/10 {
				return 0, malformed(Stripe, field, "%d %s overflows", v, currency)
			}
			v *= 10
			d--
		default:
			if v%10 != 0 {
				return 0, malformed(Stripe, field, "%d is not a whole number of %s", v, currency)
			}
			v /= 10
			d++
		}
	}
	return v, nil
}

// stripeSum adds a list of Stripe amounts (taxes, discounts), refusing
// overflow.
func stripeSum(field string, list []stripeAmount, currency string) (int64, error) {
	var sum int64
	for i, a := range list {
		v, err := stripeMinor(fmt.Sprintf("%s[%d].amount", field, i), a.Amount, currency, false)
		if err != nil {
			return 0, err
		}
		if v < 0 || sum > math.MaxInt64-v {
			return 0, malformed(Stripe, field, "sum is negative or overflows")
		}
		sum += v
	}
	return sum, nil
}
