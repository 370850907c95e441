package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

// wantError checks that r is an error response with status, code and field,
// in exactly the documented shape {"error":{"code","message","field"}}.
func wantError(t *testing.T, r *servertest.Response, status int, code, field string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON: %s", ct, r.Body)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &outer); err != nil {
		t.Fatalf("error body is not a JSON object: %v: %s", err, r.Body)
	}
	if len(outer) != 1 || outer["error"] == nil {
		t.Fatalf("error body must hold only \"error\": %s", r.Body)
	}
	var inner map[string]string
	if err := json.Unmarshal(outer["error"], &inner); err != nil {
		t.Fatalf("error object holds a non-string: %v: %s", err, r.Body)
	}
	for k := range inner {
		if k != "code" && k != "message" && k != "field" {
			t.Fatalf("error object has unexpected key %q: %s", k, r.Body)
		}
	}
	if inner["code"] != code {
		t.Fatalf("error.code %q, want %q: %s", inner["code"], code, r.Body)
	}
	if inner["message"] == "" {
		t.Fatalf("error.message is empty: %s", r.Body)
	}
	if inner["field"] != field {
		t.Fatalf("error.field %q, want %q: %s", inner["field"], field, r.Body)
	}
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

func TestAuth(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		app.MustDo(http.StatusOK, "GET", "/api/v1/programs", nil, nil)

		// Every route checks the token, not just one.
		routes := []struct{ method, path string }{
			{"GET", "/api/v1/programs"}, {"POST", "/api/v1/programs"},
			{"GET", "/api/v1/programs/1"}, {"PATCH", "/api/v1/programs/1"},
			{"GET", "/api/v1/affiliates"}, {"POST", "/api/v1/affiliates"},
			{"GET", "/api/v1/affiliates/1"}, {"PATCH", "/api/v1/affiliates/1"},
			{"GET", "/api/v1/audit"},
		}
		cases := []struct {
			name string
			h    http.Header
		}{
			{"missing header", http.Header{}},
			{"not bearer", http.Header{"Authorization": {"Basic " + app.Token}}},
			{"empty bearer", bearer("")},
			{"unknown token", bearer("aff_" + strings.Repeat("a", 32))},
			{"garbage", bearer("not a token at all")},
			{"token with a suffix", bearer(app.Token + "x")},
			{"huge", bearer("aff_" + strings.Repeat("b", 10000))},
		}
		for _, c := range cases {
			for _, rt := range routes {
				r := app.DoWith(rt.method, rt.path, map[string]string{}, c.h)
				wantError(t, r, http.StatusUnauthorized, "unauthorized", "")
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s (%s): no WWW-Authenticate header", rt.method, rt.path, c.name)
				}
			}
		}

		// A revoked token stops working at once; another one keeps working.
		other, _, err := app.Tokens.Create(context.Background(), "other")
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Tokens.Revoke(context.Background(), "test"); err != nil {
			t.Fatal(err)
		}
		wantError(t, app.Do("GET", "/api/v1/programs", nil), http.StatusUnauthorized, "unauthorized", "")
		if r := app.DoWith("GET", "/api/v1/programs", nil, bearer(other)); r.Status != http.StatusOK {
			t.Fatalf("other token: %d %s", r.Status, r.Body)
		}
	})
}

func TestRequestErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		h := func(ct string) http.Header {
			hd := bearer(app.Token)
			if ct != "" {
				hd.Set("Content-Type", ct)
			}
			return hd
		}
		valid := `{"name":"Shop","destination_url":"https://shop.example.com/"}`

		t.Run("too large", func(t *testing.T) {
			// Valid JSON, so only the size can be at fault.
			big := `{"name":"Shop","destination_url":"https://shop.example.com/","terms":"` +
				strings.Repeat("x", 1<<20) + `"}`
			wantError(t, app.DoWith("POST", "/api/v1/programs", big, h("application/json")),
				http.StatusRequestEntityTooLarge, "too_large", "")
			// Just under the limit is read (and fails on nothing but the content).
			fits := `{"name":"Shop","destination_url":"https://shop.example.com/","terms":"` +
				strings.Repeat("x", 1<<20-200) + `"}`
			r := app.DoWith("POST", "/api/v1/programs", fits, h("application/json"))
			if r.Status != http.StatusCreated {
				t.Fatalf("body under 1 MiB: %d %.300s", r.Status, r.Body)
			}
		})
		var p program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Existing", "destination_url": "https://example.com/"}, &p)
		var a affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "a@example.com", "program_id": p.ID}, &a)
		for _, ct := range []string{"text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
			"multipart/form-data; boundary=x", "json", "application/jsonx", ";;"} {
			t.Run("content type "+ct, func(t *testing.T) {
				for _, rt := range []struct{ method, path string }{
					{"POST", "/api/v1/programs"}, {"PATCH", pid(p.ID)},
					{"POST", "/api/v1/affiliates"}, {"PATCH", aid(a.ID)},
				} {
					wantError(t, app.DoWith(rt.method, rt.path, valid, h(ct)),
						http.StatusUnsupportedMediaType, "unsupported_media_type", "")
				}
			})
		}
		t.Run("no content type", func(t *testing.T) {
			req, err := http.NewRequest("POST", app.URL+"/api/v1/programs", strings.NewReader(valid))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+app.Token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, &servertest.Response{Status: res.StatusCode, Header: res.Header, Body: b},
				http.StatusUnsupportedMediaType, "unsupported_media_type", "")
		})
		t.Run("JSON content types", func(t *testing.T) {
			for i, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"} {
				body := strings.Replace(valid, "Shop", "Shop "+string(rune('a'+i)), 1)
				if r := app.DoWith("POST", "/api/v1/programs", body, h(ct)); r.Status != http.StatusCreated {
					t.Fatalf("%s: %d %s", ct, r.Status, r.Body)
				}
			}
		})
		// Each endpoint that reads a body, with a body it would accept.
		targets := []struct{ method, path, valid string }{
			{"POST", "/api/v1/programs", `{"name":"Fresh","destination_url":"https://example.com/"}`},
			{"PATCH", pid(p.ID), `{"name":"Renamed"}`},
			{"POST", "/api/v1/affiliates", `{"email":"fresh@example.com","program_id":` + itoa(p.ID) + `}`},
			{"PATCH", aid(a.ID), `{"name":"Renamed"}`},
		}
		for name, spoil := range map[string]func(valid string) string{
			"malformed":        func(v string) string { return v[:len(v)-3] },
			"not an object":    func(string) string { return `"x"` },
			"empty":            func(string) string { return `` },
			"only spaces":      func(string) string { return "  \n" },
			"null":             func(string) string { return `null x` },
			"trailing garbage": func(v string) string { return v + ` x` },
			"trailing brace":   func(v string) string { return v + `}` },
			"trailing bracket": func(v string) string { return v + "\n]" },
			"two objects":      func(v string) string { return v + v },
			"bad escape":       func(string) string { return `{"name":"\q"}` },
		} {
			t.Run(name, func(t *testing.T) {
				for _, tg := range targets {
					wantError(t, app.DoWith(tg.method, tg.path, spoil(tg.valid), h("application/json")), http.StatusBadRequest, "invalid", "")
				}
			})
		}
		t.Run("unspoiled", func(t *testing.T) {
			for _, tg := range targets {
				r := app.DoWith(tg.method, tg.path, tg.valid+" \n", h("application/json"))
				if r.Status != http.StatusOK && r.Status != http.StatusCreated {
					t.Fatalf("%s %s %s: %d %s", tg.method, tg.path, tg.valid, r.Status, r.Body)
				}
			}
		})
		t.Run("unknown endpoints", func(t *testing.T) {
			for _, rt := range []struct{ method, path string }{
				{"GET", "/api/v1/nope"}, {"POST", "/api/v1/nope"}, {"GET", "/api/v2/programs"},
				{"DELETE", "/api/v1/programs/1"}, {"GET", "/api/v1/programs/1/x"},
			} {
				wantError(t, app.DoWith(rt.method, rt.path, nil, bearer(app.Token)), http.StatusNotFound, "not_found", "")
				wantError(t, app.DoWith(rt.method, rt.path, nil, http.Header{}), http.StatusNotFound, "not_found", "")
			}
		})
		t.Run("bad query values", func(t *testing.T) {
			for _, q := range []string{"program_id=x", "cursor=-1", "limit=ten"} {
				field := strings.SplitN(q, "=", 2)[0]
				wantError(t, app.Do("GET", "/api/v1/affiliates?"+q, nil), http.StatusBadRequest, "invalid", field)
			}
			wantError(t, app.Do("GET", "/api/v1/audit?cursor=z", nil), http.StatusBadRequest, "invalid", "cursor")
		})
	})
}

