package public_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"affiliated/internal/config"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
	"affiliated/internal/tracking"
)

func TestRedirect(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "shop", nil)
		a := newAffiliate(t, app, p.ID, "ann")
		seen := map[string]bool{}
		for _, path := range []string{"/r/ann", "/ref/ann", "/r/ANN", "/ref/AnN"} {
			res := visit(t, app, "GET", path)
			u := location(t, res, http.StatusFound)
			if u.Scheme != "https" || u.Host != "shop.example.com" || u.Path != "/landing" {
				t.Errorf("%s: Location %s, want https://shop.example.com/landing?…", path, u)
			}
			// The destination's own query comes first, untouched.
			if !strings.HasPrefix(u.RawQuery, "lang=en&") {
				t.Errorf("%s: query %q does not start with the destination's lang=en", path, u.RawQuery)
			}
			q := u.Query()
			for k, want := range map[string]string{"utm_source": "ann", "utm_medium": "referral", "utm_campaign": "shop"} {
				if got := q[k]; len(got) != 1 || got[0] != want {
					t.Errorf("%s: %s = %q, want [%q]", path, k, got, want)
				}
			}
			ref := q.Get("ref")
			if !tracking.ValidReferralID(ref) || seen[ref] {
				t.Errorf("%s: ref %q is not a new referral id", path, ref)
			}
			seen[ref] = true
			cs := setCookies(t, res.Header)
			if len(cs) != 1 {
				t.Fatalf("%s: %d Set-Cookie headers, want 1", path, len(cs))
			}
			c := cs[0]
			if c.Name != "aff_ref" || c.Value != ref || c.MaxAge != 30*86400 || c.Path != "/" ||
				c.SameSite != http.SameSiteLaxMode || c.Secure || c.Domain != "" {
				t.Errorf("%s: cookie %q, want aff_ref=%s; Path=/; Max-Age=2592000; SameSite=Lax", path, res.Header.Get("Set-Cookie"), ref)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s: Cache-Control %q, want no-store", path, cc)
			}
		}
		if got := getAffiliate(t, app, a.ID); got.Clicks != 4 || got.UniqueVisitors != 4 {
			t.Errorf("affiliate counts clicks=%d unique=%d, want 4 and 4", got.Clicks, got.UniqueVisitors)
		}
	})
}

// keyCount counts each key of a raw query, to catch duplicates.
func keyCount(raw string) map[string]int {
	n := map[string]int{}
	for part := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(part, "=")
		n[k]++
	}
	return n
}

func TestRedirectQueryMerging(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, dest, path string
		want             map[string]string // every key of the Location's query except ref
	}{
		{"defaults", "https://d.example.com/", "",
			map[string]string{"utm_source": "c0", "utm_medium": "referral", "utm_campaign": "p0"}},
		{"destination has utm_source", "https://d.example.com/?utm_source=newsletter", "",
			map[string]string{"utm_source": "newsletter", "utm_medium": "referral", "utm_campaign": "p1"}},
		{"destination has all three", "https://d.example.com/?utm_medium=email&utm_campaign=spring&utm_source=x&a=1", "",
			map[string]string{"utm_source": "x", "utm_medium": "email", "utm_campaign": "spring", "a": "1"}},
		{"destination's stale ref is replaced", "https://d.example.com/p?ref=old&a=1", "",
			map[string]string{"a": "1", "utm_source": "c3", "utm_medium": "referral", "utm_campaign": "p3"}},
		{"visitor's query is forwarded", "https://d.example.com/", "?utm_content=hero&x=1",
			map[string]string{"utm_content": "hero", "x": "1", "utm_source": "c4", "utm_medium": "referral", "utm_campaign": "p4"}},
		{"destination beats the visitor", "https://d.example.com/?utm_source=site", "?utm_source=visitor&ref=forged",
			map[string]string{"utm_source": "site", "utm_medium": "referral", "utm_campaign": "p5"}},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				slug, code := "p"+string(rune('0'+i)), "c"+string(rune('0'+i))
				p := newProgram(t, app, slug, map[string]any{"destination_url": tc.dest, "allowed_hosts": []string{}})
				newAffiliate(t, app, p.ID, code)
				u := location(t, visit(t, app, "GET", "/r/"+code+tc.path), http.StatusFound)
				for k, n := range keyCount(u.RawQuery) {
					if n != 1 {
						t.Errorf("%s appears %d times in %q", k, n, u.RawQuery)
					}
				}
				q := u.Query()
				if !tracking.ValidReferralID(q.Get("ref")) {
					t.Errorf("ref %q is not ours", q.Get("ref"))
				}
				q.Del("ref")
				if len(q) != len(tc.want) {
					t.Errorf("query %q, want exactly %v plus ref", u.RawQuery, tc.want)
				}
				for k, v := range tc.want {
					if q.Get(k) != v {
						t.Errorf("%s = %q, want %q (query %q)", k, q.Get(k), v, u.RawQuery)
					}
				}
			})
		}
	})
}

