package payments

import (
	"encoding/json"
	"fmt"
)

// Paddle Billing notifications: a JSON envelope {event_id, event_type,
// occurred_at, notification_id, data}. Amounts are strings of integers in
// minor units. See verify.go for the Paddle-Signature header.

type paddleEnvelope struct {
	EventID    string          `json:"event_id"`
	EventType  string          `json:"event_type"`
	OccurredAt string          `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

type paddleTotals struct {
	Total      *string `json:"total"`
	GrandTotal *string `json:"grand_total"`
	Tax        *string `json:"tax"`
	Discount   *string `json:"discount"`
	Fee        *string `json:"fee"`
	Earnings   *string `json:"earnings"`
	Currency   string  `json:"currency_code"`
}

type paddleTransaction struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	Origin         string          `json:"origin"`
	Currency       string          `json:"currency_code"`
	CustomerID     string          `json:"customer_id"`
	SubscriptionID string          `json:"subscription_id"`
	DiscountID     string          `json:"discount_id"`
	CustomData     json.RawMessage `json:"custom_data"`
	Items          []struct {
		Price struct {
			ProductID string `json:"product_id"`
		} `json:"price"`
	} `json:"items"`
	Details struct {
		Totals    *paddleTotals `json:"totals"`
		LineItems []struct {
			Product struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"product"`
		} `json:"line_items"`
	} `json:"details"`
}

type paddleAdjustment struct {
	ID             string        `json:"id"`
	TransactionID  string        `json:"transaction_id"`
	SubscriptionID string        `json:"subscription_id"`
	CustomerID     string        `json:"customer_id"`
	Action         string        `json:"action"`
	Status         string        `json:"status"`
	Currency       string        `json:"currency_code"`
	Totals         *paddleTotals `json:"totals"`
}

// ParsePaddle parses a Paddle Billing notification.
//
//   - transaction.completed is a sale (origin web or api) or a renewal
//     (origin subscription_recurring, subscription_charge,
//     subscription_update). Gross is grand_total, Net is earnings (after
//     Paddle's fee and tax). transaction.paid and every other event are
//     ignored: completed is the commit point.
//   - adjustment.created and adjustment.updated count only once the
//     adjustment is approved (live refunds start pending_approval). Action
//     refund is a refund, chargeback a chargeback, chargeback_reverse a
//     reversed chargeback; RefundID is the adjustment id, so the created
//     and updated deliveries of one approved adjustment apply once.
//     Adjustments carry no custom_data: the ledger joins on OrderID (the
//     transaction id).
//
// Paddle sends no customer email in these events; CustomerID holds ctm_.
// Coupon holds the discount id (dsc_), as no code is sent.
func ParsePaddle(body []byte) (Event, error) {
	var env paddleEnvelope
	if err := decodeJSON(Paddle, "", body, &env); err != nil {
		return Event{}, err
	}
	if env.EventType == "" {
		return Event{}, malformed(Paddle, "event_type", "missing")
	}
	switch env.EventType {
	case "transaction.completed":
		return parsePaddleTransaction(env)
	case "adjustment.created", "adjustment.updated":
		return parsePaddleAdjustment(env)
	}
	return Event{}, ignored(Paddle, env.EventType, "not a completed transaction or an adjustment")
}

func paddleHead(env paddleEnvelope) (Event, error) {
	ev := Event{Platform: Paddle, EventID: env.EventID, EventType: env.EventType}
	if _, err := required(Paddle, "event_id", env.EventID); err != nil {
		return Event{}, err
	}
	t, err := timeRFC3339(Paddle, "occurred_at", env.OccurredAt)
	if err != nil {
		return Event{}, err
	}
	ev.OccurredAt = t
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return Event{}, malformed(Paddle, "data", "missing")
	}
	return ev, nil
}

