package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
	"affiliated/internal/ledger"
	"affiliated/internal/money"
	"affiliated/internal/payments"
)

func (a *API) ledgerRoutes(h func(string, httpx.HandlerFunc)) {
	h("POST /api/v1/conversions", a.createConversion)
	h("GET /api/v1/orders", a.listOrders)
	h("GET /api/v1/orders/{id}", a.getOrder)
	h("POST /api/v1/orders/{id}/attribute", a.attributeOrder)
	h("GET /api/v1/webhook-deliveries", a.listDeliveries)
	h("GET /api/v1/commissions", a.listCommissions)
	h("POST /api/v1/commissions/{id}/approve", a.reviewCommission(true))
	h("POST /api/v1/commissions/{id}/reject", a.reviewCommission(false))
	h("GET /api/v1/affiliates/{id}/balance", a.affiliateBalance)
	h("POST /api/v1/payouts", a.createPayout)
	h("GET /api/v1/payouts", a.listPayouts)
	h("GET /api/v1/payouts/{id}", a.getPayout)
	h("POST /api/v1/payouts/{id}/paid", a.payoutPaid)
	h("POST /api/v1/payouts/{id}/cancel", a.payoutCancel)
}

// conversionIn is a sale, renewal or refund reported by the owner's own
// checkout or any platform without a built-in integration.
type conversionIn struct {
	Kind           string `json:"kind"`
	Platform       string `json:"platform"`
	EventID        string `json:"event_id"`
	OrderID        string `json:"order_id"`
	SubscriptionID string `json:"subscription_id"`
	CustomerEmail  string `json:"customer_email"`
	ProductID      string `json:"product_id"`
	ProductName    string `json:"product_name"`
	Currency       string `json:"currency"`
	Gross          int64  `json:"gross"`
	Tax            int64  `json:"tax"`
	Discount       int64  `json:"discount"`
	Fee            int64  `json:"fee"`
	Net            *int64 `json:"net"`
	Refund         int64  `json:"refund"`
	Referral       string `json:"referral"`
	Coupon         string `json:"coupon"`
	// OccurredAt is text, parsed by event, so that a bad time is an
	// error naming the field rather than "malformed JSON".
	OccurredAt string `json:"occurred_at"`
}

// jsonTime parses an optional RFC 3339 time from a JSON body's field.
func jsonTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, apperr.Invalid(field, "must be an RFC 3339 time like 2026-11-23T10:00:00Z")
	}
	return t.UTC(), nil
}

func (in *conversionIn) event() (payments.Event, error) {
	ev := payments.Event{
		Kind: payments.Kind(in.Kind), Platform: strings.ToLower(strings.TrimSpace(in.Platform)), EventID: strings.TrimSpace(in.EventID),
		EventType: "conversion." + in.Kind, OrderID: strings.TrimSpace(in.OrderID), SubscriptionID: in.SubscriptionID,
		CustomerEmail: in.CustomerEmail, ProductID: in.ProductID, ProductName: in.ProductName,
		Gross: in.Gross, Tax: in.Tax, Discount: in.Discount, Fee: in.Fee, Refund: in.Refund,
		Referral: strings.TrimSpace(in.Referral), Coupon: strings.TrimSpace(in.Coupon),
	}
	switch ev.Kind {
	case payments.KindSale, payments.KindRenewal, payments.KindRefund, payments.KindChargeback, payments.KindChargebackReversed:
	default:
		return ev, apperr.Invalid("kind", "must be sale, renewal, refund, chargeback or chargeback_reversed")
	}
	if ev.Platform == "" || len(ev.Platform) > 40 {
		return ev, apperr.Invalid("platform", "is required (e.g. \"shop\"), at most 40 characters")
	}
	if ev.EventID == "" || len(ev.EventID) > 200 {
		return ev, apperr.Invalid("event_id", "is required (your unique id of this event; repeats are ignored)")
	}
	if ev.OrderID == "" || len(ev.OrderID) > 200 {
		return ev, apperr.Invalid("order_id", "is required")
	}
	cur, err := money.ParseCurrency(in.Currency)
	if err != nil {
		return ev, apperr.Invalid("currency", "must be an ISO 4217 code like USD")
	}
	ev.Currency = cur
	for f, v := range map[string]int64{"gross": in.Gross, "tax": in.Tax, "discount": in.Discount, "fee": in.Fee, "refund": in.Refund} {
		if v < 0 {
			return ev, apperr.Invalid(f, "must not be negative (amounts are minor units: 1250 = 12.50)")
		}
	}
	if in.Net != nil {
		ev.Net, ev.NetReported = *in.Net, true
	} else {
		ev.Net = ev.Gross - ev.Tax - ev.Fee
	}
	if ev.Kind == payments.KindRefund && ev.Refund <= 0 {
		return ev, apperr.Invalid("refund", "is required for a refund: the amount refunded by this event, in minor units")
	}
	ev.RefundID = ev.EventID
	if ev.OccurredAt, err = jsonTime("occurred_at", in.OccurredAt); err != nil {
		return ev, err
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = time.Now().UTC()
	}
	return ev, nil
}

