package paymentstest

import (
	"crypto/rsa"
	"net/url"
	"strconv"
	"time"

	"affiliated/internal/money"
	"affiliated/internal/payments"
)

// PaddleSale returns a Paddle Billing transaction.completed notification:
// origin web, or subscription_recurring when s.Renewal. custom_data holds
// the referral. Net (earnings) is Amount − Tax − Fee.
func PaddleSale(s Sale) []byte {
	origin := "web"
	if s.Renewal {
		origin = "subscription_recurring"
	}
	cur := s.currency()
	a := func(v int64) string { return strconv.FormatInt(v, 10) }
	subtotal := s.Amount - s.Tax + s.Discount
	totals := obj{
		"subtotal": a(subtotal), "discount": a(s.Discount), "tax": a(s.Tax),
		"total": a(s.Amount), "grand_total": a(s.Amount), "credit": "0", "balance": "0",
		"credit_to_balance": "0", "fee": a(s.Fee), "earnings": a(s.Amount - s.Tax - s.Fee),
		"currency_code": cur, "grand_total_tax": a(s.Tax),
	}
	var custom any
	if s.Referral != "" {
		custom = obj{"referral": s.Referral}
	}
	productID := id(s.ProductID, "pro_", s.OrderID)
	return mustJSON(obj{
		"event_id":        id(s.EventID, "evt_", s.OrderID),
		"event_type":      "transaction.completed",
		"occurred_at":     s.at().Format(time.RFC3339Nano),
		"notification_id": id("", "ntf_", s.OrderID),
		"data": obj{
			"id":     s.OrderID,
			"status": "completed",
			"origin": origin,
			"items": []any{obj{
				"price":    obj{"id": id("", "pri_", productID), "product_id": productID, "unit_price": obj{"amount": a(subtotal), "currency_code": cur}},
				"quantity": 1, "proration": nil,
			}},
			"details": obj{
				"totals": totals,
				"line_items": []any{obj{
					"id": id("", "txnitm_", s.OrderID), "quantity": 1,
					"totals":  obj{"subtotal": a(subtotal), "discount": a(s.Discount), "tax": a(s.Tax), "total": a(s.Amount)},
					"product": obj{"id": productID, "name": s.ProductName, "status": "active", "custom_data": nil},
				}},
				"payout_totals": totals,
			},
			"currency_code":   cur,
			"customer_id":     id("", "ctm_", s.Email),
			"subscription_id": orNull(s.SubscriptionID),
			"discount_id":     orNull(s.Coupon),
			"custom_data":     custom,
			"collection_mode": "automatic",
			"billed_at":       s.at().Format(time.RFC3339Nano),
			"created_at":      s.at().Add(-time.Minute).Format(time.RFC3339Nano),
			"updated_at":      s.at().Format(time.RFC3339Nano),
		},
	})
}

// PaddleRefund returns an approved adjustment.updated refund of r.Amount.
func PaddleRefund(s Sale, r Refund) []byte { return paddleAdjustment(s, r, "refund") }

// PaddleChargeback returns an approved adjustment.created chargeback of
// r.Amount.
func PaddleChargeback(s Sale, r Refund) []byte { return paddleAdjustment(s, r, "chargeback") }

func paddleAdjustment(s Sale, r Refund, action string) []byte {
	eventType, typ := "adjustment.updated", "partial"
	if action == "chargeback" {
		eventType = "adjustment.created"
	}
	if r.Amount == s.Amount {
		typ = "full"
	}
	a := func(v int64) string { return strconv.FormatInt(v, 10) }
	adjID := id(r.ID, "adj_", s.OrderID+strconv.FormatInt(r.Amount, 10)+action)
	totals := obj{
		"subtotal": a(r.Amount - r.Tax), "tax": a(r.Tax), "total": a(r.Amount),
		"fee": "0", "earnings": a(r.Amount - r.Tax), "currency_code": s.currency(), "retained_fee": "0",
	}
	return mustJSON(obj{
		"event_id":        id("", "evt_", adjID),
		"event_type":      eventType,
		"occurred_at":     r.at().Format(time.RFC3339Nano),
		"notification_id": id("", "ntf_", adjID),
		"data": obj{
			"id": adjID, "action": action, "type": typ, "status": "approved", "reason": "requested",
			"transaction_id": s.OrderID, "subscription_id": orNull(s.SubscriptionID),
			"customer_id": id("", "ctm_", s.Email), "currency_code": s.currency(),
			"items": []any{obj{
				"id": id("", "adjitm_", adjID), "type": typ, "amount": a(r.Amount), "item_id": id("", "txnitm_", s.OrderID),
				"totals": obj{"subtotal": a(r.Amount - r.Tax), "tax": a(r.Tax), "total": a(r.Amount)},
			}},
			"totals": totals, "payout_totals": totals,
			"created_at": r.at().Format(time.RFC3339Nano), "updated_at": r.at().Format(time.RFC3339Nano),
		},
	})
}