func TestRedirectCustomUTM(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "shop", nil)
		newAffiliate(t, app, p.ID, "ann")
		location(t, visit(t, app, "GET", "/r/ann"), http.StatusFound) // cached now
		steps := []struct {
			utm  map[string]string
			want map[string]string // "" means absent
		}{
			{map[string]string{"source": "partner-{code}", "medium": "affiliate", "campaign": "-"},
				map[string]string{"utm_source": "partner-ann", "utm_medium": "affiliate", "utm_campaign": ""}},
			{map[string]string{"campaign": "{program}-{code} 2026"},
				map[string]string{"utm_source": "partner-ann", "utm_medium": "affiliate", "utm_campaign": "shop-ann 2026"}},
		}
		for _, s := range steps {
			app.MustDo(http.StatusOK, "PATCH", "/api/v1/programs/"+itoa(p.ID), map[string]any{"utm": s.utm}, nil)
			u := location(t, visit(t, app, "GET", "/r/ann"), http.StatusFound)
			q := u.Query()
			for k, want := range s.want {
				if _, has := q[k]; want == "" && has {
					t.Errorf("after PATCH %v: %s present in %q, want absent", s.utm, k, u.RawQuery)
				} else if want != "" && q.Get(k) != want {
					t.Errorf("after PATCH %v: %s = %q, want %q", s.utm, k, q.Get(k), want)
				}
			}
		}
	})
}

func TestRedirectCookieSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		days   int
		cookie http.Cookie // Name, Domain, Secure, MaxAge checked
	}{
		{"defaults", nil, 0, http.Cookie{Name: "aff_ref", MaxAge: 30 * 86400}},
		{"cookie days", nil, 7, http.Cookie{Name: "aff_ref", MaxAge: 7 * 86400}},
		{"name", []string{"--cookie-name=partner_ref"}, 90, http.Cookie{Name: "partner_ref", MaxAge: 90 * 86400}},
		{"domain", []string{"--cookie-domain=example.com"}, 0, http.Cookie{Name: "aff_ref", Domain: "example.com", MaxAge: 30 * 86400}},
		{"https base url", []string{"--base-url=https://go.example.com"}, 0, http.Cookie{Name: "aff_ref", Secure: true, MaxAge: 30 * 86400}},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				app := servertest.Start(t, sameEngine(t, d), tc.args...)
				fields := map[string]any{}
				if tc.days != 0 {
					fields["cookie_days"] = tc.days
				}
				slug := "s" + itoa(int64(i))
				p := newProgram(t, app, slug, fields)
				newAffiliate(t, app, p.ID, "a"+slug)
				res := visit(t, app, "GET", "/r/a"+slug)
				ref := location(t, res, http.StatusFound).Query().Get("ref")
				cs := setCookies(t, res.Header)
				if len(cs) != 1 {
					t.Fatalf("%d cookies, want 1: %q", len(cs), res.Header.Values("Set-Cookie"))
				}
				c, w := cs[0], tc.cookie
				if c.Name != w.Name || c.Value != ref || c.Domain != w.Domain || c.Secure != w.Secure ||
					c.MaxAge != w.MaxAge || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
					t.Errorf("Set-Cookie %q, want %s=%s Domain=%q Secure=%v Max-Age=%d Path=/ SameSite=Lax",
						res.Header.Get("Set-Cookie"), w.Name, ref, w.Domain, w.Secure, w.MaxAge)
				}
				// The configured name is the one read back: a second click keeps it.
				again := visit(t, app, "GET", "/r/a"+slug, "Cookie", w.Name+"="+ref)
				if got := location(t, again, http.StatusFound).Query().Get("ref"); got != ref {
					t.Errorf("with %s=%s, ref = %q, want it kept", w.Name, ref, got)
				}
			})
		}
	})
}

