package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

// The API's ledger answers as the tests read them: their own copy of the
// contract.
type commissionJSON struct {
	ID          int64     `json:"id"`
	OrderID     int64     `json:"order_id"`
	AffiliateID int64     `json:"affiliate_id"`
	ProgramID   int64     `json:"program_id"`
	Platform    string    `json:"platform"`
	OrderRef    string    `json:"order_ref"`
	Currency    string    `json:"currency"`
	Amount      int64     `json:"amount"`
	Status      string    `json:"status"`
	Review      string    `json:"review"`
	PayableAt   time.Time `json:"payable_at"`
	OccurredAt  time.Time `json:"occurred_at"`
}

type payoutJSON struct {
	ID        int64  `json:"id"`
	ProgramID *int64 `json:"program_id"`
	Status    string `json:"status"`
	Lines     []struct {
		AffiliateID   int64   `json:"affiliate_id"`
		Currency      string  `json:"currency"`
		Amount        int64   `json:"amount"`
		Commissions   int     `json:"commissions"`
		Clawbacks     int64   `json:"clawbacks"`
		CommissionIDs []int64 `json:"commission_ids"`
	} `json:"lines"`
}

type balanceJSON struct {
	Currency    string     `json:"currency"`
	Pending     int64      `json:"pending"`
	Payable     int64      `json:"payable"`
	Held        int64      `json:"held"`
	InPayout    int64      `json:"in_payout"`
	Paid        int64      `json:"paid"`
	Clawback    int64      `json:"clawback_outstanding"`
	NextPayable *time.Time `json:"next_payable_at"`
	NextAmount  int64      `json:"next_payable_amount"`
}

// ledgerShop is two programs and three affiliates: ann and bob in the
// first (30 days' hold), cat in the second.
type ledgerShop struct {
	app             *servertest.App
	course, cookery int64
	ann, bob, cat   affiliate
}

func newLedgerShop(t *testing.T, d *db.DB) *ledgerShop {
	t.Helper()
	s := &ledgerShop{app: servertest.Start(t, d)}
	s.course, s.cookery = newProgram(t, s.app, "course").ID, newProgram(t, s.app, "cookery").ID
	for _, a := range []struct {
		out     *affiliate
		code    string
		program int64
	}{{&s.ann, "ann", s.course}, {&s.bob, "bob", s.course}, {&s.cat, "cat", s.cookery}} {
		s.app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{
			"email": a.code + "@example.com", "name": "Affiliate " + a.code, "code": a.code, "program_id": a.program,
		}, a.out)
	}
	return s
}

// sale reports a sale through the conversions API; net is gross (no tax,
// no fee), referral an affiliate's code.
func (s *ledgerShop) sale(t *testing.T, order, referral, currency string, gross int64, at time.Time, extra map[string]any) {
	t.Helper()
	body := map[string]any{
		"kind": "sale", "platform": "shop", "event_id": "sale-" + order, "order_id": order,
		"currency": currency, "gross": gross, "referral": referral, "occurred_at": at,
		"customer_email": "buyer-" + order + "@example.com",
	}
	for k, v := range extra {
		body[k] = v
	}
	s.app.MustDo(http.StatusCreated, "POST", "/api/v1/conversions", body, nil)
}

func (s *ledgerShop) refund(t *testing.T, order, currency string, amount int64, at time.Time) {
	t.Helper()
	s.app.MustDo(http.StatusCreated, "POST", "/api/v1/conversions", map[string]any{
		"kind": "refund", "platform": "shop", "event_id": fmt.Sprintf("refund-%s-%d", order, amount), "order_id": order,
		"currency": currency, "refund": amount, "occurred_at": at,
	}, nil)
}

// commissions lists every commission matching query, page by page.
func (s *ledgerShop) commissions(t *testing.T, query url.Values) []commissionJSON {
	t.Helper()
	var all []commissionJSON
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	for {
		var page struct {
			Data       []commissionJSON `json:"data"`
			NextCursor string           `json:"next_cursor"`
		}
		s.app.MustDo(http.StatusOK, "GET", "/api/v1/commissions?"+q.Encode(), nil, &page)
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all
		}
		q.Set("cursor", page.NextCursor)
	}
}

