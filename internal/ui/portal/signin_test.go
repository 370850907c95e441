package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/program"
)

func TestSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.affiliate("ann@example.com", "Ann", program.StatusActive)
		b := e.client()
		r := b.get("/portal/login")
		wantStatus(t, "login page", r, 200)
		if !strings.Contains(r.body, `<label for="email">`) || b.cookie("/", "aff_pre") == "" {
			t.Fatalf("login page without a labelled email field or pre-session cookie:\n%s", r.body)
		}
		r = b.post("/portal/login", "/portal/login", url.Values{"email": {"Ann@Example.com"}})
		wantStatus(t, "request code", r, 200)
		if !strings.Contains(r.body, "Check your email") || !strings.Contains(r.body, `<label for="code">`) {
			t.Fatalf("code page:\n%s", r.body)
		}
		m := e.codes.last(t, "ann@example.com")
		if len(m.code) != 6 || !strings.HasPrefix(m.link, e.srv.URL+"/portal/login/link?token=") {
			t.Fatalf("sent %+v", m)
		}
		r = b.post("/portal/login", "/portal/login/verify", url.Values{"email": {"ann@example.com"}, "code": {m.code}})
		wantStatus(t, "verify", r, 303)
		if r.header.Get("Location") != "/portal" {
			t.Fatalf("verify went to %q", r.header.Get("Location"))
		}
		c := (&http.Response{Header: r.header}).Cookies()
		if len(c) != 1 || c[0].Name != "aff_portal" || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode ||
			c[0].Path != "/portal" || c[0].Secure || c[0].MaxAge < 29*24*3600 {
			t.Fatalf("session cookie %+v", c)
		}
		r = b.get("/portal")
		wantStatus(t, "home", r, 200)
		if !strings.Contains(r.body, "Hello, Ann") || !strings.Contains(r.body, "ann@example.com") {
			t.Fatalf("home:\n%s", r.body)
		}
		// Security headers on every page.
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "X-Content-Type-Options"} {
			if r.header.Get(h) == "" {
				t.Errorf("no %s header", h)
			}
		}
		if !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("CSP %q", r.header.Get("Content-Security-Policy"))
		}
		// Signed in, the login page sends you home.
		if r := b.get("/portal/login"); r.status != 303 || r.header.Get("Location") != "/portal" {
			t.Fatalf("login page when signed in: %d %v", r.status, r.header)
		}
		// Reuse: the code is spent.
		other := e.client()
		r = other.post("/portal/login", "/portal/login/verify", url.Values{"email": {"ann@example.com"}, "code": {m.code}})
		wantStatus(t, "reused code", r, 400)
		if !strings.Contains(r.body, "not right, or it has expired") {
			t.Fatalf("reused code page:\n%s", r.body)
		}
	})
}

func TestSignInCodeExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.affiliate("ann@example.com", "Ann", program.StatusActive)
		b := e.client()
		b.post("/portal/login", "/portal/login", url.Values{"email": {"ann@example.com"}})
		m := e.codes.last(t, "ann@example.com")
		e.clock.Add(10*time.Minute + time.Second)
		r := b.post("/portal/login", "/portal/login/verify", url.Values{"email": {"ann@example.com"}, "code": {m.code}})
		wantStatus(t, "expired code", r, 400)
		if b.cookie("/portal", "aff_portal") != "" {
			t.Fatal("a session after an expired code")
		}
		// The magic link expired with it.
		if r := b.get(strings.TrimPrefix(m.link, e.srv.URL)); r.status != 400 || !strings.Contains(r.body, "expired or was already used") {
			t.Fatalf("expired link: %d\n%s", r.status, r.body)
		}
	})
}

