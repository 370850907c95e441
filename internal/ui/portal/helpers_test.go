package portal_test

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
	"affiliated/internal/ledger"
	"affiliated/internal/notify"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
	"affiliated/internal/ui"
	"affiliated/internal/ui/portal"
)

// clock is a settable time: expiry is tested by moving it, never by sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sentCode is a sign-in email as the outbox would receive it.
type sentCode struct{ email, code, link string }

type codeBox struct {
	mu   sync.Mutex
	sent []sentCode
}

func (b *codeBox) SendSignInCode(ctx context.Context, _ auth.Kind, email, code, link string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, sentCode{email, code, link})
	return nil
}

func (b *codeBox) count() int { b.mu.Lock(); defer b.mu.Unlock(); return len(b.sent) }

func (b *codeBox) last(t *testing.T, email string) sentCode {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.sent) - 1; i >= 0; i-- {
		if b.sent[i].email == email {
			return b.sent[i]
		}
	}
	t.Fatalf("no code sent to %s", email)
	return sentCode{}
}

// env is a portal on a fresh database, with the real ledger and outbox.
type env struct {
	t        *testing.T
	d        *db.DB
	clock    *clock
	srv      *httptest.Server
	programs *program.Store
	ledger   *ledger.Ledger
	notify   *notify.Service
	sessions *auth.Sessions
	codes    *codeBox
	prog     *program.Program
	writer   *tracking.Writer // made by the first click
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{t: t, d: d, clock: &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}, codes: &codeBox{}}
	al := &audit.Log{DB: d}
	e.programs = &program.Store{DB: d, Audit: al, BaseURL: "http://go.test"}
	stats := &tracking.Stats{DB: d}
	e.ledger = &ledger.Ledger{DB: d, Log: log, Programs: e.programs, Clicks: stats, Now: e.clock.Now}
	n, err := notify.New(notify.Config{DB: d, Log: log, Ledger: e.ledger, Programs: e.programs, Audit: al,
		BaseURL: "http://go.test", Owners: []string{"owner@example.com"}, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.notify, e.ledger.Notifier = n, n
	limiter := &auth.Limiter{DB: d, Now: e.clock.Now}
	e.sessions = &auth.Sessions{DB: d, Now: e.clock.Now}
	lookup := portal.Lookup(e.programs)
	codes := &auth.Codes{DB: d, Limiter: limiter, Sender: e.codes, Now: e.clock.Now,
		Lookup: func(ctx context.Context, kind auth.Kind, email string) (int64, bool, error) {
			if kind != auth.KindAffiliate {
				return 0, false, nil
			}
			return lookup(ctx, email)
		}}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	p, err := portal.New(portal.Config{Log: log, DB: d, Programs: e.programs, Ledger: e.ledger, Stats: stats,
		Codes: codes, Sessions: e.sessions, Limiter: limiter, Notifier: n, BaseURL: e.srv.URL, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /ui/{file}", ui.Assets())
	p.Routes(mux)
	e.prog = program.NewProgram()
	e.prog.Name, e.prog.DestinationURL, e.prog.Terms = "Watercolour course", "https://shop.test/course", "Be honest.\nNo spam."
	if err := e.programs.CreateProgram(ctx, e.prog); err != nil {
		t.Fatal(err)
	}
	return e
}

// affiliate creates an affiliate of the env's program.
func (e *env) affiliate(email, name, status string) *program.Affiliate {
	e.t.Helper()
	a := program.NewAffiliate()
	a.ProgramID, a.Email, a.Name, a.Status = e.prog.ID, email, name, status
	if err := e.programs.CreateAffiliate(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// sale books a sale referred by a, at, and returns its commission.
func (e *env) sale(a *program.Affiliate, order, product string, gross int64, at time.Time) *ledger.Commission {
	e.t.Helper()
	ctx := context.Background()
	ev := payments.Event{Kind: payments.KindSale, Platform: payments.LemonSqueezy, EventID: "evt-" + order, OrderID: order,
		ProductName: product, Currency: "EUR", Gross: gross, Net: gross, Referral: a.Code, OccurredAt: at}
	if _, err := e.ledger.Ingest(ctx, payments.LemonSqueezy, []byte(`{"order":"`+order+`"}`), ev, nil); err != nil {
		e.t.Fatal(err)
	}
	list, _, err := e.ledger.Commissions(ctx, ledger.CommissionFilter{AffiliateID: a.ID, Limit: 1000})
	if err != nil || len(list) == 0 {
		e.t.Fatalf("no commission for %s: %v", order, err)
	}
	return list[len(list)-1]
}

// client is an HTTP client with its own cookies that shows redirects.
type client struct {
	t   *testing.T
	e   *env
	c   *http.Client
	jar http.CookieJar
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, jar: jar, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *client) do(method, path string, form url.Values, h http.Header) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
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
	return response{res.StatusCode, res.Header, string(out)}
}

func (b *client) get(path string) response { b.t.Helper(); return b.do("GET", path, nil, nil) }

// post submits a form with the CSRF token of the page at from.
func (b *client) post(from, path string, form url.Values) response {
	b.t.Helper()
	page := b.get(from)
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrfOf(b.t, page.body))
	return b.do("POST", path, form, nil)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// cookie returns the browser's cookie called name for path, "" when none.
func (b *client) cookie(path, name string) string {
	u, _ := url.Parse(b.e.srv.URL + path)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signIn signs the browser in as email with the code it is sent.
func (b *client) signIn(email string) {
	b.t.Helper()
	if r := b.post("/portal/login", "/portal/login", url.Values{"email": {email}}); r.status != 200 {
		b.t.Fatalf("request code: %d %s", r.status, r.body)
	}
	m := b.e.codes.last(b.t, email)
	r := b.post("/portal/login", "/portal/login/verify", url.Values{"email": {email}, "code": {m.code}})
	if r.status != 303 || r.header.Get("Location") != "/portal" {
		b.t.Fatalf("verify: %d %v %s", r.status, r.header, r.body)
	}
}

// wantStatus fails unless r has status want.
func wantStatus(t *testing.T, what string, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, want, r.body)
	}
}

// click logs a click of a at, committed before it returns.
func (e *env) click(a *program.Affiliate, at time.Time, landing, referrer, ua string, unique bool) {
	e.t.Helper()
	if e.writer == nil {
		e.writer = tracking.NewWriter(e.d, slog.New(slog.NewTextHandler(io.Discard, nil)), tracking.WriterConfig{BatchSize: 100, BatchWait: time.Millisecond, Queue: 100}, nil)
		e.t.Cleanup(func() { _ = e.writer.Close(context.Background()) })
	}
	done, err := e.writer.Add(context.Background(), tracking.Click{ReferralID: "r" + at.Format("150405.000000"), AffiliateID: a.ID,
		ProgramID: a.ProgramID, At: at, LandingURL: landing, Referrer: referrer, UserAgent: ua,
		Device: string(tracking.DeviceOf(ua)), IsBot: tracking.IsBot(ua), IsUnique: unique})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := <-done; err != nil {
		e.t.Fatal(err)
	}
}