func (s *ledgerShop) commission(t *testing.T, order string) commissionJSON {
	t.Helper()
	for _, c := range s.commissions(t, nil) {
		if c.OrderRef == order {
			return c
		}
	}
	t.Fatalf("no commission on order %s", order)
	return commissionJSON{}
}

func (s *ledgerShop) balances(t *testing.T, a affiliate) map[string]balanceJSON {
	t.Helper()
	var out struct {
		AffiliateID int64         `json:"affiliate_id"`
		Balances    []balanceJSON `json:"balances"`
	}
	s.app.MustDo(http.StatusOK, "GET", aid(a.ID)+"/balance", nil, &out)
	m := map[string]balanceJSON{}
	for _, b := range out.Balances {
		m[b.Currency] = b
	}
	return m
}

func TestConversions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newLedgerShop(t, d)
		app := s.app
		valid := func(edit func(m map[string]any)) map[string]any {
			m := map[string]any{"kind": "sale", "platform": "shop", "event_id": "e1", "order_id": "o1",
				"currency": "EUR", "gross": 1250, "referral": "ann"}
			edit(m)
			return m
		}
		for _, c := range []struct {
			name, field string
			edit        func(m map[string]any)
		}{
			{"no kind", "kind", func(m map[string]any) { delete(m, "kind") }},
			{"unknown kind", "kind", func(m map[string]any) { m["kind"] = "purchase" }},
			{"no platform", "platform", func(m map[string]any) { m["platform"] = " " }},
			{"long platform", "platform", func(m map[string]any) { m["platform"] = strings.Repeat("p", 41) }},
			{"no event id", "event_id", func(m map[string]any) { delete(m, "event_id") }},
			{"no order id", "order_id", func(m map[string]any) { m["order_id"] = "" }},
			{"bad currency", "currency", func(m map[string]any) { m["currency"] = "euro" }},
			{"no currency", "currency", func(m map[string]any) { delete(m, "currency") }},
			{"negative gross", "gross", func(m map[string]any) { m["gross"] = -1 }},
			{"negative fee", "fee", func(m map[string]any) { m["fee"] = -5 }},
			{"fractional gross", "gross", func(m map[string]any) { m["gross"] = 12.5 }},
			{"gross as text", "gross", func(m map[string]any) { m["gross"] = "12.50" }},
			{"refund without amount", "refund", func(m map[string]any) { m["kind"] = "refund" }},
			{"bad time", "occurred_at", func(m map[string]any) { m["occurred_at"] = "yesterday" }},
		} {
			wantError(t, app.Do("POST", "/api/v1/conversions", valid(c.edit)), http.StatusBadRequest, "invalid", c.field)
		}

		// Idempotent by (platform, event_id): 201 once, then 200 and no new effect.
		var out struct {
			Outcome, Platform string
			EventID           string `json:"event_id"`
		}
		app.MustDo(http.StatusCreated, "POST", "/api/v1/conversions", valid(func(map[string]any) {}), &out)
		if out.Outcome != "applied" || out.Platform != "shop" || out.EventID != "e1" {
			t.Errorf("first conversion: %+v", out)
		}
		for range 2 {
			app.MustDo(http.StatusOK, "POST", "/api/v1/conversions", valid(func(m map[string]any) { m["gross"] = 999999 }), &out)
			if out.Outcome != "duplicate" {
				t.Errorf("repeated conversion: outcome %q, want duplicate", out.Outcome)
			}
		}
		if c := s.commission(t, "o1"); c.Amount != 625 || c.Currency != "EUR" || c.AffiliateID != s.ann.ID {
			t.Errorf("commission %+v, want 625 EUR for ann (the repeats changed nothing)", c)
		}
		// The same event id from another platform is another event.
		app.MustDo(http.StatusCreated, "POST", "/api/v1/conversions",
			valid(func(m map[string]any) { m["platform"], m["order_id"] = "Other-Shop", "o2" }), &out)
		if out.Platform != "other-shop" {
			t.Errorf("platform %q, want it lower-cased", out.Platform)
		}
		// A refund through the API reverses in proportion; net when given is used.
		s.refund(t, "o1", "EUR", 250, time.Now())
		if c := s.commission(t, "o1"); c.Amount != 500 {
			t.Errorf("after refunding 250 of 1250: commission %d, want 500", c.Amount)
		}
		s.sale(t, "o3", "bob", "USD", 10000, time.Now(), map[string]any{"tax": 1000, "fee": 300, "net": 8000})
		if c := s.commission(t, "o3"); c.Amount != 4000 || c.AffiliateID != s.bob.ID {
			t.Errorf("sale with a reported net of 8000: commission %+v, want 4000 for bob", c)
		}
		s.sale(t, "o4", "bob", "USD", 10000, time.Now(), map[string]any{"tax": 1000, "fee": 300})
		if c := s.commission(t, "o4"); c.Amount != 4350 {
			t.Errorf("sale without net: commission %d, want 50%% of 10000 − 1000 − 300", c.Amount)
		}
	})
}

