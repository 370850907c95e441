package paymentstest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/money"
)

// lsTime is Lemon Squeezy's timestamp layout.
const lsTime = "2006-01-02T15:04:05.000000Z"

// LemonSqueezySale returns an order_created webhook, or, when s.Renewal,
// a subscription_payment_success with billing_reason renewal whose data.id
// is s.OrderID (the parser reports OrderID "invoice-<OrderID>").
// meta.custom_data holds the referral.
func LemonSqueezySale(s Sale) []byte {
	if s.Renewal {
		return lsInvoice(s, "subscription_payment_success", 0, s.at())
	}
	return lsOrder(s, "order_created", 0, s.at())
}

// LemonSqueezyRefund returns order_refunded (or, for a renewal Sale,
// subscription_payment_refunded) with refunded_amount = r.Amount, the
// running total refunded.
func LemonSqueezyRefund(s Sale, r Refund) []byte {
	if s.Renewal {
		return lsInvoice(s, "subscription_payment_refunded", r.Amount, r.at())
	}
	return lsOrder(s, "order_refunded", r.Amount, r.at())
}

func lsMeta(s Sale, event string) obj {
	meta := obj{"event_name": event, "test_mode": s.Test, "webhook_id": id("", "wh-", event+s.OrderID)}
	if s.Referral != "" {
		meta["custom_data"] = obj{"referral": s.Referral}
	}
	return meta
}

func lsAmounts(s Sale, refunded int64, refundedAt time.Time, a obj) obj {
	status, refundedAtV := "paid", any(nil)
	if refunded > 0 {
		status, refundedAtV = "partial_refund", refundedAt.Format(lsTime)
		if refunded >= s.Amount {
			status = "refunded"
		}
	}
	cur := s.currency()
	fields := obj{
		"currency": cur, "currency_rate": "1.00000000", "status": status, "refunded": status == "refunded",
		"refunded_at": refundedAtV, "subtotal": s.Amount - s.Tax + s.Discount, "discount_total": s.Discount,
		"tax": s.Tax, "total": s.Amount, "refunded_amount": refunded, "tax_inclusive": false,
		"total_formatted": money.Format(money.Money{Amount: s.Amount, Currency: cur}),
		"user_email":      s.Email, "user_name": "Test Buyer", "customer_id": 3311789, "store_id": 91257,
		"created_at": s.at().Format(lsTime), "updated_at": orDefault(refundedAt).Format(lsTime), "test_mode": s.Test,
	}
	for k, v := range fields {
		a[k] = v
	}
	return a
}

func lsOrder(s Sale, event string, refunded int64, at time.Time) []byte {
	product := id(s.ProductID, "", s.OrderID+"7")
	productID, err := strconv.ParseInt(product, 10, 64)
	var productJSON any = product
	if err == nil {
		productJSON = productID // Lemon Squeezy sends numeric ids as numbers
	}
	attrs := lsAmounts(s, refunded, at, obj{
		"identifier": id("", "", s.OrderID+"-uuid"), "order_number": s.OrderID,
		"first_order_item": obj{"product_id": productJSON, "variant_id": 1, "product_name": s.ProductName, "variant_name": "Default", "price": s.Amount - s.Tax, "quantity": 1},
	})
	return mustJSON(obj{
		"meta": lsMeta(s, event),
		"data": obj{"type": "orders", "id": s.OrderID, "attributes": attrs,
			"links": obj{"self": "https://api.lemonsqueezy.com/v1/orders/" + s.OrderID}},
	})
}

func lsInvoice(s Sale, event string, refunded int64, at time.Time) []byte {
	attrs := lsAmounts(s, refunded, at, obj{
		"subscription_id": s.SubscriptionID, "billing_reason": "renewal", "card_brand": "visa", "card_last_four": "4242",
	})
	return mustJSON(obj{
		"meta": lsMeta(s, event),
		"data": obj{"type": "subscription-invoices", "id": s.OrderID, "attributes": attrs,
			"links": obj{"self": "https://api.lemonsqueezy.com/v1/subscription-invoices/" + s.OrderID}},
	})
}

// stripeAmount converts ISO minor units to Stripe's (ISK and UGX ×100,
// MGA whole units), the inverse of what the parser does.
func stripeAmount(v int64, currency string) int64 {
	switch currency {
	case "ISK", "UGX":
		return v * 100
	case "MGA":
		return v / 100
	}
	return v
}