func TestAttribution(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		ctx := context.Background()
		for _, model := range []string{"first", "last"} {
			t.Run(model, func(t *testing.T) {
				p := newProgram(t, app, model, map[string]any{"attribution": model, "cookie_days": 60})
				ann := newAffiliate(t, app, p.ID, model+"-ann")
				bob := newAffiliate(t, app, p.ID, model+"-bob")
				first := visit(t, app, "GET", "/r/"+ann.Code)
				ref := location(t, first, http.StatusFound).Query().Get("ref")

				second := visit(t, app, "GET", "/r/"+bob.Code, "Cookie", "aff_ref="+ref)
				if got := location(t, second, http.StatusFound).Query().Get("ref"); got != ref {
					t.Fatalf("second click: ref %q, want the cookie's %q", got, ref)
				}
				cs := setCookies(t, second.Header)
				if model == "first" && len(cs) != 0 {
					t.Errorf("first touch: second click set %q, want no Set-Cookie", second.Header.Values("Set-Cookie"))
				}
				if model == "last" && (len(cs) != 1 || cs[0].Value != ref || cs[0].MaxAge != 60*86400) {
					t.Errorf("last touch: second click set %q, want aff_ref=%s renewed for 60 days", second.Header.Values("Set-Cookie"), ref)
				}
				// Both clicks are logged, the second one for bob and not unique.
				for _, c := range []struct {
					aff    affiliateOut
					unique bool
				}{{ann, true}, {bob, false}} {
					got := clicksOf(t, app, c.aff.ID)
					if len(got) != 1 || got[0].ReferralID != ref || got[0].IsUnique != c.unique {
						t.Errorf("clicks of %s = %+v, want one click of %s with is_unique=%v", c.aff.Code, got, ref, c.unique)
					}
				}
				if a := getAffiliate(t, app, bob.ID); a.Clicks != 1 || a.UniqueVisitors != 0 {
					t.Errorf("bob: clicks=%d unique=%d, want 1 and 0", a.Clicks, a.UniqueVisitors)
				}
				want := ann.ID
				if model == "last" {
					want = bob.ID
				}
				c, ok, err := app.Stats.ReferralClick(ctx, ref, time.Now(), model == "last")
				if err != nil || !ok || c.AffiliateID != want {
					t.Errorf("ReferralClick = %+v, %v, %v; want affiliate %d", c, ok, err, want)
				}
			})
		}
	})
}

func TestRedirectInvalidCookie(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "shop", nil)
		a := newAffiliate(t, app, p.ID, "ann")
		bad := []string{"garbage", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAAAA", "%3Cscript%3E", "AAAAAAAAAAAAAAAAAAAA.A"}
		for _, v := range bad {
			res := visit(t, app, "GET", "/r/ann", "Cookie", "aff_ref="+v)
			ref := location(t, res, http.StatusFound).Query().Get("ref")
			if ref == v || !tracking.ValidReferralID(ref) {
				t.Errorf("cookie %q: ref %q, want a new id", v, ref)
			}
			if cs := setCookies(t, res.Header); len(cs) != 1 || cs[0].Value != ref {
				t.Errorf("cookie %q: Set-Cookie %q, want the new id", v, res.Header.Values("Set-Cookie"))
			}
		}
		for _, c := range clicksOf(t, app, a.ID) {
			if !c.IsUnique {
				t.Errorf("click %+v: a new id must be a unique visitor", c)
			}
		}
	})
}