func TestCommissionsListing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newLedgerShop(t, d)
		now := time.Now().UTC().Truncate(time.Second)
		old := now.AddDate(0, 0, -45) // past the 30-day hold
		s.sale(t, "a1", "ann", "USD", 1000, old, nil)
		s.sale(t, "a2", "ann", "EUR", 2000, now, nil)
		s.sale(t, "a3", "ann", "USD", 3000, old, nil)
		s.refund(t, "a3", "USD", 3000, old.Add(time.Hour)) // reversed
		s.sale(t, "b1", "bob", "USD", 4000, old, map[string]any{"customer_email": "BOB@example.com"})
		s.sale(t, "b2", "bob", "USD", 5000, now.AddDate(0, 0, -2), map[string]any{"platform": "market"})
		s.sale(t, "c1", "cat", "JPY", 6000, old, nil)

		refs := func(list []commissionJSON) []string {
			var out []string
			for _, c := range list {
				out = append(out, c.OrderRef)
			}
			return out
		}
		all := s.commissions(t, nil)
		if got := refs(all); !reflect.DeepEqual(got, []string{"a1", "a2", "a3", "b1", "b2", "c1"}) {
			t.Fatalf("all commissions %v", got)
		}
		status := map[string]string{}
		for _, c := range all {
			status[c.OrderRef] = c.Status
		}
		if want := map[string]string{"a1": "payable", "a2": "pending", "a3": "reversed", "b1": "held", "b2": "pending", "c1": "payable"}; !reflect.DeepEqual(status, want) {
			t.Errorf("statuses %v, want %v", status, want)
		}
		for _, c := range []struct {
			query url.Values
			want  []string
		}{
			{url.Values{"affiliate_id": {itoa(s.ann.ID)}}, []string{"a1", "a2", "a3"}},
			{url.Values{"program_id": {itoa(s.cookery)}}, []string{"c1"}},
			{url.Values{"status": {"payable"}}, []string{"a1", "c1"}},
			{url.Values{"status": {"pending"}, "affiliate_id": {itoa(s.bob.ID)}}, []string{"b2"}},
			{url.Values{"status": {"held"}}, []string{"b1"}},
			{url.Values{"status": {"reversed"}}, []string{"a3"}},
			{url.Values{"platform": {"market"}}, []string{"b2"}},
			{url.Values{"from": {now.AddDate(0, 0, -3).Format(time.RFC3339)}}, []string{"a2", "b2"}},
			{url.Values{"to": {now.AddDate(0, 0, -3).Format("2006-01-02")}}, []string{"a1", "a3", "b1", "c1"}},
			{url.Values{"status": {"paid"}}, nil},
		} {
			if got := refs(s.commissions(t, c.query)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: %v, want %v", c.query.Encode(), got, c.want)
			}
		}
		// Pages of two: every commission exactly once, in id order.
		var paged []string
		q := url.Values{"limit": {"2"}}
		pages := 0
		for {
			var page struct {
				Data       []commissionJSON `json:"data"`
				NextCursor string           `json:"next_cursor"`
			}
			s.app.MustDo(http.StatusOK, "GET", "/api/v1/commissions?"+q.Encode(), nil, &page)
			pages++
			paged = append(paged, refs(page.Data)...)
			if len(page.Data) > 2 || page.NextCursor == "" {
				break
			}
			q.Set("cursor", page.NextCursor)
		}
		if !reflect.DeepEqual(paged, refs(all)) || pages < 3 {
			t.Errorf("paged listing %v in %d pages, want %v", paged, pages, refs(all))
		}
		for _, bad := range []url.Values{{"status": {"lost"}}, {"affiliate_id": {"x"}}, {"cursor": {"-1"}}, {"from": {"yesterday"}}} {
			field := ""
			for k := range bad {
				field = k
			}
			wantError(t, s.app.Do("GET", "/api/v1/commissions?"+bad.Encode(), nil), http.StatusBadRequest, "invalid", field)
		}
	})
}

