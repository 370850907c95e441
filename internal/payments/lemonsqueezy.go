package payments

import (
	"encoding/json"
	"fmt"
)

// Lemon Squeezy webhooks: JSON:API documents {meta, data:{type, id,
// attributes}} with amounts as integers in minor units. See verify.go for
// the X-Signature header.

type lsEnvelope struct {
	Meta struct {
		EventName  string          `json:"event_name"`
		TestMode   bool            `json:"test_mode"`
		CustomData json.RawMessage `json:"custom_data"`
	} `json:"meta"`
	Data *struct {
		Type       string          `json:"type"`
		ID         json.RawMessage `json:"id"`
		Attributes json.RawMessage `json:"attributes"`
	} `json:"data"`
}

// lsAttributes covers both orders and subscription invoices; they share
// the money fields.
type lsAttributes struct {
	UserEmail      string          `json:"user_email"`
	CustomerID     json.RawMessage `json:"customer_id"`
	SubscriptionID json.RawMessage `json:"subscription_id"` // invoices
	BillingReason  string          `json:"billing_reason"`  // invoices
	Currency       string          `json:"currency"`
	Status         string          `json:"status"`
	Subtotal       *json.Number    `json:"subtotal"`
	DiscountTotal  *json.Number    `json:"discount_total"`
	Tax            *json.Number    `json:"tax"`
	Total          *json.Number    `json:"total"`
	RefundedAmount *json.Number    `json:"refunded_amount"`
	RefundedAt     string          `json:"refunded_at"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
	FirstOrderItem *struct {
		ProductID   json.RawMessage `json:"product_id"`
		ProductName string          `json:"product_name"`
	} `json:"first_order_item"` // orders
}

// lsInvoicePrefix keeps subscription-invoice ids apart from order ids:
// both are small integers counted separately by Lemon Squeezy, so order
// 1134198 and invoice 1134198 can both exist.
const lsInvoicePrefix = "invoice-"

// ParseLemonSqueezy parses a Lemon Squeezy webhook.
//
//   - order_created is a sale (when the order is paid). Gross is total,
//     Tax tax, Discount discount_total; Lemon Squeezy reports no fees, so
//     Net = total − tax and NetReported is false.
//   - subscription_payment_success with billing_reason renewal or updated
//     is a renewal, its OrderID "invoice-<id>". The initial invoice is
//     ignored: order_created already counted that payment.
//   - order_refunded and subscription_payment_refunded (non-initial) are
//     refunds with RefundCumulative = refunded_amount, the running total.
//   - Everything else (subscription_created, license keys, …) is ignored.
//
// Lemon Squeezy sends no event id; EventID is "<event>:<object id>", plus
// ":<refunded_amount>" for refunds, so a redelivery gets the same id and
// each partial refund a new one.
func ParseLemonSqueezy(body []byte) (Event, error) {
	var env lsEnvelope
	if err := decodeJSON(LemonSqueezy, "", body, &env); err != nil {
		return Event{}, err
	}
	name := env.Meta.EventName
	if name == "" {
		return Event{}, malformed(LemonSqueezy, "meta.event_name", "missing")
	}
	ev := Event{Platform: LemonSqueezy, EventType: name, Test: env.Meta.TestMode}
	wantType := "orders"
	switch name {
	case "order_created":
		ev.Kind = KindSale
	case "order_refunded":
		ev.Kind = KindRefund
	case "subscription_payment_success":
		ev.Kind = KindRenewal
		wantType = "subscription-invoices"
	case "subscription_payment_refunded":
		ev.Kind = KindRefund
		wantType = "subscription-invoices"
	default:
		return Event{}, ignored(LemonSqueezy, name, "not an order or a subscription payment")
	}
	if env.Data == nil {
		return Event{}, malformed(LemonSqueezy, "data", "missing")
	}
	if env.Data.Type != wantType {
		return Event{}, malformed(LemonSqueezy, "data.type", "%q, want %q for %s", clip(env.Data.Type), wantType, name)
	}
	id := jsonID(env.Data.ID)
	if id == "" {
		return Event{}, malformed(LemonSqueezy, "data.id", "missing")
	}
	var a lsAttributes
	if len(env.Data.Attributes) == 0 {
		return Event{}, malformed(LemonSqueezy, "data.attributes", "missing")
	}
	if err := decodeJSON(LemonSqueezy, "data.attributes", env.Data.Attributes, &a); err != nil {
		return Event{}, err
	}

	var err error
	ev.OrderID = id
	if wantType == "subscription-invoices" {
		ev.OrderID = lsInvoicePrefix + id
		ev.SubscriptionID = jsonID(a.SubscriptionID)
		if a.BillingReason == "" {
			return Event{}, malformed(LemonSqueezy, "data.attributes.billing_reason", "missing")
		}
		if a.BillingReason == "initial" {
			return Event{}, ignored(LemonSqueezy, name, "initial subscription payment: order_created and order_refunded cover it")
		}
	}
	if ev.Kind == KindSale && a.Status != "paid" && a.Status != "refunded" && a.Status != "partial_refund" {
		return Event{}, ignored(LemonSqueezy, name, fmt.Sprintf("order status %q is not paid", clip(a.Status)))
	}
	if ev.Currency, err = currencyCode(LemonSqueezy, "data.attributes.currency", a.Currency); err != nil {
		return Event{}, err
	}
	num := func(field string, n *json.Number, req bool) (int64, error) {
		return amountNumber(LemonSqueezy, "data.attributes."+field, n, req)
	}
	if ev.Gross, err = num("total", a.Total, true); err != nil {
		return Event{}, err
	}
	if ev.Tax, err = num("tax", a.Tax, false); err != nil {
		return Event{}, err
	}
	if ev.Discount, err = num("discount_total", a.DiscountTotal, false); err != nil {
		return Event{}, err
	}
	ev.Net = ev.Gross - ev.Tax

	when := a.CreatedAt
	ev.EventID = name + ":" + id
	if ev.Kind == KindRefund {
		if ev.RefundCumulative, err = num("refunded_amount", a.RefundedAmount, true); err != nil {
			return Event{}, err
		}
		ev.EventID += fmt.Sprintf(":%d", ev.RefundCumulative)
		when = a.RefundedAt
		if when == "" {
			when = a.UpdatedAt
		}
	}
	field := "data.attributes.created_at"
	if ev.Kind == KindRefund {
		field = "data.attributes.refunded_at"
	}
	if ev.OccurredAt, err = timeRFC3339(LemonSqueezy, field, when); err != nil {
		return Event{}, err
	}

	ev.CustomerEmail = a.UserEmail
	ev.CustomerID = jsonID(a.CustomerID)
	if a.FirstOrderItem != nil {
		ev.ProductID = jsonID(a.FirstOrderItem.ProductID)
		ev.ProductName = a.FirstOrderItem.ProductName
	}
	ev.Referral = referralFromJSON(env.Meta.CustomData)
	return finish(ev)
}