func TestDeepLinks(t *testing.T) {
	t.Parallel()
	cases := []struct{ path, want, query string }{
		{"/r/ann/pricing", "https://shop.example.com/pricing", ""},
		{"/r/ann/pricing/pro", "https://shop.example.com/pricing/pro", ""},
		{"/ref/ann/pricing", "https://shop.example.com/pricing", ""},
		{"/r/ann/pricing%3Fplan=pro", "https://shop.example.com/pricing", "plan=pro"},
		{"/r/ann/docs%23install", "https://shop.example.com/docs#install", ""},
		{"/r/ann/https:/blog.shop.example.com/post", "https://blog.shop.example.com/post", ""},
		{"/r/ann/https:%2F%2Fblog.shop.example.com%2Fpost", "https://blog.shop.example.com/post", ""},
		// Not allowed: the visitor still lands, on the destination itself.
		{"/r/ann/https:/other.example.com/post", "https://shop.example.com/landing", ""},
		{"/r/ann/a/..%2F..%2Fx", "https://shop.example.com/landing", ""},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "shop", nil)
		newAffiliate(t, app, p.ID, "ann")
		for _, tc := range cases {
			u := location(t, visit(t, app, "GET", tc.path), http.StatusFound)
			got := u.Scheme + "://" + u.Host + u.Path
			if u.Fragment != "" {
				got += "#" + u.Fragment
			}
			if got != tc.want {
				t.Errorf("%s: lands on %s, want %s", tc.path, got, tc.want)
			}
			q := u.Query()
			if tc.query != "" {
				k, v, _ := strings.Cut(tc.query, "=")
				if q.Get(k) != v {
					t.Errorf("%s: %s = %q, want %q", tc.path, k, q.Get(k), v)
				}
			}
			if q.Get("utm_source") != "ann" || !tracking.ValidReferralID(q.Get("ref")) {
				t.Errorf("%s: query %q lacks utm_source or ref", tc.path, u.RawQuery)
			}
		}
	})
}

// openRedirects are request targets that try to leave the allowed hosts.
var openRedirects = []string{
	"/r/ann//evil.com", "/r/ann///evil.com", "/r/ann/%2F%2Fevil.com", "/r/ann/%2f%2fevil.com",
	`/r/ann/\\evil.com`, `/r/ann/\evil.com`, `/r/ann//\evil.com`, `/r/ann/%5C%5Cevil.com`, `/r/ann/%2F%5Cevil.com`,
	"/r/ann/%252F%252Fevil.com", "/r/ann/%25252F%25252Fevil.com", "/r/ann/%2525252F%2525252Fevil.com",
	"/r/ann/https:/evil.com", "/r/ann/https://evil.com", "/r/ann/https:%2F%2Fevil.com", "/r/ann/HTTPS:/EVIL.COM",
	"/r/ann/https:evil.com", "/r/ann/https:/%65vil.com", "/r/ann/http:/evil.com:443/", "/r/ann/ftp:/evil.com",
	"/r/ann/javascript:alert(1)", "/r/ann/data:text/html,hi", "/r/ann/https:/[::1]/", "/r/ann/https:/127.0.0.1/",
	"/r/ann/@evil.com", "/r/ann/https:/shop.example.com@evil.com", "/r/ann/https:/shop.example.com%40evil.com",
	"/r/ann/https:/shop.example.com:443@evil.com/", "/r/ann/https:/user:pw@shop.example.com/",
	"/r/ann/https:/shop.example.com.evil.com/", "/r/ann/https:/evil.com%23.shop.example.com",
	"/r/ann/https:/evil.com%3F.shop.example.com", "/r/ann/https:/evil.com%00.shop.example.com",
	"/r/ann/https:/evil.com%2F.shop.example.com", "/r/ann/https:/blog.shop.example.com:8443/",
	"/r/ann/pricing%0D%0ALocation:%20https://evil.com", "/r/ann/%0d%0aSet-Cookie:%20x=y",
	"/r/ann/x%0aLocation:https://evil.com", "/r/ann/pricing%09//evil.com", "/r/ann/%E2%80%A8//evil.com",
	"/r/ann/..%2F..%2F..%2Fevil.com", "/r/ann/%2e%2e%2f%2e%2e%2fevil.com", "/r/ann/../../evil.com",
	"/r/ann/.%2F%2Fevil.com", "/r/ann/%09/evil.com", "/r/ann/%20//evil.com",
	"/ref/ann/%2F%2Fevil.com", "/ref/ann/https:/evil.com",
	"/r/ann?url=https://evil.com", "/r/ann?%0d%0aLocation:%20https://evil.com=1", "/r/ann?next=//evil.com&ref=x",
	"/r/ann/pricing?%0d%0aSet-Cookie:%20a=b", "/r/ann/pricing%3F%0d%0aSet-Cookie:%20a=b",
}