func TestBalanceAndReview(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newLedgerShop(t, d)
		now := time.Now().UTC().Truncate(time.Second)
		old := now.AddDate(0, 0, -40)
		s.sale(t, "p1", "ann", "USD", 1001, old, nil)                                                // payable 501 (half up)
		s.sale(t, "p2", "ann", "USD", 3000, now.AddDate(0, 0, -10), nil)                             // pending 1500, payable in 20 days
		s.sale(t, "p3", "ann", "USD", 600, now.AddDate(0, 0, -5), nil)                               // pending 300
		s.sale(t, "p4", "ann", "JPY", 999, old, nil)                                                 // payable 500 JPY
		s.sale(t, "h1", "ann", "USD", 800, old, map[string]any{"customer_email": "ann@example.com"}) // held 400
		s.sale(t, "h2", "ann", "USD", 200, old, map[string]any{"customer_email": "Ann@Example.com"}) // held 100

		b := s.balances(t, s.ann)
		next := now.AddDate(0, 0, 20)
		if usd := b["USD"]; usd.Payable != 501 || usd.Pending != 1800 || usd.Held != 500 || usd.Paid != 0 ||
			usd.NextPayable == nil || !usd.NextPayable.Equal(next) || usd.NextAmount != 1500 {
			t.Errorf("USD balance %+v, want payable 501, pending 1800, held 500, next 1500 at %v", usd, next)
		}
		if jpy := b["JPY"]; jpy.Payable != 500 || jpy.Pending != 0 || jpy.NextPayable != nil {
			t.Errorf("JPY balance %+v", jpy)
		}
		if len(s.balances(t, s.cat)) != 0 {
			t.Error("cat has a balance without any commission")
		}
		wantError(t, s.app.Do("GET", aid(s.cat.ID+100)+"/balance", nil), http.StatusNotFound, "not_found", "")

		// Held commissions wait for the owner: approve one, reject the other.
		h1, h2 := s.commission(t, "h1"), s.commission(t, "h2")
		if h1.Status != "held" || h1.Review != "held" {
			t.Fatalf("self-referral: %+v, want held", h1)
		}
		var c commissionJSON
		s.app.MustDo(http.StatusOK, "POST", fmt.Sprintf("/api/v1/commissions/%d/approve", h1.ID), nil, &c)
		if c.Status != "payable" || c.Review != "approved" || c.Amount != 400 {
			t.Errorf("approved: %+v, want payable 400", c)
		}
		s.app.MustDo(http.StatusOK, "POST", fmt.Sprintf("/api/v1/commissions/%d/reject", h2.ID), nil, &c)
		if c.Status != "rejected" || c.Amount != 0 {
			t.Errorf("rejected: %+v, want rejected at 0", c)
		}
		for _, path := range []string{
			fmt.Sprintf("/api/v1/commissions/%d/approve", h1.ID), // no longer held
			fmt.Sprintf("/api/v1/commissions/%d/reject", h2.ID),
			fmt.Sprintf("/api/v1/commissions/%d/approve", s.commission(t, "p1").ID), // never held
		} {
			wantError(t, s.app.Do("POST", path, nil), http.StatusConflict, "not_held", "")
		}
		wantError(t, s.app.Do("POST", "/api/v1/commissions/999999/approve", nil), http.StatusNotFound, "not_found", "")
		if usd := s.balances(t, s.ann)["USD"]; usd.Held != 0 || usd.Payable != 901 {
			t.Errorf("after review: %+v, want nothing held and 501 + 400 payable", usd)
		}
	})
}