// auditEntry is one row of GET /api/v1/audit.
type auditEntry struct {
	ID       int64           `json:"id"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Entity   string          `json:"entity"`
	EntityID string          `json:"entity_id"`
	Detail   json.RawMessage `json:"detail"`
}

func TestAudit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		var p program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Course", "destination_url": "https://example.com/course"}, &p)
		app.MustDo(http.StatusOK, "PATCH", pid(p.ID), map[string]any{"hold_days": 14}, nil)
		var a affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"email": "ann@example.com", "name": "Ann"}, &a)
		app.MustDo(http.StatusOK, "PATCH", aid(a.ID), map[string]any{"status": "suspended"}, nil)
		// Failed changes leave no trace.
		app.MustDo(http.StatusBadRequest, "PATCH", pid(p.ID), map[string]any{"hold_days": -1}, nil)
		app.MustDo(http.StatusConflict, "POST", "/api/v1/affiliates", map[string]any{"email": "ANN@example.com"}, nil)

		var res struct {
			Data       []auditEntry `json:"data"`
			NextCursor string       `json:"next_cursor"`
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/audit", nil, &res)
		var got []string
		for _, e := range res.Data {
			if e.Actor == "token:test" {
				got = append(got, e.Action+" "+e.Entity+" "+e.EntityID)
			}
		}
		want := []string{ // newest first
			"affiliate.update affiliate " + itoa(a.ID),
			"affiliate.create affiliate " + itoa(a.ID),
			"program.update program " + itoa(p.ID),
			"program.create program " + itoa(p.ID),
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit by token:test:\n%s\nwant:\n%s\nall: %+v", strings.Join(got, "\n"), strings.Join(want, "\n"), res.Data)
		}
		if res.NextCursor != "" {
			t.Errorf("next_cursor %q on a short list", res.NextCursor)
		}
		// The detail records the new state.
		if !bytes.Contains(res.Data[0].Detail, []byte(`"suspended"`)) {
			t.Errorf("affiliate.update detail = %s", res.Data[0].Detail)
		}
		// The token that made the server's test token was created outside any request.
		last := res.Data[len(res.Data)-1]
		if last.Action != "token.create" || last.Actor != "system" {
			t.Errorf("oldest entry = %+v, want token.create by system", last)
		}
	})
}

func TestAuditPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		var p program
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Course", "destination_url": "https://example.com/"}, &p)
		for i := range 120 {
			app.MustDo(http.StatusOK, "PATCH", pid(p.ID), map[string]any{"hold_days": i + 1}, nil)
		}
		seen := map[int64]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			var res struct {
				Data       []auditEntry `json:"data"`
				NextCursor string       `json:"next_cursor"`
			}
			app.MustDo(http.StatusOK, "GET", "/api/v1/audit?cursor="+cursor, nil, &res)
			for _, e := range res.Data {
				if seen[e.ID] {
					t.Fatalf("entry %d on two pages", e.ID)
				}
				seen[e.ID] = true
			}
			if res.NextCursor == "" {
				break
			}
			cursor = res.NextCursor
		}
		if len(seen) != 122 { // token.create, program.create, 120 updates
			t.Fatalf("saw %d entries, want 122", len(seen))
		}
	})
}

func TestHealthAndMetrics(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		for _, path := range []string{"/healthz", "/readyz"} {
			if r := app.DoWith("GET", path, nil, http.Header{}); r.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
		}
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Course", "destination_url": "https://example.com/"}, nil)
		app.MustDo(http.StatusNotFound, "GET", "/api/v1/programs/999", nil, nil)
		app.DoWith("GET", "/nothing-here", nil, http.Header{})

		r := app.DoWith("GET", "/metrics", nil, http.Header{})
		if r.Status != http.StatusOK {
			t.Fatalf("/metrics: %d", r.Status)
		}
		body := string(r.Body)
		for _, want := range []string{
			`affiliated_http_requests_total{route="POST /api/v1/programs",status="201"} 1`,
			`affiliated_http_requests_total{route="GET /api/v1/programs/{id}",status="404"} 1`,
			`affiliated_http_requests_total{route="GET /healthz",status="200"} 1`,
			`affiliated_http_requests_total{route="unmatched",status="404"} 1`,
			`affiliated_http_request_duration_seconds_bucket{route="POST /api/v1/programs",le="+Inf"} 1`,
			`go_goroutines `,
			`go_memstats_alloc_bytes `,
			`go_sql_max_open_connections{db_name="write"} `,
			`go_sql_open_connections{db_name="write"} `,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		if d.Dialect() == db.SQLite && !strings.Contains(body, `go_sql_max_open_connections{db_name="read"} `) {
			t.Errorf("/metrics lacks the SQLite reader pool")
		}
		if !strings.Contains(body, `go_sql_max_open_connections{db_name="write"} 1`) && d.Dialect() == db.SQLite {
			t.Errorf("SQLite writer pool should hold one connection")
		}
	})
}

func TestReadyzDatabaseDown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		if r := app.DoWith("GET", "/readyz", nil, http.Header{}); r.Status != http.StatusOK {
			t.Fatalf("/readyz before: %d", r.Status)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if r := app.DoWith("GET", "/readyz", nil, http.Header{}); r.Status != http.StatusServiceUnavailable {
			t.Fatalf("/readyz with the database closed: %d %s", r.Status, r.Body)
		}
		// The process is still up.
		if r := app.DoWith("GET", "/healthz", nil, http.Header{}); r.Status != http.StatusOK {
			t.Fatalf("/healthz with the database closed: %d", r.Status)
		}
		// An API call fails with a 500 that reveals nothing of the cause.
		r := app.Do("GET", "/api/v1/programs", nil)
		wantError(t, r, http.StatusInternalServerError, "internal", "")
		if strings.Contains(string(r.Body), "closed") {
			t.Errorf("500 leaks the cause: %s", r.Body)
		}
	})
}
