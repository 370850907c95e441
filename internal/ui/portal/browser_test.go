package portal_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/server/servertest"
	"affiliated/internal/testutil/browser"
	"affiliated/internal/tracking"
)

// -screenshots writes the pages' screenshots into docs/screenshots (for
// the documentation); without it they go to a temporary directory, so the
// code path runs on every test run without touching the tree.
var screenshots = flag.Bool("screenshots", false, "write portal screenshots into docs/screenshots")

const lsSecret = "ls-test-secret"

// a11y lists accessibility problems of the page: inputs without a label,
// headings out of order, buttons without a name.
const a11y = `(() => {
	const p = [];
	for (const el of document.querySelectorAll("input, select, textarea")) {
		if (el.type === "hidden") continue;
		if (!(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
			p.push("no label: " + el.tagName.toLowerCase() + "#" + el.id);
	}
	const hs = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map(h => +h.tagName[1]);
	if (hs[0] !== 1 || hs.filter(l => l === 1).length !== 1) p.push("headings: " + hs.join(","));
	for (let i = 1; i < hs.length; i++) if (hs[i] > hs[i - 1] + 1) p.push("heading skips h" + hs[i - 1] + " to h" + hs[i]);
	for (const b of document.querySelectorAll("button, a")) if (!b.textContent.trim() && !b.getAttribute("aria-label")) p.push("unnamed " + b.tagName);
	for (const s of document.querySelectorAll("svg[role=img]")) if (!s.querySelector("title")) p.push("svg without a title");
	if (document.documentElement.lang !== "en") p.push("no lang");
	return p;
})()`

// site is a populated server: a program, Ann with clicks, sales from
// signed webhooks and a paid payout, and Bob.
type site struct {
	app      *servertest.App
	smtp     *smtptest.Server
	ann, bob struct {
		ID   int64  `json:"id"`
		Code string `json:"code"`
	}
	bobCommission int64
	read          map[string]bool // Message-IDs of the sign-in emails read
}

func newSite(t *testing.T, smtp *smtptest.Server, app *servertest.App) *site {
	t.Helper()
	s := &site{app: app, smtp: smtp, read: map[string]bool{}}
	var p struct{ ID int64 }
	app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{"name": "Watercolour Masterclass",
		"destination_url": "https://shop.test/masterclass", "hold_days": 30, "terms": "Promote honestly. No paid search on our brand."}, &p)
	app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"program_id": p.ID, "email": "ann@example.com",
		"name": "Ann Lee", "coupon_code": "ANN15"}, &s.ann)
	app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"program_id": p.ID, "email": "bob@example.com", "name": "Bob"}, &s.bob)

	// Clicks over the last 30 days, as the redirect logs them.
	ctx := context.Background()
	now := time.Now().UTC()
	uas := []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
	}
	refs := []string{"https://www.youtube.com/watch?v=abc", "https://blog.example/watercolour-tips", "", "https://www.instagram.com/"}
	var committed []<-chan error
	for day := 29; day >= 0; day-- {
		for i := range 3 + (29-day)%5 + day%3 {
			ua := uas[(day+i)%len(uas)]
			done, err := app.Clicks.Add(ctx, tracking.Click{ReferralID: fmt.Sprintf("r%d-%d", day, i), AffiliateID: s.ann.ID, ProgramID: p.ID,
				At: now.AddDate(0, 0, -day).Add(-time.Duration(i) * 17 * time.Minute), LandingURL: "https://shop.test/masterclass?utm_source=" + s.ann.Code,
				Referrer: refs[(day*7+i)%len(refs)], UserAgent: ua, Device: string(tracking.DeviceOf(ua)), IsUnique: i%3 != 2})
			if err != nil {
				t.Fatal(err)
			}
			committed = append(committed, done)
		}
	}
	for _, done := range committed {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// Sales through signed Lemon Squeezy webhooks: two past the hold.
	sale := func(order, product string, amount int64, ago time.Duration, ref string) {
		body := paymentstest.LemonSqueezySale(paymentstest.Sale{OrderID: order, ProductName: product, Currency: "EUR",
			Amount: amount, Email: "buyer@example.com", Referral: ref, At: now.Add(-ago)})
		r := app.DoWith("POST", "/webhooks/lemonsqueezy", body, http.Header{"X-Signature": {payments.SignLemonSqueezy(body, lsSecret)},
			"Content-Type": {"application/json"}})
		if r.Status != http.StatusOK {
			t.Fatalf("webhook %s: %d %s", order, r.Status, r.Body)
		}
	}
	sale("9001", "Watercolour Masterclass", 9900, 52*24*time.Hour, s.ann.Code)
	sale("9002", "Brush Lettering Workshop", 4900, 41*24*time.Hour, s.ann.Code)
	var payout struct{ ID int64 }
	app.MustDo(http.StatusCreated, "POST", "/api/v1/payouts", nil, &payout)
	app.MustDo(http.StatusOK, "POST", fmt.Sprintf("/api/v1/payouts/%d/paid", payout.ID), nil, nil)
	sale("9003", "Watercolour Masterclass", 9900, 33*24*time.Hour, s.ann.Code)
	sale("9004", "Colour Theory Mini-course", 2900, 6*24*time.Hour, s.ann.Code)
	sale("9005", "Watercolour Masterclass", 9900, 2*24*time.Hour, s.ann.Code)
	sale("9006", "Secret Bob Product", 5000, 3*24*time.Hour, s.bob.Code)
	var list struct {
		Data []struct{ ID int64 } `json:"data"`
	}
	app.MustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/commissions?affiliate_id=%d", s.bob.ID), nil, &list)
	if len(list.Data) != 1 {
		t.Fatalf("Bob's commissions: %+v", list)
	}
	s.bobCommission = list.Data[0].ID
	return s
}