func TestOpenRedirect(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "shop", nil)
		newAffiliate(t, app, p.ID, "ann")
		self, _ := url.Parse(app.URL)
		allowed := map[string]bool{"shop.example.com": true, "blog.shop.example.com": true, self.Host: true}
		for _, target := range openRedirects {
			res := rawDo(t, app, "GET", target)
			if res.StatusCode == http.StatusMovedPermanently || res.StatusCode >= 500 {
				t.Errorf("%s: status %d", target, res.StatusCode)
			}
			locs := res.Header.Values("Location")
			if len(locs) > 1 {
				t.Errorf("%s: %d Location headers: %q", target, len(locs), locs)
			}
			for _, c := range res.Header.Values("Set-Cookie") {
				if !strings.HasPrefix(c, "aff_ref=") {
					t.Errorf("%s: injected Set-Cookie %q", target, c)
				}
			}
			if len(locs) == 0 {
				continue
			}
			u, err := self.Parse(locs[0])
			if err != nil {
				t.Errorf("%s: Location %q does not parse: %v", target, locs[0], err)
				continue
			}
			if (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || !allowed[u.Host] {
				t.Errorf("%s: open redirect to %q", target, locs[0])
			}
		}
	})
}

func TestUnknownAndInactiveCodes(t *testing.T) {
	t.Parallel()
	// setup makes a suspended affiliate on a program without a fallback
	// URL, one on a program with one, and a pending one; the suspended ones
	// get a click while still active (and cached).
	setup := func(t *testing.T, app *servertest.App) map[string]int64 {
		plain := newProgram(t, app, "plain", nil)
		withFallback := newProgram(t, app, "fb", map[string]any{"fallback_url": "https://fb.example.com/closed"})
		ids := map[string]int64{
			"sus":   newAffiliate(t, app, plain.ID, "sus").ID,
			"susfb": newAffiliate(t, app, withFallback.ID, "susfb").ID,
			"pend":  newAffiliate(t, app, plain.ID, "pend").ID,
		}
		for _, code := range []string{"sus", "susfb"} {
			location(t, visit(t, app, "GET", "/r/"+code), http.StatusFound)
			app.MustDo(http.StatusOK, "PATCH", "/api/v1/affiliates/"+itoa(ids[code]), map[string]any{"status": "suspended"}, nil)
		}
		app.MustDo(http.StatusOK, "PATCH", "/api/v1/affiliates/"+itoa(ids["pend"]), map[string]any{"status": "pending"}, nil)
		return ids
	}
	// noClicks checks that only the clicks from while they were active were logged.
	noClicks := func(t *testing.T, app *servertest.App, ids map[string]int64) {
		for code, want := range map[string]int{"sus": 1, "susfb": 1, "pend": 0} {
			if n := len(clicksOf(t, app, ids[code])); n != want {
				t.Errorf("%s has %d clicks, want %d", code, n, want)
			}
		}
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		t.Run("404 page", func(t *testing.T) {
			app := servertest.Start(t, d)
			ids := setup(t, app)
			for _, path := range []string{"/r/nope", "/ref/nope", "/r/sus", "/r/SUS", "/r/pend", "/r/bad.code", "/r/" + strings.Repeat("a", 65)} {
				res := visit(t, app, "GET", path)
				if res.Status != http.StatusNotFound || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
					!strings.Contains(string(res.Body), "Link not found") {
					t.Errorf("%s: %d %q %q, want the 404 page", path, res.Status, res.Header.Get("Content-Type"), res.Body)
				}
				if len(res.Header.Values("Set-Cookie")) != 0 {
					t.Errorf("%s: a 404 sets a cookie", path)
				}
			}
			if u := location(t, visit(t, app, "GET", "/r/susfb"), http.StatusFound); u.String() != "https://fb.example.com/closed" {
				t.Errorf("suspended with a program fallback: Location %s", u)
			}
			noClicks(t, app, ids)
		})
		t.Run("--fallback-url", func(t *testing.T) {
			app := servertest.Start(t, sameEngine(t, d), "--fallback-url=https://www.example.com/partners")
			ids := setup(t, app)
			// The program's fallback wins over the server's.
			for path, want := range map[string]string{
				"/r/nope":     "https://www.example.com/partners",
				"/r/bad.code": "https://www.example.com/partners",
				"/r/sus":      "https://www.example.com/partners",
				"/r/pend":     "https://www.example.com/partners",
				"/r/susfb":    "https://fb.example.com/closed",
			} {
				res := visit(t, app, "GET", path)
				if u := location(t, res, http.StatusFound); u.String() != want {
					t.Errorf("%s → %s, want %s", path, u, want)
				}
				if len(res.Header.Values("Set-Cookie")) != 0 {
					t.Errorf("%s sets a cookie", path)
				}
			}
			noClicks(t, app, ids)
		})
	})
}

