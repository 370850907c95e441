package payments

import (
	"bytes"
	"encoding/json"
	"net/url"
)

// Gumroad pings: application/x-www-form-urlencoded by default (JSON when
// the seller switches it), every value a string, nested values as
// bracketed keys (url_params[referral]). Nothing is signed: the secret
// token in the ping URL is the proof (VerifyGumroadToken).

// ParseGumroad parses a Gumroad ping, form or JSON.
//
//   - A ping without resource_name, or resource_name=sale, is a sale, or a
//     renewal when is_recurring_charge is true. Gross is price (cents),
//     Fee gumroad_fee, Net = price − fee (NetReported); Gumroad reports no
//     tax.
//   - resource_name=refund with refunded=true is a full refund of price.
//     Gumroad sends partial refunds with refunded=false and no amount: they
//     are ignored (an API call would be needed to learn the amount).
//   - resource_name=dispute is a chargeback of price, dispute_won reverses
//     it. Other resources (cancellation, subscription_*) are ignored.
//
// EventID is "<sale_id>:<resource_name>" (Gumroad sends no event id), and
// a refund ping's OccurredAt is the sale's time, the only one it carries.
// Referral comes from url_params[referral], else custom_fields[referral].
func ParseGumroad(body []byte) (Event, error) {
	form, err := gumroadValues(body)
	if err != nil {
		return Event{}, err
	}
	f := form.Get
	resource := f("resource_name")
	if resource == "" {
		resource = "sale"
	}
	ev := Event{Platform: Gumroad, EventType: resource, Test: f("test") == "true"}
	switch resource {
	case "sale":
		ev.Kind = KindSale
		if f("is_recurring_charge") == "true" {
			ev.Kind = KindRenewal
		}
	case "refund":
		if f("refunded") != "true" {
			return Event{}, ignored(Gumroad, resource, "partial refund: Gumroad sends no amount")
		}
		ev.Kind = KindRefund
	case "dispute":
		ev.Kind = KindChargeback
	case "dispute_won":
		ev.Kind = KindChargebackReversed
	default:
		return Event{}, ignored(Gumroad, resource, "resource carries no revenue change")
	}
	if ev.OrderID, err = required(Gumroad, "sale_id", f("sale_id")); err != nil {
		return Event{}, err
	}
	ev.EventID = ev.OrderID + ":" + resource
	if ev.Currency, err = currencyCode(Gumroad, "currency", f("currency")); err != nil {
		return Event{}, err
	}
	if ev.OccurredAt, err = timeRFC3339(Gumroad, "sale_timestamp", f("sale_timestamp")); err != nil {
		return Event{}, err
	}
	price, fee := f("price"), f("gumroad_fee")
	if ev.Gross, err = amountString(Gumroad, "price", &price, true); err != nil {
		return Event{}, err
	}
	if ev.Fee, err = amountString(Gumroad, "gumroad_fee", &fee, false); err != nil {
		return Event{}, err
	}
	ev.Net = ev.Gross - ev.Fee
	ev.NetReported = fee != ""
	if ev.Kind != KindSale && ev.Kind != KindRenewal {
		ev.Refund = ev.Gross
		ev.RefundID = ev.OrderID
	}
	ev.SubscriptionID = f("subscription_id")
	ev.CustomerID = f("purchaser_id")
	ev.CustomerEmail = f("email")
	ev.ProductID = f("product_id")
	ev.ProductName = f("product_name")
	ev.Coupon = f("offer_code")
	ev.Referral = cleanReferral(f("url_params[referral]"))
	if ev.Referral == "" {
		ev.Referral = cleanReferral(f("custom_fields[referral]"))
	}
	return finish(ev)
}

// gumroadValues reads a ping body into form values. A JSON body is
// flattened to the form's shape: top-level scalars by name, one level of
// nested objects as name[key]. Deeper values are not needed and skipped.
func gumroadValues(body []byte) (url.Values, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, malformed(Gumroad, "", "body is not a form: %v", err)
		}
		return form, nil
	}
	var top map[string]json.RawMessage
	if err := decodeJSON(Gumroad, "", trimmed, &top); err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, raw := range top {
		if s, ok := jsonScalar(raw); ok {
			form.Set(k, s)
			continue
		}
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) != nil {
			continue
		}
		for ik, iraw := range inner {
			if s, ok := jsonScalar(iraw); ok {
				form.Set(k+"["+ik+"]", s)
			}
		}
	}
	return form, nil
}

// jsonScalar renders a JSON string, number or boolean as form text.
func jsonScalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	case 't', 'f':
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return "", false
		}
		if b {
			return "true", true
		}
		return "false", true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), true
	}
	return "", false
}