// code waits for a sign-in email to to that was not read before, and
// returns its code. Other emails (sales, payouts) arrive meanwhile.
func (s *site) code(t *testing.T, to string) string {
	t.Helper()
	for n := 1; ; {
		msgs := s.smtp.WaitFor(n, 30*time.Second)
		for _, m := range msgs {
			if m.To[0] != to || !strings.Contains(m.Subject, "sign-in code") || s.read[m.MessageID] {
				continue
			}
			s.read[m.MessageID] = true
			code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(m.Text)
			if code == "" {
				t.Fatalf("sign-in email without a code:\n%s", m.Text)
			}
			return code
		}
		n = len(msgs) + 1
	}
}

func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks a form's button and waits for the page it leads to.
func submit(t *testing.T, tab context.Context, css string) int64 {
	t.Helper()
	res, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("submit %s: %v", css, err)
	}
	return res.Status
}

// shot saves a screenshot of the viewport, or of the whole page when full.
func shot(t *testing.T, tab context.Context, name string, full bool) {
	t.Helper()
	dir := t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "..", "..", "docs", "screenshots")
	}
	capture := chromedp.CaptureScreenshot()
	if full {
		capture = chromedp.FullScreenshot(100) // 100: PNG
	}
	png, err := chromedp.Run(tab, capture)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "portal-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkA11y(t *testing.T, tab context.Context, page string) {
	t.Helper()
	if p := browser.Eval[[]string](t, tab, a11y); len(p) > 0 {
		t.Errorf("%s: accessibility: %v", page, p)
	}
}