func TestSignInLockout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.affiliate("ann@example.com", "Ann", program.StatusActive)
		b := e.client()
		b.post("/portal/login", "/portal/login", url.Values{"email": {"ann@example.com"}})
		m := e.codes.last(t, "ann@example.com")
		wrong := "000000"
		if m.code == wrong {
			wrong = "111111"
		}
		for i := range 5 {
			r := b.post("/portal/login", "/portal/login/verify", url.Values{"email": {"ann@example.com"}, "code": {wrong}})
			wantStatus(t, fmt.Sprintf("wrong code %d", i+1), r, 400)
		}
		r := b.post("/portal/login", "/portal/login/verify", url.Values{"email": {"ann@example.com"}, "code": {m.code}})
		wantStatus(t, "sixth try", r, 429)
		if !strings.Contains(r.body, "Too many wrong tries for this code") {
			t.Fatalf("sixth try:\n%s", r.body)
		}
		// Per email: the fifth code request in a quarter hour is the last.
		for range 4 {
			wantStatus(t, "request", b.post("/portal/login", "/portal/login", url.Values{"email": {"ann@example.com"}}), 200)
		}
		r = b.post("/portal/login", "/portal/login", url.Values{"email": {"ann@example.com"}})
		wantStatus(t, "sixth request", r, 429)
		if !strings.Contains(r.body, "Too many codes requested for this email. Try again after 10:15 UTC on 23 Nov 2026.") {
			t.Fatalf("lockout page does not say until when:\n%s", r.body)
		}
		// Time-bound: a quarter hour later it works again.
		e.clock.Add(15 * time.Minute)
		wantStatus(t, "after the lockout", b.post("/portal/login", "/portal/login", url.Values{"email": {"ann@example.com"}}), 200)
		b.signIn("ann@example.com")
	})
}

// TestSignInNoAccountDiscovery: the answer to a known and an unknown email
// is the same page, with the same status.
func TestSignInNoAccountDiscovery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.affiliate("ann@example.com", "Ann", program.StatusActive)
		e.affiliate("rex@example.com", "Rex", program.StatusRejected)
		b := e.client()
		ask := func(email string) response {
			r := b.post("/portal/login", "/portal/login", url.Values{"email": {email}})
			r.body = strings.ReplaceAll(r.body, email, "EMAIL")
			return r
		}
		known, unknown, rejected := ask("ann@example.com"), ask("bob@example.com"), ask("rex@example.com")
		if known.status != unknown.status || known.body != unknown.body || known.body != rejected.body {
			t.Fatalf("known and unknown emails differ: %d vs %d\n%s\n----\n%s", known.status, unknown.status, known.body, unknown.body)
		}
		if e.codes.count() != 1 {
			t.Fatalf("%d codes sent; only the affiliate gets one", e.codes.count())
		}
		check := func(email string) response {
			r := b.post("/portal/login", "/portal/login/verify", url.Values{"email": {email}, "code": {"123456"}})
			r.body = strings.ReplaceAll(r.body, email, "EMAIL")
			return r
		}
		if k, u := check("ann@example.com"), check("bob@example.com"); k.status != u.status || k.body != u.body {
			t.Fatalf("wrong code for known and unknown emails differ: %d vs %d", k.status, u.status)
		}
	})
}

func TestMagicLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.affiliate("ann@example.com", "Ann", program.StatusActive)
		// Opened in the browser that asked: one click.
		b := e.client()
		b.post("/portal/login?next=%2Fportal%2Fpayouts", "/portal/login", url.Values{"email": {"ann@example.com"}, "next": {"/portal/payouts"}})
		link := strings.TrimPrefix(e.codes.last(t, "ann@example.com").link, e.srv.URL)
		r := b.get(link)
		if r.status != 303 || r.header.Get("Location") != "/portal/payouts" || b.cookie("/portal", "aff_portal") == "" {
			t.Fatalf("same-browser link: %d %v", r.status, r.header)
		}
		// Opened elsewhere (a phone, a mail scanner): confirm first; the
		// GET alone uses nothing.
		b.post("/portal", "/portal/logout", nil)
		wantStatus(t, "request", b.post("/portal/login", "/portal/login", url.Values{"email": {"ann@example.com"}}), 200)
		link = strings.TrimPrefix(e.codes.last(t, "ann@example.com").link, e.srv.URL)
		phone := e.client()
		for range 2 {
			r = phone.get(link)
			wantStatus(t, "link in another browser", r, 200)
			if !strings.Contains(r.body, "Sign in as ann@example.com?") {
				t.Fatalf("confirm page:\n%s", r.body)
			}
		}
		tok, _ := url.ParseQuery(strings.SplitN(link, "?", 2)[1])
		r = phone.do("POST", "/portal/login/link", url.Values{"csrf": {csrfOf(t, r.body)}, "token": {tok.Get("token")}}, nil)
		if r.status != 303 || phone.cookie("/portal", "aff_portal") == "" {
			t.Fatalf("confirm: %d %v", r.status, r.header)
		}
		// Used: neither the link nor its code works again.
		if r := e.client().get(link); r.status != 400 {
			t.Fatalf("used link: %d", r.status)
		}
	})
}