func TestChangesTakeEffectImmediately(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		// A long TTL: only invalidation can explain a change being seen.
		app := servertest.Start(t, d, "--link-cache-ttl=1h")
		p := newProgram(t, app, "shop", nil)
		a := newAffiliate(t, app, p.ID, "ann")
		location(t, visit(t, app, "GET", "/r/ann"), http.StatusFound)
		app.MustDo(http.StatusOK, "PATCH", "/api/v1/affiliates/"+itoa(a.ID), map[string]any{"status": "suspended"}, nil)
		if res := visit(t, app, "GET", "/r/ann"); res.Status != http.StatusNotFound {
			t.Fatalf("after suspending: %d, want 404", res.Status)
		}
		app.MustDo(http.StatusOK, "PATCH", "/api/v1/affiliates/"+itoa(a.ID), map[string]any{"status": "active"}, nil)
		location(t, visit(t, app, "GET", "/r/ann"), http.StatusFound)
		app.MustDo(http.StatusOK, "PATCH", "/api/v1/programs/"+itoa(p.ID), map[string]any{"destination_url": "https://new.example.com/"}, nil)
		if u := location(t, visit(t, app, "GET", "/r/ann"), http.StatusFound); u.Host != "new.example.com" {
			t.Errorf("after changing the destination: Location %s", u)
		}
		// A code created after a miss was cached resolves at once.
		if res := visit(t, app, "GET", "/r/late"); res.Status != http.StatusNotFound {
			t.Fatalf("/r/late before it exists: %d", res.Status)
		}
		newAffiliate(t, app, p.ID, "late")
		location(t, visit(t, app, "GET", "/r/late"), http.StatusFound)
	})
}

func TestHead(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "shop", nil)
		a := newAffiliate(t, app, p.ID, "ann")
		res := visit(t, app, "HEAD", "/r/ann")
		u := location(t, res, http.StatusFound)
		q := u.Query()
		if u.Host != "shop.example.com" || u.Path != "/landing" || q.Get("utm_source") != "ann" || q.Get("lang") != "en" {
			t.Errorf("HEAD: Location %s, want the GET's shape", u)
		}
		if q.Has("ref") || len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("HEAD issued a referral id: Location %s, Set-Cookie %q", u, res.Header.Values("Set-Cookie"))
		}
		const id = "AAAAAAAAAAAAAAAAAAAAAA"
		res = visit(t, app, "HEAD", "/r/ann", "Cookie", "aff_ref="+id)
		if got := location(t, res, http.StatusFound).Query().Get("ref"); got != id || len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("HEAD with a cookie: ref %q, Set-Cookie %q; want ref=%s and no cookie", got, res.Header.Values("Set-Cookie"), id)
		}
		if res := visit(t, app, "HEAD", "/r/nope"); res.Status != http.StatusNotFound || len(res.Body) != 0 {
			t.Errorf("HEAD unknown code: %d with %d bytes", res.Status, len(res.Body))
		}
		// A GET commits after anything queued before it, so if a HEAD had
		// been logged it would show now.
		ref := location(t, visit(t, app, "GET", "/r/ann"), http.StatusFound).Query().Get("ref")
		if cs := clicksOf(t, app, a.ID); len(cs) != 1 || cs[0].ReferralID != ref {
			t.Errorf("clicks after two HEADs and a GET: %+v, want only the GET's", cs)
		}
	})
}