func stripeEnvelope(eventID, typ string, at time.Time, live bool, object obj) []byte {
	return mustJSON(obj{
		"id": eventID, "object": "event", "api_version": "2024-06-20", "created": at.Unix(),
		"livemode": live, "pending_webhooks": 1, "request": obj{"id": nil, "idempotency_key": nil},
		"type": typ, "data": obj{"object": object},
	})
}

// StripeSale returns checkout.session.completed (payment mode, paid) with
// payment_intent s.OrderID and client_reference_id s.Referral, or, when
// s.Renewal, invoice.paid with billing_reason subscription_cycle whose
// payment_intent is s.OrderID and whose subscription metadata holds the
// referral.
func StripeSale(s Sale) []byte {
	cur := s.currency()
	amt := func(v int64) int64 { return stripeAmount(v, cur) }
	if s.Renewal {
		inv := id("", "in_", s.OrderID)
		return stripeEnvelope(id(s.EventID, "evt_", s.OrderID), "invoice.paid", s.at(), !s.Test, obj{
			"id": inv, "object": "invoice", "billing_reason": "subscription_cycle", "status": "paid", "paid": true,
			"currency": strings.ToLower(cur), "amount_due": amt(s.Amount), "amount_paid": amt(s.Amount),
			"subtotal": amt(s.Amount - s.Tax + s.Discount), "tax": amt(s.Tax), "total": amt(s.Amount),
			"total_discount_amounts": []any{obj{"amount": amt(s.Discount), "discount": "di_test"}},
			"customer":               id("", "cus_", s.Email), "customer_email": s.Email,
			"subscription": s.SubscriptionID, "payment_intent": s.OrderID, "charge": id("", "ch_", s.OrderID),
			"subscription_details": obj{"metadata": obj{"referral": s.Referral}},
			"metadata":             obj{},
			"lines": obj{"object": "list", "has_more": false, "data": []any{obj{
				"id": id("", "il_", s.OrderID), "object": "line_item", "amount": amt(s.Amount - s.Tax),
				"currency": strings.ToLower(cur), "description": s.ProductName, "quantity": 1,
				"price": obj{"id": id("", "price_", s.ProductID), "product": orNull(s.ProductID)},
			}}},
		})
	}
	var discounts []any
	if s.Coupon != "" {
		discounts = []any{obj{"coupon": nil, "promotion_code": s.Coupon}}
	}
	mode, intent := "payment", any(s.OrderID)
	if s.Invoice != "" {
		mode, intent = "subscription", nil
	}
	return stripeEnvelope(id(s.EventID, "evt_", s.OrderID), "checkout.session.completed", s.at(), !s.Test, obj{
		"id": id("", "cs_test_", s.OrderID), "object": "checkout.session", "mode": mode,
		"status": "complete", "payment_status": "paid", "payment_intent": intent,
		"currency": strings.ToLower(cur), "amount_subtotal": amt(s.Amount - s.Tax + s.Discount), "amount_total": amt(s.Amount),
		"total_details":       obj{"amount_discount": amt(s.Discount), "amount_shipping": 0, "amount_tax": amt(s.Tax)},
		"client_reference_id": orNull(s.Referral), "metadata": obj{},
		"customer": id("", "cus_", s.Email), "customer_email": nil,
		"customer_details": obj{"email": s.Email, "name": "Test Buyer"},
		"discounts":        discounts, "subscription": orNull(s.SubscriptionID), "invoice": orNull(s.Invoice),
		"created": s.at().Add(-time.Minute).Unix(), "livemode": !s.Test,
	})
}

// StripeInvoicePayment returns invoice_payment.paid (API versions from
// 2025-03-31) tying s.Invoice to the payment intent s.OrderID and its
// charge, the ids StripeRefund and StripeChargeback name.
func StripeInvoicePayment(s Sale) []byte {
	cur := s.currency()
	return stripeEnvelope(id("", "evt_", "ip"+s.OrderID), "invoice_payment.paid", s.at(), !s.Test, obj{
		"id": id("", "inpay_", s.OrderID), "object": "invoice_payment", "invoice": s.Invoice, "is_default": true,
		"amount_paid": stripeAmount(s.Amount, cur), "amount_requested": stripeAmount(s.Amount, cur),
		"currency": strings.ToLower(cur), "status": "paid", "livemode": !s.Test,
		"payment": obj{"type": "payment_intent", "payment_intent": s.OrderID, "charge": id("", "ch_", s.OrderID)},
	})
}

