package ui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/ui"
)

// codes records sign-in codes as the outbox would receive them.
type codes struct {
	mu   sync.Mutex
	sent []string // "kind email code link"
}

func (c *codes) SendSignInCode(_ context.Context, kind auth.Kind, email, code, link string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, strings.Join([]string{string(kind), email, code, link}, " "))
	return nil
}

func (c *codes) last(t *testing.T) []string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sent) == 0 {
		t.Fatal("no code sent")
	}
	return strings.Fields(c.sent[len(c.sent)-1])
}

// console is a minimal owner surface on the shared sign-in.
type console struct {
	srv      *httptest.Server
	owners   *auth.Owners
	sessions *auth.Sessions
	sent     *codes
}

func newConsole(t *testing.T, d *db.DB, secure ...bool) *console {
	t.Helper()
	now := func() time.Time { return time.Now() }
	c := &console{owners: &auth.Owners{DB: d, Audit: &audit.Log{DB: d}}, sessions: &auth.Sessions{DB: d, Now: now}, sent: &codes{}}
	r, err := ui.NewRenderer(nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &ui.Surface{Name: "Owner console", Prefix: "/admin", Renderer: r, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Secure: len(secure) > 0 && secure[0]}
	cd := &auth.Codes{DB: d, Limiter: &auth.Limiter{DB: d}, Sender: c.sent,
		Lookup: func(ctx context.Context, kind auth.Kind, email string) (int64, bool, error) {
			if kind != auth.KindOwner {
				return 0, false, nil
			}
			return c.owners.Lookup(ctx, email)
		}}
	mux := http.NewServeMux()
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	in := &ui.SignIn[*auth.Owner]{Surface: s, Kind: auth.KindOwner, Codes: cd, Sessions: c.sessions, Owners: c.owners,
		Cookie: "aff_admin", BaseURL: c.srv.URL,
		Load: func(ctx context.Context, id int64) (*auth.Owner, string, error) {
			o, err := c.owners.Owner(ctx, id)
			if err != nil {
				return nil, "", err
			}
			return o, o.Email, nil
		}}
	in.Routes(mux)
	home := func(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
		return s.Render(w, r, 200, "error", &ui.View{Title: "Home of " + me.Email})
	}
	mux.Handle("GET /admin/{$}", in.Page(home))
	mux.Handle("GET /admin/payouts", in.Page(home))
	mux.Handle("POST /admin/change", in.Page(func(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
		_, _ = io.WriteString(w, "changed by "+audit.Actor(r.Context()))
		return nil
	}))
	return c
}

// browser is a client with cookies that does not follow redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, u string, form url.Values, h http.Header) (int, http.Header, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(out)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in %s", page)
	}
	return m[1]
}

func TestOwnerSetupAndSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		c := newConsole(t, d)
		b := newBrowser(t)
		tok, err := c.owners.NewSetupToken(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st, _, page := b.do("GET", c.srv.URL+"/admin/setup?token="+tok, nil, nil)
		if st != 200 || !strings.Contains(page, "Set up the console") {
			t.Fatalf("setup page: %d %s", st, page)
		}
		form := url.Values{"csrf": {csrfOf(t, page)}, "token": {tok}, "email": {"nope"}}
		if st, _, page := b.do("POST", c.srv.URL+"/admin/setup", form, nil); st != 400 || !strings.Contains(page, `aria-invalid="true"`) {
			t.Fatalf("setup with a bad email: %d %s", st, page)
		}
		form.Set("email", "Boss@Example.com")
		st, h, _ := b.do("POST", c.srv.URL+"/admin/setup", form, nil)
		if st != 303 || h.Get("Location") != "/admin" || !strings.Contains(h.Get("Set-Cookie"), "aff_admin=") ||
			!strings.Contains(h.Get("Set-Cookie"), "Path=/admin") || !strings.Contains(h.Get("Set-Cookie"), "HttpOnly") {
			t.Fatalf("setup: %d %v", st, h)
		}
		if st, _, page := b.do("GET", c.srv.URL+"/admin/", nil, nil); st != 200 || !strings.Contains(page, "Home of boss@example.com") {
			t.Fatalf("home after setup: %d %s", st, page)
		}
		// The link is spent, for everyone.
		if st, _, _ := newBrowser(t).do("GET", c.srv.URL+"/admin/setup?token="+tok, nil, nil); st != 404 {
			t.Fatalf("setup link again: %d", st)
		}
		// Changes made on a page are the owner's in the audit log.
		_, _, page = b.do("GET", c.srv.URL+"/admin/", nil, nil)
		if st, _, out := b.do("POST", c.srv.URL+"/admin/change", url.Values{"csrf": {csrfOf(t, page)}}, nil); st != 200 || out != "changed by owner:boss@example.com" {
			t.Fatalf("change: %d %q", st, out)
		}

		// Sign out, then in again by code, back to where the owner was going.
		_, _, page = b.do("GET", c.srv.URL+"/admin/", nil, nil)
		if st, h, _ := b.do("POST", c.srv.URL+"/admin/logout", url.Values{"csrf": {csrfOf(t, page)}}, nil); st != 303 || h.Get("Location") != "/admin/login?out=1" {
			t.Fatalf("logout: %d %v", st, h)
		}
		st, h, _ = b.do("GET", c.srv.URL+"/admin/payouts", nil, nil)
		if st != 303 || h.Get("Location") != "/admin/login?next=%2Fadmin%2Fpayouts" {
			t.Fatalf("signed out: %d %v", st, h)
		}
		_, _, page = b.do("GET", c.srv.URL+h.Get("Location"), nil, nil)
		form = url.Values{"csrf": {csrfOf(t, page)}, "email": {"boss@example.com"}, "next": {"/admin/payouts"}}
		if st, _, _ := b.do("POST", c.srv.URL+"/admin/login", form, nil); st != 200 {
			t.Fatalf("request code: %d", st)
		}
		m := c.sent.last(t)
		if m[0] != "owner" || m[1] != "boss@example.com" || !strings.HasPrefix(m[3], c.srv.URL+"/admin/login/link?") || !strings.Contains(m[3], "next=%2Fadmin%2Fpayouts") {
			t.Fatalf("sent %q", m)
		}
		form.Set("code", m[2])
		if st, h, _ := b.do("POST", c.srv.URL+"/admin/login/verify", form, nil); st != 303 || h.Get("Location") != "/admin/payouts" {
			t.Fatalf("verify: %d %v", st, h)
		}
	})
}

