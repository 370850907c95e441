package public_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

// FuzzRedirect drives the whole server handler (mux, middleware, redirect)
// with arbitrary text after /r/ann and an arbitrary raw query, parsed the
// way net/http parses a request line. Whatever comes in: no 5xx, no 301,
// and no Location that leads off the allowed hosts or carries a line break.
func FuzzRedirect(f *testing.F) {
	for _, target := range openRedirects {
		rest := strings.TrimPrefix(strings.TrimPrefix(target, "/r/ann"), "/ref/ann")
		suffix, query, _ := strings.Cut(rest, "?")
		f.Add(suffix, query)
	}
	for _, seed := range [][2]string{
		{"", ""}, {"/pricing", "plan=pro"}, {"/pricing%3Fplan=pro%23top", ""}, {"/https:/blog.shop.example.com/p", "utm_source=x"},
		{"/", "ref=AAAAAAAAAAAAAAAAAAAAAA"}, {"/%", "%"}, {"/%zz", "a=%zz"}, {"/" + strings.Repeat("a/", 1100), ""},
		{"/x", strings.Repeat("k=v&", 600)}, {"/\u00e9t\u00e9", "q=\u00e9"}, {"/\xff", "\xff"},
	} {
		f.Add(seed[0], seed[1])
	}
	app := servertest.Start(f, dbtest.SQLite(f), "--click-batch-wait=0")
	var p programOut
	app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
		"name": "shop", "slug": "shop", "destination_url": "https://shop.example.com/landing?lang=en",
		"allowed_hosts": []string{"blog.shop.example.com"},
	}, &p)
	app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates",
		map[string]any{"email": "ann@example.com", "code": "ann", "program_id": p.ID}, nil)
	const self = "affiliated.test"
	allowed := map[string]bool{"shop.example.com": true, "blog.shop.example.com": true, self: true}

	f.Fuzz(func(t *testing.T, suffix, query string) {
		target := "/r/ann" + suffix
		if query != "" {
			target += "?" + query
		}
		raw := "GET " + target + " HTTP/1.1\r\nHost: " + self + "\r\nUser-Agent: " + browserUA + "\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http answers 400 before any handler runs
		}
		req.RemoteAddr = "192.0.2.1:1234"
		rec := httptest.NewRecorder()
		app.Handler.ServeHTTP(rec, req)

		if rec.Code >= 500 || rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusPermanentRedirect {
			t.Fatalf("%q: status %d", target, rec.Code)
		}
		locs := rec.Header().Values("Location")
		if len(locs) > 1 {
			t.Fatalf("%q: %d Location headers", target, len(locs))
		}
		if len(locs) == 0 {
			if rec.Code >= 300 && rec.Code < 400 {
				t.Fatalf("%q: %d without a Location", target, rec.Code)
			}
			return
		}
		loc := locs[0]
		if strings.ContainsFunc(loc, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("%q: Location %q holds a control character", target, loc)
		}
		// A path on this server (the mux's 307 to a cleaned path) stays here,
		// whatever follows; "//" or "/\\" would leave it.
		if len(loc) > 1 && loc[0] == '/' && loc[1] != '/' && loc[1] != '\\' {
			return
		}
		u, err := url.Parse("http://" + self + "/")
		if err == nil {
			u, err = u.Parse(loc)
		}
		if err != nil {
			t.Fatalf("%q: Location %q does not parse: %v", target, loc, err)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || !allowed[u.Host] {
			t.Fatalf("%q: open redirect to %q", target, loc)
		}
	})
}