func TestBots(t *testing.T) {
	t.Parallel()
	bots := []string{
		"Twitterbot/1.0",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"curl/8.5.0",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"WhatsApp/2.23.20.0",
		"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
		"TelegramBot (like TwitterBot)",
		"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"python-requests/2.32.3",
		"", // no User-Agent at all
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		p := newProgram(t, app, "shop", nil)
		a := newAffiliate(t, app, p.ID, "ann")
		for _, ua := range bots {
			u := location(t, visit(t, app, "GET", "/r/ann", "User-Agent", ua), http.StatusFound)
			if u.Host != "shop.example.com" {
				t.Errorf("%q: redirected to %s", ua, u)
			}
		}
		location(t, visit(t, app, "GET", "/r/ann"), http.StatusFound)
		byUA := map[string]tracking.Click{}
		for _, c := range clicksOf(t, app, a.ID) {
			byUA[c.UserAgent] = c
		}
		for _, ua := range bots {
			if c, ok := byUA[ua]; !ok || !c.IsBot || c.Device != "bot" {
				t.Errorf("%q: click %+v, want is_bot and device bot", ua, c)
			}
		}
		if c := byUA[browserUA]; c.IsBot {
			t.Errorf("a browser was flagged as a bot")
		}
		if got := getAffiliate(t, app, a.ID); got.Clicks != 1 || got.UniqueVisitors != 1 {
			t.Errorf("counts clicks=%d unique=%d, want bots left out (1 and 1)", got.Clicks, got.UniqueVisitors)
		}
		var s tracking.Series
		app.MustDo(http.StatusOK, "GET", "/api/v1/affiliates/"+itoa(a.ID)+"/stats?interval=day", nil, &s)
		if countsOf(s.Totals) != (counts{1, 1, int64(len(bots))}) {
			t.Errorf("stats totals %+v, want 1 click, 1 unique, %d bot clicks", s.Totals, len(bots))
		}
	})
}

func TestIPModes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{nil, "127.0.0.0"},
		{[]string{"--ip-mode=truncate"}, "127.0.0.0"},
		{[]string{"--ip-mode=none"}, ""},
		{[]string{"--ip-mode=hash", "--ip-salt=pepper"}, tracking.AnonymizeIP("127.0.0.1", tracking.IPHash, []byte("pepper"))},
		{[]string{"--ip-mode=full"}, "127.0.0.1"},
	}
	if h := cases[3].want; len(h) != 32 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("hash mode gives %q, want 32 hex digits", h)
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for i, tc := range cases {
			app := servertest.Start(t, sameEngine(t, d), tc.args...)
			slug := "ip" + itoa(int64(i))
			a := newAffiliate(t, app, newProgram(t, app, slug, nil).ID, slug)
			location(t, visit(t, app, "GET", "/r/"+slug), http.StatusFound)
			if cs := clicksOf(t, app, a.ID); len(cs) != 1 || cs[0].IP != tc.want {
				t.Errorf("%v: stored IP %+v, want %q", tc.args, cs, tc.want)
			}
		}
	})
	// Hashing without a salt would be reversible: the configuration refuses it.
	_, err := config.Load("serve", []string{"--ip-mode=hash"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ip-salt") {
		t.Errorf("--ip-mode=hash without --ip-salt: err %v, want a usage error naming --ip-salt", err)
	}
}

// sameEngine returns a fresh database of d's engine, for tests that start
// one server per configuration.
func sameEngine(t *testing.T, d *db.DB) *db.DB {
	t.Helper()
	if d.Dialect() == db.Postgres {
		return dbtest.Postgres(t)
	}
	return dbtest.SQLite(t)
}