func TestBrowser(t *testing.T) {
	ctx := browser.New(t) // one browser for every engine
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		smtp := smtptest.Start(t)
		app := servertest.Start(t, d, "--smtp="+smtp.URL(), "--lemonsqueezy-secret="+lsSecret)
		s := newSite(t, smtp, app)
		tab := browser.NewTab(t, ctx)
		do(t, tab, "viewport", chromedp.EmulateViewport(1200, 800))

		// Sign in with the code from the email.
		browser.Navigate(t, tab, app.URL+"/portal/login")
		checkA11y(t, tab, "login")
		shot(t, tab, "login", false)
		do(t, tab, "type the email", chromedp.SendKeys(chromedp.CSS("#email"), "ann@example.com"))
		if st := submit(t, tab, "main form button"); st != 200 {
			t.Fatalf("request code: %d", st)
		}
		if h := browser.Eval[string](t, tab, `document.querySelector("h1").textContent`); h != "Check your email" {
			t.Fatalf("after asking for a code: %q", h)
		}
		checkA11y(t, tab, "code")
		code := s.code(t, "ann@example.com")
		do(t, tab, "type the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
		shot(t, tab, "code", false)
		if st := submit(t, tab, "main form button"); st != 200 {
			t.Fatalf("verify: %d", st)
		}
		if u := browser.Eval[string](t, tab, `location.pathname`); u != "/portal" {
			t.Fatalf("signed in, at %s", u)
		}

		// Home: balances, the link with its copy button, the charts.
		checkA11y(t, tab, "home")
		shot(t, tab, "home", true)
		link := browser.Eval[string](t, tab, `document.querySelector("#link-watercolour-masterclass").value`)
		if link != app.URL+"/r/"+s.ann.Code {
			t.Fatalf("link %q", link)
		}
		if browser.Eval[bool](t, tab, `document.querySelector("button[data-copy]").hidden`) {
			t.Fatal("the copy button stays hidden with script on")
		}
		browser.Eval[bool](t, tab, `(navigator.clipboard.writeText = t => { window.copied = t; return Promise.resolve(); }, true)`)
		browser.Click(t, tab, "button[data-copy]")
		if got := browser.WaitFor[string](t, tab, `window.copied`); got != link {
			t.Fatalf("copied %q, want %q", got, link)
		}
		if st := browser.WaitFor[string](t, tab, `document.querySelector("#link-watercolour-masterclass-status").textContent`); st != "Copied." {
			t.Fatalf("copy status %q", st)
		}
		if n := browser.Eval[int](t, tab, `document.querySelectorAll("svg.chart rect.bar").length`); n < 20 {
			t.Fatalf("%d bars in the charts", n)
		}
		if body := browser.Eval[string](t, tab, `document.body.innerText`); !strings.Contains(body, "ANN15") || !strings.Contains(body, "€") {
			t.Fatalf("home text:\n%s", body)
		}

		// On a phone: nothing wider than the screen (tables scroll inside).
		do(t, tab, "phone", chromedp.EmulateViewport(375, 800, chromedp.EmulateScale(2)), chromedp.Reload())
		if w := browser.Eval[int](t, tab, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("on a phone the page is %dpx wider than the screen", w)
		}
		shot(t, tab, "home-phone", false)
		do(t, tab, "desktop", chromedp.EmulateViewport(1200, 800))

		// The commission of a signed webhook is there, and in the CSV.
		browser.Navigate(t, tab, app.URL+"/portal/commissions")
		checkA11y(t, tab, "commissions")
		shot(t, tab, "commissions", false)
		if body := browser.Eval[string](t, tab, `document.querySelector("main table").innerText`); !strings.Contains(body, "Colour Theory Mini-course") ||
			!strings.Contains(body, "Lemon Squeezy") || strings.Contains(body, "Bob") {
			t.Fatalf("commissions table:\n%s", body)
		}
		csv := browser.Eval[string](t, tab, `fetch(document.querySelector("a[download]").href).then(r => r.text())`)
		if !strings.HasPrefix(csv, "commission_id,date,platform") || strings.Count(csv, "\n") != 6 || !strings.Contains(csv, "Colour Theory Mini-course") {
			t.Fatalf("CSV:\n%s", csv)
		}

		for _, page := range []string{"clicks", "payouts", "settings"} {
			browser.Navigate(t, tab, app.URL+"/portal/"+page)
			checkA11y(t, tab, page)
			shot(t, tab, page, page == "clicks")
		}
		if body := browser.Eval[string](t, tab, `document.body.innerText`); !strings.Contains(body, "(this device)") {
			t.Fatalf("settings:\n%s", body)
		}
		browser.Navigate(t, tab, app.URL+"/portal/payouts")
		if body := browser.Eval[string](t, tab, `document.body.innerText`); !strings.Contains(body, "Paid") {
			t.Fatalf("payouts:\n%s", body)
		}

		// Someone else's commission: 404.
		res, err := chromedp.Run(tab, chromedp.NavigateResponse(fmt.Sprintf("%s/portal/commissions/%d", app.URL, s.bobCommission)))
		if err != nil {
			t.Fatal(err)
		}
		if title := browser.Eval[string](t, tab, `document.title`); res.Status != 404 || title != "Not found · Affiliate portal" {
			t.Fatalf("Bob's commission: %d %q", res.Status, title)
		}

		// Sign out; the session is over.
		browser.Navigate(t, tab, app.URL+"/portal")
		if st := submit(t, tab, "form.signout button"); st != 200 {
			t.Fatalf("sign out: %d", st)
		}
		if body := browser.Eval[string](t, tab, `document.body.innerText`); !strings.Contains(body, "You are signed out.") {
			t.Fatalf("after signing out:\n%s", body)
		}
		browser.Navigate(t, tab, app.URL+"/portal/commissions")
		if u := browser.Eval[string](t, tab, `location.pathname + location.search`); u != "/portal/login?next=%2Fportal%2Fcommissions" {
			t.Fatalf("after sign-out, /portal/commissions led to %s", u)
		}
		browser.Navigate(t, tab, app.URL+"/portal/signup")
		checkA11y(t, tab, "signup")
		shot(t, tab, "signup", false)

		// Without JavaScript: sign in and read every page; the copy button
		// stays hidden, the link is there to select, the charts are drawn.
		nojs := browser.NewTab(t, ctx)
		if _, err := chromedp.Call(nojs, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		browser.Navigate(t, nojs, app.URL+"/portal/login")
		do(t, nojs, "type the email", chromedp.SendKeys(chromedp.CSS("#email"), "ann@example.com"))
		if st := submit(t, nojs, "main form button"); st != 200 {
			t.Fatalf("no script: request code: %d", st)
		}
		do(t, nojs, "type the code", chromedp.SendKeys(chromedp.CSS("#code"), s.code(t, "ann@example.com")))
		if st := submit(t, nojs, "main form button"); st != 200 {
			t.Fatalf("no script: verify: %d", st)
		}
		if browser.Eval[bool](t, nojs, `document.querySelector("button[data-copy]").hidden`) != true {
			t.Error("no script: the copy button shows, though it cannot work")
		}
		if n := browser.Eval[int](t, nojs, `document.querySelectorAll("svg.chart rect.bar").length`); n < 20 {
			t.Errorf("no script: %d bars", n)
		}
		for _, page := range []string{"commissions", "clicks", "payouts", "settings"} {
			res, err := chromedp.Run(nojs, chromedp.NavigateResponse(app.URL+"/portal/"+page))
			if err != nil || res.Status != 200 {
				t.Fatalf("no script: %s: %v %v", page, res, err)
			}
		}
		if st := submit(t, nojs, "form.signout button"); st != 200 {
			t.Fatalf("no script: sign out: %d", st)
		}
	})
}
