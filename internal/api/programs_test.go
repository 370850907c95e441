package api_test

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

// program is a program as the API shows it; the test's own copy of the
// contract, so a renamed JSON field fails here.
type program struct {
	ID                int64     `json:"id"`
	Name              string    `json:"name"`
	Slug              string    `json:"slug"`
	DestinationURL    string    `json:"destination_url"`
	AllowedHosts      []string  `json:"allowed_hosts"`
	FallbackURL       string    `json:"fallback_url"`
	CommissionRateBps int       `json:"commission_rate_bps"`
	FlatAmount        int64     `json:"flat_amount"`
	FlatCurrency      string    `json:"flat_currency"`
	HoldDays          int       `json:"hold_days"`
	CookieDays        int       `json:"cookie_days"`
	Attribution       string    `json:"attribution"`
	UTM               utm       `json:"utm"`
	Recurring         string    `json:"recurring"`
	MinPayout         int64     `json:"min_payout"`
	AutoApprove       bool      `json:"auto_approve"`
	Terms             string    `json:"terms"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

type utm struct {
	Source   string `json:"source"`
	Medium   string `json:"medium"`
	Campaign string `json:"campaign"`
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
func pid(id int64) string  { return "/api/v1/programs/" + itoa(id) }

func TestProgramCreateDefaults(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		var list struct {
			Data []program `json:"data"`
		}
		r := app.MustDo(http.StatusOK, "GET", "/api/v1/programs", nil, &list)
		if !strings.Contains(string(r.Body), `"data":[]`) {
			t.Errorf("empty list must be [], got %s", r.Body)
		}

		before := time.Now().UTC().Add(-time.Minute)
		var p program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
			"name":            "  Solare Wine Club  ",
			"destination_url": "https://Shop.Example.com/club?x=1",
		}, &p)
		want := program{
			ID:                p.ID,
			Name:              "Solare Wine Club",
			Slug:              "solare-wine-club",
			DestinationURL:    "https://Shop.Example.com/club?x=1",
			AllowedHosts:      []string{"shop.example.com"},
			CommissionRateBps: 5000,
			HoldDays:          30,
			CookieDays:        30,
			Attribution:       "first",
			UTM:               utm{Source: "{code}", Medium: "referral", Campaign: "{program}"},
			Recurring:         "forever",
			CreatedAt:         p.CreatedAt,
			UpdatedAt:         p.UpdatedAt,
		}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("created\n%+v\nwant\n%+v", p, want)
		}
		if p.ID <= 0 || p.CreatedAt.Before(before) || !p.UpdatedAt.Equal(p.CreatedAt) || p.CreatedAt.Location() != time.UTC {
			t.Fatalf("id %d, created_at %v, updated_at %v", p.ID, p.CreatedAt, p.UpdatedAt)
		}

		var got program
		app.MustDo(http.StatusOK, "GET", pid(p.ID), nil, &got)
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("GET\n%+v\nwant what POST returned\n%+v", got, p)
		}

		// Given values win over defaults; allowed hosts are lower-cased,
		// de-duplicated, and always include the destination's host.
		var q program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
			"name": "Course", "slug": "Course-2026", "destination_url": "http://example.com/",
			"allowed_hosts":       []string{"WWW.example.com", "", "example.com", " shop.example.com "},
			"commission_rate_bps": 10000, "hold_days": 60, "cookie_days": 90, "attribution": "last",
			"utm":       map[string]string{"medium": "affiliate"},
			"recurring": "months:12", "min_payout": 5000, "auto_approve": true,
			"flat_amount": 1500, "flat_currency": "EUR", "fallback_url": "https://example.com/oops",
		}, &q)
		if q.Slug != "course-2026" || q.CommissionRateBps != 10000 || q.HoldDays != 60 || q.CookieDays != 90 ||
			q.Attribution != "last" || q.Recurring != "months:12" || q.MinPayout != 5000 || !q.AutoApprove ||
			q.FlatAmount != 1500 || q.FlatCurrency != "EUR" || q.FallbackURL != "https://example.com/oops" {
			t.Fatalf("given values not kept: %+v", q)
		}
		if q.UTM != (utm{Source: "{code}", Medium: "affiliate", Campaign: "{program}"}) {
			t.Errorf("utm = %+v: unset templates take their defaults", q.UTM)
		}
		if want := []string{"example.com", "www.example.com", "shop.example.com"}; !reflect.DeepEqual(q.AllowedHosts, want) {
			t.Errorf("allowed_hosts = %q, want %q", q.AllowedHosts, want)
		}

		// An explicit zero is a value, not a request for the default.
		var zero program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
			"name": "Vendors", "destination_url": "https://example.com/", "commission_rate_bps": 0, "hold_days": 0,
		}, &zero)
		if zero.CommissionRateBps != 0 || zero.HoldDays != 0 || zero.CookieDays != 30 {
			t.Errorf("explicit zeroes: rate %d, hold %d, cookie %d", zero.CommissionRateBps, zero.HoldDays, zero.CookieDays)
		}

		// A long name still yields a valid slug.
		var long program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
			"name": strings.Repeat("Very Long Programme Name ", 8), "destination_url": "https://example.com/",
		}, &long)
		if len(long.Slug) == 0 || len(long.Slug) > 64 || strings.HasSuffix(long.Slug, "-") {
			t.Errorf("slug of a long name = %q", long.Slug)
		}

		// The server ignores a client-chosen id and timestamps.
		var forced program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
			"id": 777, "name": "Forced", "destination_url": "https://example.com/",
			"created_at": "2001-01-01T00:00:00Z", "updated_at": "2001-01-01T00:00:00Z",
		}, &forced)
		if forced.ID == 777 || forced.CreatedAt.Year() == 2001 || forced.UpdatedAt.Year() == 2001 {
			t.Errorf("client set id or timestamps: %+v", forced)
		}

		app.MustDo(http.StatusOK, "GET", "/api/v1/programs", nil, &list)
		var ids []int64
		for _, x := range list.Data {
			ids = append(ids, x.ID)
		}
		if want := []int64{p.ID, q.ID, zero.ID, long.ID, forced.ID}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("list ids %v, want %v (oldest first)", ids, want)
		}
		if !reflect.DeepEqual(list.Data[1], q) || !reflect.DeepEqual(list.Data[2], zero) {
			t.Errorf("list item\n%+v\nwant\n%+v", list.Data[1], q)
		}
	})
}

func TestProgramValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		var existing program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Shop", "destination_url": "https://shop.example.com/"}, &existing)

		base := func(kv ...any) map[string]any {
			m := map[string]any{"name": "New", "slug": "new", "destination_url": "https://example.com/"}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		}
		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no name", base("name", ""), "name"},
			{"blank name", base("name", "   "), "name"},
			{"no destination", base("destination_url", ""), "destination_url"},
			{"ftp destination", base("destination_url", "ftp://example.com/"), "destination_url"},
			{"relative destination", base("destination_url", "/landing"), "destination_url"},
			{"schemeless destination", base("destination_url", "example.com"), "destination_url"},
			{"javascript destination", base("destination_url", "javascript:alert(1)"), "destination_url"},
			{"destination with credentials", base("destination_url", "https://u:p@example.com/"), "destination_url"},
			{"slug with space", base("slug", "my slug"), "slug"},
			{"slug with symbol", base("slug", "shop!"), "slug"},
			{"slug starting with dash", base("slug", "-shop"), "slug"},
			{"slug too long", base("slug", strings.Repeat("a", 65)), "slug"},
			{"slug from a name of symbols", base("slug", "", "name", "!!!"), "slug"},
			{"rate over 100%", base("commission_rate_bps", 10001), "commission_rate_bps"},
			{"negative rate", base("commission_rate_bps", -1), "commission_rate_bps"},
			{"attribution middle", base("attribution", "middle"), "attribution"},
			{"recurring weekly", base("recurring", "weekly"), "recurring"},
			{"recurring months:0", base("recurring", "months:0"), "recurring"},
			{"negative hold", base("hold_days", -1), "hold_days"},
			{"hold over ten years", base("hold_days", 3651), "hold_days"},
			{"negative cookie", base("cookie_days", -5), "cookie_days"},
			{"zero cookie", base("cookie_days", 0), "cookie_days"},
			{"allowed host with a path", base("allowed_hosts", []string{"example.com/x"}), "allowed_hosts"},
			{"allowed host with credentials", base("allowed_hosts", []string{"u@example.com"}), "allowed_hosts"},
			{"fallback not a URL", base("fallback_url", "not a url"), "fallback_url"},
			{"negative flat amount", base("flat_amount", -1), "flat_amount"},
			{"flat amount without currency", base("flat_amount", 100), "flat_currency"},
			{"flat currency lower case", base("flat_amount", 100, "flat_currency", "usd"), "flat_currency"},
			{"long utm", base("utm", map[string]string{"source": strings.Repeat("s", 201)}), "utm.source"},
			{"negative min payout", base("min_payout", -1), "min_payout"},
			{"unknown field", base("colour", "red"), "colour"},
			{"unknown utm field", base("utm", map[string]string{"term": "x"}), "term"},
			{"rate as string", base("commission_rate_bps", "50%"), "commission_rate_bps"},
			{"rate as fraction", base("commission_rate_bps", 12.5), "commission_rate_bps"},
			{"name as number", base("name", 5), "name"},
			{"hosts as string", base("allowed_hosts", "example.com"), "allowed_hosts"},
			{"utm as string", base("utm", "x"), "utm"},
			{"utm source as number", base("utm", map[string]any{"source": 1}), "utm.source"},
			{"auto_approve as string", base("auto_approve", "yes"), "auto_approve"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantError(t, app.Do("POST", "/api/v1/programs", c.body), http.StatusBadRequest, "invalid", c.field)
				// The same mistake is refused by PATCH, except where PATCH
				// keeps the stored value for an empty one.
				patch := map[string]any{}
				for k, v := range c.body {
					if k != "name" && k != "slug" && k != "destination_url" || c.field == k {
						patch[k] = v
					}
				}
				if c.name == "slug from a name of symbols" {
					return
				}
				wantError(t, app.Do("PATCH", pid(existing.ID), patch), http.StatusBadRequest, "invalid", c.field)
			})
		}
		// Nothing above changed the stored program or added one.
		var got program
		app.MustDo(http.StatusOK, "GET", pid(existing.ID), nil, &got)
		if !reflect.DeepEqual(got, existing) {
			t.Fatalf("a refused PATCH changed the program:\n%+v\nwas\n%+v", got, existing)
		}
		var list struct{ Data []program }
		app.MustDo(http.StatusOK, "GET", "/api/v1/programs", nil, &list)
		if len(list.Data) != 1 {
			t.Fatalf("%d programs after refused creates, want 1", len(list.Data))
		}
	})
}

func TestProgramDuplicateSlug(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		var shop, other program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Shop", "destination_url": "https://example.com/"}, &shop)
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Other", "destination_url": "https://example.com/"}, &other)

		for _, body := range []map[string]any{
			{"name": "Shop", "destination_url": "https://example.com/"},                 // slug from the name
			{"name": "X", "slug": "SHOP", "destination_url": "https://example.com/"},    // any case
			{"name": "X", "slug": "  shop ", "destination_url": "https://example.com/"}, // spaces trimmed
		} {
			wantError(t, app.Do("POST", "/api/v1/programs", body), http.StatusConflict, "duplicate", "slug")
		}
		wantError(t, app.Do("PATCH", pid(other.ID), map[string]any{"slug": "shop"}), http.StatusConflict, "duplicate", "slug")
		// Keeping one's own slug is no conflict.
		app.MustDo(http.StatusOK, "PATCH", pid(shop.ID), map[string]any{"slug": "shop", "name": "Shop 2"}, nil)
	})
}

func TestProgramNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Shop", "destination_url": "https://example.com/"}, nil)
		for _, id := range []string{"999", "0", "-1", "abc", "1.0", "99999999999999999999", "%20"} {
			wantError(t, app.Do("GET", "/api/v1/programs/"+id, nil), http.StatusNotFound, "not_found", "")
			wantError(t, app.Do("PATCH", "/api/v1/programs/"+id, map[string]any{"name": "x"}), http.StatusNotFound, "not_found", "")
		}
	})
}

func TestProgramPatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		var p program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
			"name": "Course", "destination_url": "https://example.com/course",
			"allowed_hosts": []string{"www.example.com"}, "terms": "Be nice.",
		}, &p)

		steps := []struct {
			body   map[string]any
			change func(p *program)
		}{
			{map[string]any{}, func(*program) {}},
			{map[string]any{"name": "Course 2"}, func(p *program) { p.Name = "Course 2" }},
			{map[string]any{"commission_rate_bps": 0}, func(p *program) { p.CommissionRateBps = 0 }},
			{map[string]any{"hold_days": 0, "cookie_days": 7}, func(p *program) { p.HoldDays, p.CookieDays = 0, 7 }},
			{map[string]any{"attribution": "last"}, func(p *program) { p.Attribution = "last" }},
			{map[string]any{"utm": map[string]string{"medium": "partner"}}, func(p *program) { p.UTM.Medium = "partner" }},
			{map[string]any{"slug": "course-two"}, func(p *program) { p.Slug = "course-two" }},
			{map[string]any{"terms": ""}, func(p *program) { p.Terms = "" }},
			{map[string]any{"recurring": "once", "auto_approve": true}, func(p *program) { p.Recurring, p.AutoApprove = "once", true }},
			{map[string]any{"destination_url": "https://new.example.com/"}, func(p *program) {
				// The new destination's host is allowed; the hosts already allowed stay.
				p.DestinationURL = "https://new.example.com/"
				p.AllowedHosts = []string{"new.example.com", "example.com", "www.example.com"}
			}},
			// id, created_at and updated_at are the server's.
			{map[string]any{"id": p.ID + 100, "created_at": "2001-01-01T00:00:00Z", "updated_at": "2001-01-01T00:00:00Z"}, func(*program) {}},
		}
		want := p
		for i, s := range steps {
			var got program
			app.MustDo(http.StatusOK, "PATCH", pid(p.ID), s.body, &got)
			s.change(&want)
			if got.UpdatedAt.Before(want.UpdatedAt) {
				t.Fatalf("step %d: updated_at went back from %v to %v", i, want.UpdatedAt, got.UpdatedAt)
			}
			want.UpdatedAt = got.UpdatedAt
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("step %d %v:\n%+v\nwant\n%+v", i, s.body, got, want)
			}
			var stored program
			app.MustDo(http.StatusOK, "GET", pid(p.ID), nil, &stored)
			if !reflect.DeepEqual(stored, got) {
				t.Fatalf("step %d: GET\n%+v\nPATCH returned\n%+v", i, stored, got)
			}
		}
		if !want.UpdatedAt.After(p.CreatedAt) {
			t.Errorf("updated_at %v not after created_at %v", want.UpdatedAt, p.CreatedAt)
		}
		wantError(t, app.Do("GET", pid(p.ID+100), nil), http.StatusNotFound, "not_found", "")
	})
}