func TestLogoutEndsSessionOnServer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.affiliate("ann@example.com", "Ann", program.StatusActive)
		b := e.client()
		b.signIn("ann@example.com")
		token := b.cookie("/portal", "aff_portal")
		r := b.post("/portal", "/portal/logout", nil)
		if r.status != 303 || r.header.Get("Location") != "/portal/login?out=1" {
			t.Fatalf("logout: %d %v", r.status, r.header)
		}
		if r := b.get("/portal/login?out=1"); !strings.Contains(r.body, "You are signed out.") {
			t.Fatalf("after logout:\n%s", r.body)
		}
		// The old cookie, replayed by someone who kept it, opens nothing.
		thief := e.client()
		u, _ := url.Parse(e.srv.URL + "/portal/")
		thief.jar.SetCookies(u, []*http.Cookie{{Name: "aff_portal", Value: token, Path: "/portal"}})
		if r := thief.get("/portal/commissions"); r.status != 303 || r.header.Get("Location") != "/portal/login?next=%2Fportal%2Fcommissions" {
			t.Fatalf("replayed cookie: %d %v", r.status, r.header)
		}
		if _, err := e.sessions.Check(context.Background(), auth.KindAffiliate, token); err == nil {
			t.Fatal("the session is still in the database")
		}
	})
}

func TestSessionSlidesAndExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.affiliate("ann@example.com", "Ann", program.StatusActive)
		b := e.client()
		b.signIn("ann@example.com")
		for range 3 {
			e.clock.Add(20 * 24 * time.Hour)
			wantStatus(t, "used within 30 days", b.get("/portal"), 200)
		}
		e.clock.Add(31 * 24 * time.Hour)
		if r := b.get("/portal"); r.status != 303 {
			t.Fatalf("idle 31 days: %d", r.status)
		}
	})
}

func TestRejectedAffiliateIsSignedOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		a := e.affiliate("ann@example.com", "Ann", program.StatusPending)
		b := e.client()
		b.signIn("ann@example.com") // pending applicants may look around
		if r := b.get("/portal"); !strings.Contains(r.body, "waiting for approval") {
			t.Fatalf("pending home:\n%s", r.body)
		}
		a.Status = program.StatusRejected
		if err := e.programs.UpdateAffiliate(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if r := b.get("/portal"); r.status != 303 {
			t.Fatalf("rejected affiliate's session: %d", r.status)
		}
	})
}

// TestCSRF: every state-changing route refuses a POST without the page's
// token, with another browser's token, or from another site.
func TestCSRF(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		annA := e.affiliate("ann@example.com", "Ann", program.StatusActive)
		e.affiliate("bob@example.com", "Bob", program.StatusActive)
		ann, bob := e.client(), e.client()
		ann.signIn("ann@example.com")
		bob.signIn("bob@example.com")
		sessions, _ := e.sessions.List(context.Background(), auth.KindAffiliate, annA.ID)
		bobsToken := csrfOf(t, bob.get("/portal/settings").body)
		annsToken := csrfOf(t, ann.get("/portal/settings").body)
		routes := map[string]url.Values{
			"/portal/login":                  {"email": {"ann@example.com"}},
			"/portal/login/verify":           {"email": {"ann@example.com"}, "code": {"123456"}},
			"/portal/login/link":             {"token": {"x"}},
			"/portal/logout":                 {},
			"/portal/settings":               {"name": {"Mallory"}},
			"/portal/payouts/details":        {"payout_email": {"mallory@evil.example"}},
			"/portal/sessions/revoke-others": {},
			"/portal/sessions/" + itoa(sessions[0].ID) + "/revoke": {},
			"/portal/signup": {"name": {"M"}, "email": {"m@evil.example"}, "promotion": {"spam"}, "terms": {"on"}},
		}
		for path, form := range routes {
			for name, token := range map[string]string{"no token": "", "another browser's token": bobsToken} {
				f := url.Values{}
				for k, v := range form {
					f[k] = v
				}
				if token != "" {
					f.Set("csrf", token)
				}
				if r := ann.do("POST", path, f, nil); r.status != 403 || !strings.Contains(r.body, "This form has expired") {
					t.Errorf("POST %s with %s: %d", path, name, r.status)
				}
			}
			f := url.Values{"csrf": {annsToken}}
			if r := ann.do("POST", path, f, http.Header{"Sec-Fetch-Site": {"cross-site"}}); r.status != 403 {
				t.Errorf("POST %s from another site: %d", path, r.status)
			}
		}
		// Nothing changed, and Ann is still signed in.
		r := ann.get("/portal/settings")
		wantStatus(t, "settings", r, 200)
		if strings.Contains(r.body, "Mallory") {
			t.Fatal("a forged form changed the name")
		}
	})
}