func parsePaddleTransaction(env paddleEnvelope) (Event, error) {
	ev, err := paddleHead(env)
	if err != nil {
		return Event{}, err
	}
	var tx paddleTransaction
	if err := decodeJSON(Paddle, "data", env.Data, &tx); err != nil {
		return Event{}, err
	}
	switch tx.Origin {
	case "web", "api":
		ev.Kind = KindSale
	case "subscription_recurring", "subscription_charge", "subscription_update":
		ev.Kind = KindRenewal
	default:
		return Event{}, ignored(Paddle, env.EventType, fmt.Sprintf("transaction origin %q carries no new revenue", clip(tx.Origin)))
	}
	if ev.OrderID, err = required(Paddle, "data.id", tx.ID); err != nil {
		return Event{}, err
	}
	tot := tx.Details.Totals
	if tot == nil {
		return Event{}, malformed(Paddle, "data.details.totals", "missing")
	}
	cur := tx.Currency
	if cur == "" {
		cur = tot.Currency
	}
	if ev.Currency, err = currencyCode(Paddle, "data.currency_code", cur); err != nil {
		return Event{}, err
	}
	gross := tot.GrandTotal
	if gross == nil || *gross == "" {
		gross = tot.Total
	}
	if ev.Gross, err = amountString(Paddle, "data.details.totals.grand_total", gross, true); err != nil {
		return Event{}, err
	}
	if ev.Tax, err = amountString(Paddle, "data.details.totals.tax", tot.Tax, false); err != nil {
		return Event{}, err
	}
	if ev.Discount, err = amountString(Paddle, "data.details.totals.discount", tot.Discount, false); err != nil {
		return Event{}, err
	}
	if ev.Fee, err = amountString(Paddle, "data.details.totals.fee", tot.Fee, false); err != nil {
		return Event{}, err
	}
	if tot.Earnings != nil && *tot.Earnings != "" {
		if ev.Net, err = amountString(Paddle, "data.details.totals.earnings", tot.Earnings, true); err != nil {
			return Event{}, err
		}
		ev.NetReported = true
	} else {
		ev.Net = ev.Gross - ev.Tax - ev.Fee
		ev.NetReported = tot.Fee != nil && *tot.Fee != ""
	}
	ev.SubscriptionID = tx.SubscriptionID
	ev.CustomerID = tx.CustomerID
	ev.Coupon = tx.DiscountID
	ev.Referral = referralFromJSON(tx.CustomData)
	if len(tx.Details.LineItems) > 0 {
		ev.ProductID = tx.Details.LineItems[0].Product.ID
		ev.ProductName = tx.Details.LineItems[0].Product.Name
	}
	if ev.ProductID == "" && len(tx.Items) > 0 {
		ev.ProductID = tx.Items[0].Price.ProductID
	}
	return finish(ev)
}

func parsePaddleAdjustment(env paddleEnvelope) (Event, error) {
	ev, err := paddleHead(env)
	if err != nil {
		return Event{}, err
	}
	var adj paddleAdjustment
	if err := decodeJSON(Paddle, "data", env.Data, &adj); err != nil {
		return Event{}, err
	}
	switch adj.Action {
	case "refund":
		ev.Kind = KindRefund
	case "chargeback":
		ev.Kind = KindChargeback
	case "chargeback_reverse":
		ev.Kind = KindChargebackReversed
	default:
		return Event{}, ignored(Paddle, env.EventType, fmt.Sprintf("adjustment action %q moves no revenue", clip(adj.Action)))
	}
	if adj.Status != "approved" {
		return Event{}, ignored(Paddle, env.EventType, fmt.Sprintf("adjustment status %q is not approved", clip(adj.Status)))
	}
	if ev.RefundID, err = required(Paddle, "data.id", adj.ID); err != nil {
		return Event{}, err
	}
	if ev.OrderID, err = required(Paddle, "data.transaction_id", adj.TransactionID); err != nil {
		return Event{}, err
	}
	tot := adj.Totals
	if tot == nil {
		return Event{}, malformed(Paddle, "data.totals", "missing")
	}
	cur := adj.Currency
	if cur == "" {
		cur = tot.Currency
	}
	if ev.Currency, err = currencyCode(Paddle, "data.currency_code", cur); err != nil {
		return Event{}, err
	}
	if ev.Refund, err = amountString(Paddle, "data.totals.total", tot.Total, true); err != nil {
		return Event{}, err
	}
	if ev.RefundTax, err = amountString(Paddle, "data.totals.tax", tot.Tax, false); err != nil {
		return Event{}, err
	}
	if tot.Earnings != nil && *tot.Earnings != "" {
		if ev.RefundNet, err = amountString(Paddle, "data.totals.earnings", tot.Earnings, true); err != nil {
			return Event{}, err
		}
		ev.RefundNetReported = true
	}
	ev.SubscriptionID = adj.SubscriptionID
	ev.CustomerID = adj.CustomerID
	return finish(ev)
}