func (a *API) createConversion(w http.ResponseWriter, r *http.Request) error {
	var in conversionIn
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ev, err := in.event()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(ev) // stored normalized, so a replay reads it back as is
	outcome, err := a.Ledger.Ingest(r.Context(), ev.Platform, body, ev, nil)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if outcome == ledger.Duplicate {
		status = http.StatusOK
	}
	httpx.WriteJSON(w, status, map[string]any{"outcome": outcome, "platform": ev.Platform, "event_id": ev.EventID})
	return nil
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := ledger.OrderFilter{Platform: q.Get("platform"), Unattributed: q.Get("unattributed") == "true"}
	var err error
	if f.AffiliateID, err = queryInt64(r, "affiliate_id"); err != nil {
		return err
	}
	if f.After, err = queryInt64(r, "cursor"); err != nil {
		return err
	}
	if f.From, err = timeParam(r, "from", time.UTC); err != nil {
		return err
	}
	if f.To, err = timeParam(r, "to", time.UTC); err != nil {
		return err
	}
	limit, err := queryInt64(r, "limit")
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	orders, next, err := a.Ledger.Orders(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page[*ledger.Order]{Data: orders, NextCursor: next})
	return nil
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := a.Ledger.OrderDetail(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) attributeOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		AffiliateID int64 `json:"affiliate_id"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.AffiliateID <= 0 {
		return apperr.Invalid("affiliate_id", "is required")
	}
	o, err := a.Ledger.AttributeOrder(r.Context(), id, in.AffiliateID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := ledger.DeliveryFilter{Outcome: q.Get("status"), Platform: q.Get("platform"), WithBody: q.Get("body") == "true"}
	if f.Outcome != "" && f.Outcome != "applied" && f.Outcome != "ignored" && f.Outcome != "failed" {
		return apperr.Invalid("status", "must be applied, ignored or failed")
	}
	var err error
	if f.Before, err = queryInt64(r, "cursor"); err != nil {
		return err
	}
	list, next, err := a.Ledger.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page[ledger.Delivery]{Data: list, NextCursor: next})
	return nil
}

func (a *API) listCommissions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := ledger.CommissionFilter{Status: q.Get("status"), Platform: q.Get("platform")}
	var err error
	if f.AffiliateID, err = queryInt64(r, "affiliate_id"); err != nil {
		return err
	}
	if f.ProgramID, err = queryInt64(r, "program_id"); err != nil {
		return err
	}
	if f.After, err = queryInt64(r, "cursor"); err != nil {
		return err
	}
	if f.From, err = timeParam(r, "from", time.UTC); err != nil {
		return err
	}
	if f.To, err = timeParam(r, "to", time.UTC); err != nil {
		return err
	}
	limit, err := queryInt64(r, "limit")
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	list, next, err := a.Ledger.Commissions(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page[*ledger.Commission]{Data: list, NextCursor: next})
	return nil
}

func (a *API) reviewCommission(approve bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if err := a.Ledger.Review(r.Context(), id, approve); err != nil {
			return err
		}
		c, err := a.Ledger.Commission(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, c)
		return nil
	}
}

func (a *API) affiliateBalance(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Programs.Affiliate(r.Context(), id); err != nil {
		return err
	}
	b, err := a.Ledger.Balances(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"affiliate_id": id, "balances": b})
	return nil
}

func (a *API) createPayout(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ProgramID int64  `json:"program_id"`
		Before    string `json:"before"`
	}
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	before, err := jsonTime("before", in.Before)
	if err != nil {
		return err
	}
	p, err := a.Ledger.CreatePayout(r.Context(), in.ProgramID, before)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, p)
	return nil
}

func (a *API) listPayouts(w http.ResponseWriter, r *http.Request) error {
	list, err := a.Ledger.Payouts(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page[*ledger.Payout]{Data: list})
	return nil
}

// getPayout answers /api/v1/payouts/{id} and, for "{id}.csv", the CSV.
func (a *API) getPayout(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("id")
	asCSV := strings.HasSuffix(raw, ".csv")
	id, err := strconv.ParseInt(strings.TrimSuffix(raw, ".csv"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.NotFound("payout")
	}
	p, err := a.Ledger.Payout(r.Context(), id)
	if err != nil {
		return err
	}
	if !asCSV {
		httpx.WriteJSON(w, http.StatusOK, p)
		return nil
	}
	var buf bytes.Buffer
	if err := ledger.WritePayoutCSV(&buf, p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="payout-`+strconv.FormatInt(id, 10)+`.csv"`)
	_, err = w.Write(buf.Bytes())
	return err
}

func (a *API) payoutPaid(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.Ledger.MarkPaid(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) payoutCancel(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.Ledger.CancelPayout(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}