// StripeRefund returns charge.refunded for the charge of s.OrderID with
// amount_refunded = r.Amount, the running total refunded.
func StripeRefund(s Sale, r Refund) []byte {
	cur := s.currency()
	charge := id("", "ch_", s.OrderID)
	return stripeEnvelope(id("", "evt_", charge+strconv.FormatInt(r.Amount, 10)), "charge.refunded", r.at(), !s.Test, obj{
		"id": charge, "object": "charge", "amount": stripeAmount(s.Amount, cur), "amount_captured": stripeAmount(s.Amount, cur),
		"amount_refunded": stripeAmount(r.Amount, cur), "refunded": r.Amount >= s.Amount, "captured": true, "paid": true,
		"currency": strings.ToLower(cur), "payment_intent": s.OrderID, "customer": id("", "cus_", s.Email),
		"receipt_email": s.Email, "billing_details": obj{"email": s.Email}, "metadata": obj{}, "status": "succeeded",
		"refunds": obj{"object": "list", "has_more": false, "data": []any{obj{
			"id": id(r.ID, "re_", charge+strconv.FormatInt(r.Amount, 10)), "object": "refund", "charge": charge, "status": "succeeded",
		}}},
	})
}

// StripeChargeback returns charge.dispute.created (status needs_response)
// for r.Amount against the charge of s.OrderID.
func StripeChargeback(s Sale, r Refund) []byte {
	cur := s.currency()
	dispute := id(r.ID, "dp_", s.OrderID)
	return stripeEnvelope(id("", "evt_", dispute), "charge.dispute.created", r.at(), !s.Test, obj{
		"id": dispute, "object": "dispute", "amount": stripeAmount(r.Amount, cur), "currency": strings.ToLower(cur),
		"charge": id("", "ch_", s.OrderID), "payment_intent": s.OrderID, "reason": "fraudulent",
		"status": "needs_response", "is_charge_refundable": false, "metadata": obj{},
	})
}

// GumroadSale returns a Gumroad sale ping (form-encoded) with
// url_params[referral]; is_recurring_charge=true when s.Renewal.
func GumroadSale(s Sale) []byte { return gumroadPing(s, "") }

// GumroadRefund returns a refund ping (resource_name=refund,
// refunded=true): Gumroad reports full refunds only.
func GumroadRefund(s Sale) []byte { return gumroadPing(s, "refund") }

// GumroadChargeback returns a dispute ping (resource_name=dispute).
func GumroadChargeback(s Sale) []byte { return gumroadPing(s, "dispute") }

func gumroadPing(s Sale, resource string) []byte {
	f := url.Values{}
	f.Set("seller_id", "c2VsbGVyLXRlc3Q=")
	f.Set("product_id", id(s.ProductID, "", s.OrderID+"p"))
	f.Set("product_name", s.ProductName)
	f.Set("product_permalink", "https://example.gumroad.com/l/test")
	f.Set("email", s.Email)
	f.Set("price", strconv.FormatInt(s.Amount, 10))
	f.Set("gumroad_fee", strconv.FormatInt(s.Fee, 10))
	f.Set("currency", strings.ToLower(s.currency()))
	f.Set("quantity", "1")
	f.Set("sale_id", s.OrderID)
	f.Set("order_number", fmt.Sprint(len(s.OrderID)*7919))
	f.Set("sale_timestamp", s.at().Format(time.RFC3339))
	f.Set("card[visual]", "**** **** **** 4242")
	f.Set("card[type]", "visa")
	f.Set("refunded", strconv.FormatBool(resource == "refund"))
	f.Set("disputed", strconv.FormatBool(resource == "dispute"))
	f.Set("dispute_won", "false")
	f.Set("is_gift_receiver_purchase", "false")
	if s.Referral != "" {
		f.Set("url_params[referral]", s.Referral)
	}
	if s.Coupon != "" {
		f.Set("offer_code", s.Coupon)
	}
	if s.SubscriptionID != "" {
		f.Set("subscription_id", s.SubscriptionID)
		f.Set("recurrence", "monthly")
	}
	if s.Renewal {
		f.Set("is_recurring_charge", "true")
	}
	if s.Test {
		f.Set("test", "true")
	}
	if resource != "" {
		f.Set("resource_name", resource)
	}
	return []byte(f.Encode())
}
