package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

// affiliate is an affiliate as the API shows it.
type affiliate struct {
	ID                int64     `json:"id"`
	ProgramID         int64     `json:"program_id"`
	Email             string    `json:"email"`
	Name              string    `json:"name"`
	Code              string    `json:"code"`
	CouponCode        string    `json:"coupon_code"`
	Status            string    `json:"status"`
	CommissionRateBps *int      `json:"commission_rate_bps"`
	PayoutEmail       string    `json:"payout_email"`
	Website           string    `json:"website"`
	Promotion         string    `json:"promotion"`
	NotifySales       bool      `json:"notify_sales"`
	ReferralURL       string    `json:"referral_url"`
	Clicks            int64     `json:"clicks"`
	UniqueVisitors    int64     `json:"unique_visitors"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func aid(id int64) string { return "/api/v1/affiliates/" + itoa(id) }

func newProgram(t *testing.T, app *servertest.App, slug string) program {
	t.Helper()
	var p program
	app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
		map[string]any{"name": slug, "slug": slug, "destination_url": "https://" + slug + ".example.com/"}, &p)
	return p
}

func TestAffiliateProgramChoice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		// No program yet: there is nothing to join.
		wantError(t, app.Do("POST", "/api/v1/affiliates", map[string]any{"email": "a@example.com"}), http.StatusBadRequest, "invalid", "program_id")

		one := newProgram(t, app, "one")
		var a affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "a@example.com"}, &a)
		if a.ProgramID != one.ID {
			t.Fatalf("with one program, program_id = %d, want %d", a.ProgramID, one.ID)
		}

		two := newProgram(t, app, "two")
		wantError(t, app.Do("POST", "/api/v1/affiliates", map[string]any{"email": "b@example.com"}), http.StatusBadRequest, "invalid", "program_id")
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "b@example.com", "program_id": two.ID}, &a)
		if a.ProgramID != two.ID {
			t.Fatalf("program_id = %d, want %d", a.ProgramID, two.ID)
		}
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "c@example.com", "program": "TWO"}, &a)
		if a.ProgramID != two.ID {
			t.Fatalf("by slug: program_id = %d, want %d", a.ProgramID, two.ID)
		}
		wantError(t, app.Do("POST", "/api/v1/affiliates", map[string]any{"email": "d@example.com", "program": "three"}), http.StatusBadRequest, "invalid", "program")
		wantError(t, app.Do("POST", "/api/v1/affiliates", map[string]any{"email": "d@example.com", "program_id": 999}), http.StatusBadRequest, "invalid", "program_id")
		wantError(t, app.Do("POST", "/api/v1/affiliates", map[string]any{"email": "d@example.com", "program_id": "1"}), http.StatusBadRequest, "invalid", "program_id")

		// PATCH moves an affiliate by id or by slug.
		app.MustDo(http.StatusOK, "PATCH", aid(a.ID), map[string]any{"program": "one"}, &a)
		if a.ProgramID != one.ID {
			t.Fatalf("PATCH program: program_id = %d, want %d", a.ProgramID, one.ID)
		}
		app.MustDo(http.StatusOK, "PATCH", aid(a.ID), map[string]any{"program_id": two.ID}, &a)
		if a.ProgramID != two.ID {
			t.Fatalf("PATCH program_id: program_id = %d, want %d", a.ProgramID, two.ID)
		}
		wantError(t, app.Do("PATCH", aid(a.ID), map[string]any{"program_id": 999}), http.StatusBadRequest, "invalid", "program_id")
		wantError(t, app.Do("PATCH", aid(a.ID), map[string]any{"program": "nope"}), http.StatusBadRequest, "invalid", "program")
	})
}

func TestAffiliateCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "club")

		var a affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{
			"email": " Ann@Example.com ", "name": "Solare Wines", "payout_email": "pay@example.com",
			"website": "https://solare.example.com", "promotion": "Newsletter",
		}, &a)
		want := affiliate{
			ID: a.ID, ProgramID: p.ID, Email: "Ann@Example.com", Name: "Solare Wines", Code: "solare-wines",
			Status: "active", PayoutEmail: "pay@example.com", Website: "https://solare.example.com",
			Promotion: "Newsletter", NotifySales: true, ReferralURL: app.URL + "/r/solare-wines",
			CreatedAt: a.CreatedAt, UpdatedAt: a.CreatedAt,
		}
		if !reflect.DeepEqual(a, want) {
			t.Fatalf("created\n%+v\nwant\n%+v", a, want)
		}
		if a.ID <= 0 || a.CreatedAt.IsZero() || a.CreatedAt.Location() != time.UTC {
			t.Fatalf("id %d, created_at %v", a.ID, a.CreatedAt)
		}
		var got affiliate
		app.MustDo(http.StatusOK, "GET", aid(a.ID), nil, &got)
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("GET\n%+v\nwant\n%+v", got, a)
		}
		r := app.MustDo(http.StatusOK, "GET", aid(a.ID), nil, nil)
		if !strings.Contains(string(r.Body), `"commission_rate_bps":null`) {
			t.Errorf("no override must show as null: %s", r.Body)
		}

		// The same name again gets the name's code plus a random suffix.
		var b affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "bob@example.com", "name": "Solare Wines"}, &b)
		if !regexp.MustCompile(`^solare-wines-[a-z0-9]{4}$`).MatchString(b.Code) {
			t.Fatalf("second code = %q, want solare-wines-XXXX", b.Code)
		}
		if b.ReferralURL != app.URL+"/r/"+b.Code {
			t.Errorf("referral_url = %q", b.ReferralURL)
		}
		// No name: the code comes from the email's local part.
		var c affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "Cleo.Jones+aff@example.com"}, &c)
		if c.Code != "cleo-jones-aff" {
			t.Errorf("code from email = %q, want cleo-jones-aff", c.Code)
		}
		// A given code is kept (lower-cased), and the generator steps around it.
		var e affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "e@example.com", "code": "Dora_2"}, &e)
		if e.Code != "dora_2" || e.ReferralURL != app.URL+"/r/dora_2" {
			t.Errorf("given code: %q %q", e.Code, e.ReferralURL)
		}
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "e2@example.com", "code": "DORA"}, nil)
		var f affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "f@example.com", "name": "Dora"}, &f)
		if !regexp.MustCompile(`^dora-[a-z0-9]{4}$`).MatchString(f.Code) {
			t.Errorf("code = %q, want dora-XXXX", f.Code)
		}

		// Sale emails are on unless turned off.
		var quiet affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates",
			map[string]any{"email": "quiet@example.com", "notify_sales": false, "commission_rate_bps": 0}, &quiet)
		if quiet.NotifySales || quiet.CommissionRateBps == nil || *quiet.CommissionRateBps != 0 {
			t.Errorf("notify_sales %v, commission_rate_bps %v: explicit false and 0 must stay", quiet.NotifySales, quiet.CommissionRateBps)
		}

		// Client-chosen id, timestamps and read-only output fields are ignored.
		var g affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{
			"id": 999, "email": "g@example.com", "created_at": "2001-01-01T00:00:00Z",
			"referral_url": "https://evil.example/", "clicks": 5, "unique_visitors": 5,
		}, &g)
		if g.ID == 999 || g.CreatedAt.Year() == 2001 || g.ReferralURL != app.URL+"/r/"+g.Code || g.Clicks != 0 {
			t.Errorf("client-chosen fields taken: %+v", g)
		}
	})
}

func TestAffiliateValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		newProgram(t, app, "club")
		var existing affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "x@example.com", "code": "x"}, &existing)
		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no email", map[string]any{"name": "Ann"}, "email"},
			{"bad email", map[string]any{"email": "ann"}, "email"},
			{"email with a display name", map[string]any{"email": "Ann <ann@example.com>"}, "email"},
			{"code with space", map[string]any{"email": "a@example.com", "code": "a b"}, "code"},
			{"code with slash", map[string]any{"email": "a@example.com", "code": "a/b"}, "code"},
			{"code starting with dash", map[string]any{"email": "a@example.com", "code": "-ab"}, "code"},
			{"code too long", map[string]any{"email": "a@example.com", "code": strings.Repeat("a", 65)}, "code"},
			{"code not ASCII", map[string]any{"email": "a@example.com", "code": "café"}, "code"},
			{"coupon with space", map[string]any{"email": "a@example.com", "coupon_code": "SAVE 10"}, "coupon_code"},
			{"coupon too long", map[string]any{"email": "a@example.com", "coupon_code": strings.Repeat("C", 65)}, "coupon_code"},
			{"status", map[string]any{"email": "a@example.com", "status": "banned"}, "status"},
			{"status case", map[string]any{"email": "a@example.com", "status": "Active"}, "status"},
			{"rate over 100%", map[string]any{"email": "a@example.com", "commission_rate_bps": 10001}, "commission_rate_bps"},
			{"negative rate", map[string]any{"email": "a@example.com", "commission_rate_bps": -1}, "commission_rate_bps"},
			{"rate as string", map[string]any{"email": "a@example.com", "commission_rate_bps": "10"}, "commission_rate_bps"},
			{"bad payout email", map[string]any{"email": "a@example.com", "payout_email": "paypal"}, "payout_email"},
			{"long name", map[string]any{"email": "a@example.com", "name": strings.Repeat("n", 201)}, "name"},
			{"unknown field", map[string]any{"email": "a@example.com", "phone": "123"}, "phone"},
			{"email as number", map[string]any{"email": 5}, "email"},
			{"notify_sales as string", map[string]any{"email": "a@example.com", "notify_sales": "no"}, "notify_sales"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantError(t, app.Do("POST", "/api/v1/affiliates", c.body), http.StatusBadRequest, "invalid", c.field)
				patch := map[string]any{}
				for k, v := range c.body {
					if k == c.field {
						patch[k] = v
					}
				}
				if c.name == "no email" {
					patch["email"] = ""
				}
				wantError(t, app.Do("PATCH", aid(existing.ID), patch), http.StatusBadRequest, "invalid", c.field)
			})
		}
		wantError(t, app.Do("PATCH", aid(existing.ID), map[string]any{"code": ""}), http.StatusBadRequest, "invalid", "code")

		var got affiliate
		app.MustDo(http.StatusOK, "GET", aid(existing.ID), nil, &got)
		if !reflect.DeepEqual(got, existing) {
			t.Fatalf("a refused PATCH changed the affiliate:\n%+v\nwas\n%+v", got, existing)
		}
		var list struct{ Data []affiliate }
		app.MustDo(http.StatusOK, "GET", "/api/v1/affiliates", nil, &list)
		if len(list.Data) != 1 {
			t.Fatalf("%d affiliates after refused creates, want 1", len(list.Data))
		}
	})
}

func TestAffiliateUnique(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		newProgram(t, app, "club")
		var ann, bob affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates",
			map[string]any{"email": "Ann@Example.com", "code": "solare", "coupon_code": "SAVE10"}, &ann)
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates",
			map[string]any{"email": "bob@example.com", "code": "bob"}, &bob)

		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"email any case", map[string]any{"email": "ann@EXAMPLE.COM"}, "email"},
			{"email same", map[string]any{"email": "Ann@Example.com"}, "email"},
			{"code any case", map[string]any{"email": "c@example.com", "code": "SOLARE"}, "code"},
			{"code same", map[string]any{"email": "c@example.com", "code": "solare"}, "code"},
			{"coupon any case", map[string]any{"email": "c@example.com", "coupon_code": "save10"}, "coupon_code"},
			{"coupon same", map[string]any{"email": "c@example.com", "coupon_code": "SAVE10"}, "coupon_code"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantError(t, app.Do("POST", "/api/v1/affiliates", c.body), http.StatusConflict, "duplicate", c.field)
				delete(c.body, "email")
				if c.field == "email" {
					c.body["email"] = "ANN@example.com"
				}
				wantError(t, app.Do("PATCH", aid(bob.ID), c.body), http.StatusConflict, "duplicate", c.field)
			})
		}
		// Many affiliates may have no coupon; one may keep its own values.
		for _, e := range []string{"c@example.com", "d@example.com"} {
			app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": e, "coupon_code": ""}, nil)
		}
		app.MustDo(http.StatusOK, "PATCH", aid(ann.ID),
			map[string]any{"email": "ANN@example.com", "code": "Solare", "coupon_code": "save10"}, nil)
		// A value freed by one affiliate can be taken by another.
		app.MustDo(http.StatusOK, "PATCH", aid(ann.ID), map[string]any{"code": "solare-old", "coupon_code": ""}, nil)
		var b affiliate
		app.MustDo(http.StatusOK, "PATCH", aid(bob.ID), map[string]any{"code": "solare", "coupon_code": "SAVE10"}, &b)
		if b.Code != "solare" || b.CouponCode != "SAVE10" || b.ReferralURL != app.URL+"/r/solare" {
			t.Fatalf("after taking freed values: %+v", b)
		}
	})
}

func TestAffiliatePatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		newProgram(t, app, "club")
		var a affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{
			"email": "ann@example.com", "name": "Ann", "status": "pending", "commission_rate_bps": 2500, "coupon_code": "ANN",
		}, &a)
		if a.Status != "pending" || a.CommissionRateBps == nil || *a.CommissionRateBps != 2500 {
			t.Fatalf("created %+v", a)
		}
		rate := func(n int) *int { return &n }
		steps := []struct {
			body   map[string]any
			change func(a *affiliate)
		}{
			{map[string]any{}, func(*affiliate) {}},
			{map[string]any{"name": "Ann B."}, func(a *affiliate) { a.Name = "Ann B." }},
			{map[string]any{"status": "active"}, func(a *affiliate) { a.Status = "active" }},
			{map[string]any{"status": "suspended"}, func(a *affiliate) { a.Status = "suspended" }},
			{map[string]any{"status": "rejected"}, func(a *affiliate) { a.Status = "rejected" }},
			{map[string]any{"status": "pending"}, func(a *affiliate) { a.Status = "pending" }},
			{map[string]any{"commission_rate_bps": 0}, func(a *affiliate) { a.CommissionRateBps = rate(0) }},
			{map[string]any{"commission_rate_bps": 10000}, func(a *affiliate) { a.CommissionRateBps = rate(10000) }},
			{map[string]any{"commission_rate_bps": nil}, func(a *affiliate) { a.CommissionRateBps = nil }},
			{map[string]any{"code": "Ann-New"}, func(a *affiliate) {
				a.Code = "ann-new"
				a.ReferralURL = strings.TrimSuffix(a.ReferralURL, "/r/ann") + "/r/ann-new"
			}},
			{map[string]any{"coupon_code": ""}, func(a *affiliate) { a.CouponCode = "" }},
			{map[string]any{"email": "Ann@New.example.com", "payout_email": "p@example.com"}, func(a *affiliate) {
				a.Email, a.PayoutEmail = "Ann@New.example.com", "p@example.com"
			}},
			{map[string]any{"notify_sales": false}, func(a *affiliate) { a.NotifySales = false }},
			{map[string]any{"id": a.ID + 50, "created_at": "2001-01-01T00:00:00Z", "referral_url": "x", "clicks": 3}, func(*affiliate) {}},
		}
		want := a
		for i, s := range steps {
			var got affiliate
			app.MustDo(http.StatusOK, "PATCH", aid(a.ID), s.body, &got)
			s.change(&want)
			if got.UpdatedAt.Before(want.UpdatedAt) {
				t.Fatalf("step %d: updated_at went back", i)
			}
			want.UpdatedAt = got.UpdatedAt
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d %v:\n%+v\nwant\n%+v", i, s.body, got, want)
			}
			var stored affiliate
			app.MustDo(http.StatusOK, "GET", aid(a.ID), nil, &stored)
			if !reflect.DeepEqual(stored, got) {
				t.Fatalf("step %d: GET\n%+v\nPATCH returned\n%+v", i, stored, got)
			}
		}
		if want.ReferralURL != app.URL+"/r/ann-new" {
			t.Errorf("referral_url = %q", want.ReferralURL)
		}
	})
}

func TestAffiliateNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		newProgram(t, app, "club")
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "a@example.com"}, nil)
		for _, id := range []string{"999", "0", "-1", "abc", "99999999999999999999"} {
			wantError(t, app.Do("GET", "/api/v1/affiliates/"+id, nil), http.StatusNotFound, "not_found", "")
			wantError(t, app.Do("PATCH", "/api/v1/affiliates/"+id, map[string]any{"name": "x"}), http.StatusNotFound, "not_found", "")
		}
	})
}

func TestAffiliateBaseURL(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, "--base-url", "https://go.example.com/partners/")
		newProgram(t, app, "club")
		var a affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "a@example.com", "code": "solare"}, &a)
		if a.ReferralURL != "https://go.example.com/partners/r/solare" {
			t.Fatalf("referral_url = %q", a.ReferralURL)
		}
	})
}

func TestAffiliateList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		var list struct {
			Data       []affiliate `json:"data"`
			NextCursor string      `json:"next_cursor"`
		}
		r := app.MustDo(http.StatusOK, "GET", "/api/v1/affiliates", nil, &list)
		if !strings.Contains(string(r.Body), `"data":[]`) || strings.Contains(string(r.Body), "next_cursor") {
			t.Fatalf("empty list: %s", r.Body)
		}

		one, two := newProgram(t, app, "one"), newProgram(t, app, "two")
		type row struct {
			email, name, code, status string
			program                   int64
		}
		rows := []row{
			{"ann@example.com", "Ann Solare", "ann", "active", one.ID},
			{"bob@shop.example.com", "Bob", "bob", "pending", one.ID},
			{"cleo@example.com", "Cleo", "cleo-wines", "suspended", two.ID},
			{"dan@example.com", "Dan SOLARE", "dan", "active", two.ID},
			{"eve@example.com", "Eve", "eve", "active", one.ID},
		}
		ids := map[string]int64{}
		for _, x := range rows {
			var a affiliate
			app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{
				"email": x.email, "name": x.name, "code": x.code, "status": x.status, "program_id": x.program,
			}, &a)
			ids[x.code] = a.ID
		}
		codes := func(query string) []string {
			t.Helper()
			var l struct {
				Data       []affiliate `json:"data"`
				NextCursor string      `json:"next_cursor"`
			}
			app.MustDo(http.StatusOK, "GET", "/api/v1/affiliates?"+query, nil, &l)
			out := []string{}
			for _, a := range l.Data {
				out = append(out, a.Code)
				if a.ReferralURL != app.URL+"/r/"+a.Code {
					t.Errorf("list item referral_url = %q", a.ReferralURL)
				}
			}
			return out
		}
		cases := []struct {
			query string
			want  []string
		}{
			{"", []string{"ann", "bob", "cleo-wines", "dan", "eve"}},
			{"program_id=" + itoa(one.ID), []string{"ann", "bob", "eve"}},
			{"program_id=" + itoa(two.ID), []string{"cleo-wines", "dan"}},
			{"program_id=999", []string{}},
			{"status=active", []string{"ann", "dan", "eve"}},
			{"status=pending", []string{"bob"}},
			{"status=suspended", []string{"cleo-wines"}},
			{"status=active&program_id=" + itoa(two.ID), []string{"dan"}},
			{"q=solare", []string{"ann", "dan"}}, // name, any case
			{"q=SHOP.example", []string{"bob"}},  // email
			{"q=wines", []string{"cleo-wines"}},  // code
			{"q=" + url.QueryEscape("Ann "), []string{"ann"}},
			{"q=zzz", []string{}},
			{"q=solare&status=active&program_id=" + itoa(one.ID), []string{"ann"}},
			{"cursor=" + itoa(ids["bob"]), []string{"cleo-wines", "dan", "eve"}},
			{"cursor=" + itoa(ids["eve"]), []string{}},
			{"limit=2", []string{"ann", "bob"}},
		}
		for _, c := range cases {
			if got := codes(c.query); !reflect.DeepEqual(got, c.want) {
				t.Errorf("?%s: %q, want %q", c.query, got, c.want)
			}
		}

		// Pages of two walk the whole list once, and the last page says so.
		var seen []string
		cursor := ""
		for page := 0; ; page++ {
			if page > 5 {
				t.Fatal("pagination does not end")
			}
			list.Data, list.NextCursor = nil, ""
			app.MustDo(http.StatusOK, "GET", "/api/v1/affiliates?limit=2&status=active&cursor="+cursor, nil, &list)
			for _, a := range list.Data {
				seen = append(seen, a.Code)
			}
			if list.NextCursor == "" {
				break
			}
			if len(list.Data) != 2 || list.NextCursor != itoa(list.Data[1].ID) {
				t.Fatalf("page %d: %d items, next_cursor %q", page, len(list.Data), list.NextCursor)
			}
			cursor = list.NextCursor
		}
		if want := []string{"ann", "dan", "eve"}; !reflect.DeepEqual(seen, want) {
			t.Fatalf("paged: %q, want %q", seen, want)
		}
	})
}

// TestAffiliateCodeGeneratedManyTimes creates many affiliates with one name:
// each gets a distinct code, all derived from the name.
func TestAffiliateCodeGeneratedManyTimes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		newProgram(t, app, "club")
		seen := map[string]bool{}
		for i := range 20 {
			var a affiliate
			app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates",
				map[string]any{"email": fmt.Sprintf("v%d@example.com", i), "name": "Vineyard"}, &a)
			if seen[a.Code] || !strings.HasPrefix(a.Code, "vineyard") {
				t.Fatalf("code %q (seen before: %v)", a.Code, seen[a.Code])
			}
			seen[a.Code] = true
		}
	})
}