func TestPayouts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newLedgerShop(t, d)
		app := s.app
		wantError(t, app.Do("POST", "/api/v1/payouts", nil), http.StatusConflict, "nothing_payable", "")

		now := time.Now().UTC().Truncate(time.Second)
		old := now.AddDate(0, 0, -60)
		s.sale(t, "u1", "ann", "USD", 2469, old, nil)                   // 1235 (half up)
		s.sale(t, "u2", "ann", "USD", 1000, old.AddDate(0, 0, 10), nil) // 500
		s.sale(t, "j1", "ann", "JPY", 4321, old, nil)                   // 2161 yen
		s.sale(t, "e1", "bob", "EUR", 1999, old, nil)                   // 1000
		s.sale(t, "c1", "cat", "USD", 700, old, nil)                    // 350, other program
		s.sale(t, "n1", "ann", "USD", 5000, now, nil)                   // pending: never paid here

		// program_id and before narrow the batch: only the course's
		// commissions payable before u2's.
		before := old.AddDate(0, 0, 30+5)
		var p1 payoutJSON
		app.MustDo(http.StatusCreated, "POST", "/api/v1/payouts", map[string]any{"program_id": s.course, "before": before}, &p1)
		lines := func(p payoutJSON) string {
			var b strings.Builder
			for _, l := range p.Lines {
				fmt.Fprintf(&b, "%d %s %d %d;", l.AffiliateID, l.Currency, l.Amount, l.Commissions)
			}
			return b.String()
		}
		if got, want := lines(p1), fmt.Sprintf("%d JPY 2161 1;%d USD 1235 1;%d EUR 1000 1;", s.ann.ID, s.ann.ID, s.bob.ID); got != want {
			t.Errorf("payout lines %q, want %q", got, want)
		}
		if p1.ProgramID == nil || *p1.ProgramID != s.course || p1.Status != "created" {
			t.Errorf("payout %+v", p1)
		}
		if c := s.commission(t, "u1"); c.Status != "in_payout" {
			t.Errorf("u1 in a payout: status %s", c.Status)
		}

		// The CSV, ready for a bulk payment: amounts in major units with
		// the currency's decimals (none for yen).
		res := app.MustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/payouts/%d.csv", p1.ID), nil, nil)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("CSV Content-Type %q", ct)
		}
		rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"affiliate_name", "email", "payout_email", "currency", "amount", "commissions"},
			{"Affiliate ann", "ann@example.com", "ann@example.com", "JPY", "2161", "1"},
			{"Affiliate ann", "ann@example.com", "ann@example.com", "USD", "12.35", "1"},
			{"Affiliate bob", "bob@example.com", "bob@example.com", "EUR", "10.00", "1"},
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("CSV\n%s\nwant %q", res.Body, want)
		}

		// A second payout at the same time takes only what the first left.
		var p2 payoutJSON
		app.MustDo(http.StatusCreated, "POST", "/api/v1/payouts", nil, &p2)
		if got, want := lines(p2), fmt.Sprintf("%d USD 500 1;%d USD 350 1;", s.ann.ID, s.cat.ID); got != want {
			t.Errorf("second payout %q, want %q", got, want)
		}
		wantError(t, app.Do("POST", "/api/v1/payouts", nil), http.StatusConflict, "nothing_payable", "")

		// Cancelling releases the commissions for the next payout.
		app.MustDo(http.StatusOK, "POST", fmt.Sprintf("/api/v1/payouts/%d/cancel", p2.ID), nil, &p2)
		if p2.Status != "cancelled" || s.commission(t, "u2").Status != "payable" {
			t.Errorf("after cancel: payout %s, u2 %s", p2.Status, s.commission(t, "u2").Status)
		}
		var p3 payoutJSON
		app.MustDo(http.StatusCreated, "POST", "/api/v1/payouts", map[string]any{}, &p3)
		if got := lines(p3); got != lines(p2) {
			t.Errorf("payout after cancel %q, want the released %q", got, lines(p2))
		}

		// Paid: commissions become paid; a paid payout cannot be cancelled
		// and a cancelled one cannot be paid.
		app.MustDo(http.StatusOK, "POST", fmt.Sprintf("/api/v1/payouts/%d/paid", p1.ID), nil, &p1)
		if p1.Status != "paid" || s.commission(t, "u1").Status != "paid" || s.commission(t, "j1").Status != "paid" {
			t.Errorf("after paid: payout %s, u1 %s", p1.Status, s.commission(t, "u1").Status)
		}
		wantError(t, app.Do("POST", fmt.Sprintf("/api/v1/payouts/%d/cancel", p1.ID), nil), http.StatusConflict, "payout_paid", "")
		wantError(t, app.Do("POST", fmt.Sprintf("/api/v1/payouts/%d/paid", p1.ID), nil), http.StatusConflict, "payout_paid", "")
		wantError(t, app.Do("POST", fmt.Sprintf("/api/v1/payouts/%d/paid", p2.ID), nil), http.StatusConflict, "payout_cancelled", "")
		wantError(t, app.Do("POST", "/api/v1/payouts/999999/paid", nil), http.StatusNotFound, "not_found", "")
		wantError(t, app.Do("GET", "/api/v1/payouts/999999.csv", nil), http.StatusNotFound, "not_found", "")
		wantError(t, app.Do("GET", "/api/v1/payouts/abc", nil), http.StatusNotFound, "not_found", "")
		if usd := s.balances(t, s.ann)["USD"]; usd.Paid != 1235 || usd.InPayout != 500 || usd.Pending != 2500 {
			t.Errorf("ann's USD balance %+v, want 1235 paid, 500 in payout, 2500 pending", usd)
		}

		// A refund after payout is a clawback, outstanding until a later
		// payout deducts it; a balance below zero is never paid out.
		s.refund(t, "u1", "USD", 2469, now)
		if usd := s.balances(t, s.ann)["USD"]; usd.Clawback != -1235 || usd.Paid != 1235 {
			t.Errorf("after a refund of a paid commission: %+v, want 1235 clawback outstanding", usd)
		}
		app.MustDo(http.StatusOK, "POST", fmt.Sprintf("/api/v1/payouts/%d/paid", p3.ID), nil, nil)
		s.sale(t, "u3", "ann", "USD", 1000, old, nil) // 500: not enough to cover the clawback
		wantError(t, app.Do("POST", "/api/v1/payouts", map[string]any{"program_id": s.course}), http.StatusConflict, "nothing_payable", "")
		s.sale(t, "u4", "ann", "USD", 3000, old, nil) // 1500 more: 2000 − 1235 = 765
		var p4 payoutJSON
		app.MustDo(http.StatusCreated, "POST", "/api/v1/payouts", nil, &p4)
		if len(p4.Lines) != 1 || p4.Lines[0].Amount != 765 || p4.Lines[0].Clawbacks != -1235 || p4.Lines[0].Commissions != 2 {
			t.Errorf("payout with a clawback: %+v, want 765 after -1235", p4.Lines)
		}

		var list struct {
			Data []payoutJSON `json:"data"`
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/payouts", nil, &list)
		var ids []int64
		for _, p := range list.Data {
			ids = append(ids, p.ID)
		}
		if !reflect.DeepEqual(ids, []int64{p4.ID, p3.ID, p2.ID, p1.ID}) {
			t.Errorf("payouts listed %v, want newest first", ids)
		}
		var one payoutJSON
		app.MustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/payouts/%d", p1.ID), nil, &one)
		if len(one.Lines) != 3 || len(one.Lines[0].CommissionIDs) != 1 || one.Lines[0].CommissionIDs[0] != s.commission(t, "j1").ID {
			t.Errorf("payout detail %+v, want its lines with their commissions", one)
		}
	})
}