func TestOwnerPagesRefuseOtherPrincipals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newConsole(t, d)
		o, _ := c.owners.Add(ctx, "boss@example.com")
		// An affiliate's session, even for the same id, never opens /admin.
		aff, _, _ := c.sessions.Create(ctx, auth.KindAffiliate, o.ID, "ua", "10.0.0.1")
		b := newBrowser(t)
		u, _ := url.Parse(c.srv.URL + "/admin/")
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "aff_admin", Value: aff, Path: "/admin"}})
		if st, h, _ := b.do("GET", c.srv.URL+"/admin/", nil, nil); st != 303 || h.Get("Location") != "/admin/login" {
			t.Fatalf("affiliate session on /admin: %d %v", st, h)
		}
		// An owner's session: pages open; POSTs need the token and the same site.
		tok, _, _ := c.sessions.Create(ctx, auth.KindOwner, o.ID, "ua", "10.0.0.1")
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "aff_admin", Value: tok, Path: "/admin"}})
		st, _, page := b.do("GET", c.srv.URL+"/admin/", nil, nil)
		if st != 200 {
			t.Fatalf("owner: %d", st)
		}
		good := csrfOf(t, page)
		for name, tc := range map[string]struct {
			form url.Values
			h    http.Header
		}{
			"no token":       {url.Values{}, nil},
			"wrong token":    {url.Values{"csrf": {ui.CSRFToken("session\x00someone else")}}, nil},
			"login token":    {url.Values{"csrf": {ui.CSRFToken("pre\x00" + tok)}}, nil},
			"cross-site":     {url.Values{"csrf": {good}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
			"foreign Origin": {url.Values{"csrf": {good}}, http.Header{"Origin": {"https://evil.example"}}},
		} {
			if st, _, page := b.do("POST", c.srv.URL+"/admin/change", tc.form, tc.h); st != 403 || !strings.Contains(page, "This form has expired") {
				t.Errorf("%s: %d", name, st)
			}
		}
		if st, _, _ := b.do("POST", c.srv.URL+"/admin/change", url.Values{"csrf": {good}}, http.Header{"Sec-Fetch-Site": {"same-origin"}}); st != 200 {
			t.Errorf("same-origin with the token: %d", st)
		}
	})
}

// TestSecureCookies: behind https, every cookie is Secure.
func TestSecureCookies(t *testing.T) {
	d := dbtest.SQLite(t)
	c := newConsole(t, d, true)
	o, _ := c.owners.Add(context.Background(), "boss@example.com")
	tok, _, _ := c.sessions.Create(context.Background(), auth.KindOwner, o.ID, "ua", "10.0.0.1")
	req, _ := http.NewRequest("GET", c.srv.URL+"/admin/", nil)
	req.AddCookie(&http.Cookie{Name: "aff_admin", Value: tok})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res2, err := http.Get(c.srv.URL + "/admin/login")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	cookies := append(res.Cookies(), res2.Cookies()...)
	if len(cookies) != 2 {
		t.Fatalf("cookies %v", cookies)
	}
	for _, ck := range cookies {
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: %+v", ck.Name, ck)
		}
	}
}