// PaddleClassicSale returns a Paddle Classic payment_succeeded form body,
// or subscription_payment_succeeded when s.SubscriptionID is set
// (initial_payment=0 when s.Renewal). passthrough is {"referral": …}.
// With a key the form is signed (p_signature); with nil it is not.
func PaddleClassicSale(s Sale, key *rsa.PrivateKey) []byte {
	cur := s.currency()
	f := paddleClassicCommon(s, s.EventID, s.at())
	f.Set("sale_gross", money.FormatMajor(s.Amount, cur))
	f.Set("payment_tax", money.FormatMajor(s.Tax, cur))
	f.Set("fee", money.FormatMajor(s.Fee, cur))
	f.Set("earnings", money.FormatMajor(s.Amount-s.Tax-s.Fee, cur))
	f.Set("coupon", s.Coupon)
	f.Set("customer_name", "Test Buyer")
	f.Set("payment_method", "card")
	f.Set("quantity", "1")
	f.Set("receipt_url", "https://my.paddle.com/receipt/"+s.OrderID+"/0")
	if s.SubscriptionID == "" {
		f.Set("alert_name", "payment_succeeded")
		f.Set("product_id", id(s.ProductID, "", s.OrderID+"1"))
		f.Set("product_name", s.ProductName)
	} else {
		f.Set("alert_name", "subscription_payment_succeeded")
		f.Set("subscription_plan_id", id(s.ProductID, "", s.OrderID+"1"))
		f.Set("plan_name", s.ProductName)
		f.Set("initial_payment", "1")
		if s.Renewal {
			f.Set("initial_payment", "0")
		}
		f.Set("status", "active")
	}
	return paddleClassicEncode(f, key)
}

// PaddleClassicRefund returns a payment_refunded form body refunding
// r.Amount (subscription_payment_refunded when s.SubscriptionID is set).
func PaddleClassicRefund(s Sale, r Refund, key *rsa.PrivateKey) []byte {
	cur := s.currency()
	f := paddleClassicCommon(s, r.ID, r.at())
	f.Set("alert_name", "payment_refunded")
	if s.SubscriptionID != "" {
		f.Set("alert_name", "subscription_payment_refunded")
	}
	typ := "partial"
	if r.Amount == s.Amount {
		typ = "full"
	}
	f.Set("refund_type", typ)
	f.Set("amount", money.FormatMajor(r.Amount, cur))
	f.Set("gross_refund", money.FormatMajor(r.Amount, cur))
	f.Set("tax_refund", money.FormatMajor(r.Tax, cur))
	f.Set("fee_refund", "0")
	f.Set("earnings_decrease", money.FormatMajor(r.Amount-r.Tax, cur))
	f.Set("refund_reason", "requested")
	f.Set("quantity", "1")
	return paddleClassicEncode(f, key)
}

// PaddleClassicChargeback returns a payment_dispute_created form body.
func PaddleClassicChargeback(s Sale, r Refund, key *rsa.PrivateKey) []byte {
	f := paddleClassicCommon(s, r.ID, r.at())
	f.Set("alert_name", "payment_dispute_created")
	f.Set("amount", money.FormatMajor(r.Amount, s.currency()))
	f.Set("fee_usd", "15.00")
	f.Set("status", "open")
	return paddleClassicEncode(f, key)
}

func paddleClassicCommon(s Sale, alertID string, at time.Time) url.Values {
	f := url.Values{}
	f.Set("alert_id", id(alertID, "", strconv.FormatInt(at.UnixNano(), 10)+s.OrderID))
	f.Set("order_id", s.OrderID)
	f.Set("checkout_id", id("", "chk-", s.OrderID))
	f.Set("currency", s.currency())
	f.Set("balance_currency", s.currency())
	f.Set("email", s.Email)
	f.Set("event_time", at.Format(time.DateTime))
	f.Set("marketing_consent", "0")
	if s.Referral != "" {
		f.Set("passthrough", `{"referral":"`+s.Referral+`"}`)
	}
	if s.SubscriptionID != "" {
		f.Set("subscription_id", s.SubscriptionID)
		f.Set("user_id", id("", "", s.Email+"1"))
	}
	return f
}

func paddleClassicEncode(f url.Values, key *rsa.PrivateKey) []byte {
	if key != nil {
		f = payments.SignPaddleClassic(f, key)
	}
	return []byte(f.Encode())
}
