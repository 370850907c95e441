package admin_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/demo"
	"affiliated/internal/notify"
	"affiliated/internal/program"
	"affiliated/internal/server/servertest"
	"affiliated/internal/testutil/browser"
)

// -screenshots writes the console's screenshots into docs/screenshots (for
// docs/console.md); without it they go to a temporary directory, so the
// code path runs on every test run without touching the tree.
var screenshots = flag.Bool("screenshots", false, "write console screenshots into docs/screenshots")

// stepLimit bounds one browser step, so that a broken page fails the test
// with a message instead of hanging. A safety net, not a measurement.
const stepLimit = 30 * time.Second

// a11y lists accessibility problems of the page: inputs without a label,
// headings out of order, buttons and links without a name, charts without
// a title, duplicate ids.
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
	const ids = {};
	for (const el of document.querySelectorAll("[id]")) { if (ids[el.id]) p.push("duplicate id " + el.id); ids[el.id] = true; }
	if (document.documentElement.lang !== "en") p.push("no lang");
	return p;
})()`

// TestOwnerDailyPath walks the owner's day in a real Chromium on the demo
// data: sign in with a code from the dev mailbox, read the overview,
// approve a signup, attribute an order, create a payout, download its CSV
// and mark it paid. Screenshots of the pages go to docs/screenshots.
func TestOwnerDailyPath(t *testing.T) {
	ctx := context.Background()
	d := dbtest.SQLite(t)
	if _, err := demo.Fill(ctx, d, demo.Options{Clicks: 4000, Orders: 260, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	app := servertest.Start(t, d)
	owners := &auth.Owners{DB: d, Audit: app.Audit}
	if _, err := owners.Add(audit.WithActor(ctx, "cli"), "owner@example.com"); err != nil {
		t.Fatal(err)
	}
	pending, err := app.Programs.Affiliates(ctx, program.AffiliateFilter{Status: program.StatusPending})
	if err != nil || len(pending) == 0 {
		t.Fatalf("the demo has no signup waiting: %v", err)
	}

	tab := browser.NewTab(t, browser.New(t))
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, stepLimit)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// submit clicks a button and waits for the page it leads to.
	submit := func(what, css string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, stepLimit)
		defer cancel()
		res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.Status != 200 {
			t.Fatalf("%s: status %d", what, res.Status)
		}
	}
	dir := t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "..", "..", "docs", "screenshots")
	}
	// shot checks the page's accessibility and saves a screenshot of the viewport.
	shot := func(name string) {
		t.Helper()
		if p := browser.Eval[[]string](t, tab, a11y); len(p) > 0 {
			t.Errorf("%s: accessibility: %v", name, p)
		}
		png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "admin-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// shotFrom saves 1200×800 of the page from the top of an element down.
	shotFrom := func(name, css string) {
		t.Helper()
		y := browser.Eval[float64](t, tab, `document.querySelector(`+jsString(css)+`).getBoundingClientRect().top + window.scrollY - 16`)
		png, err := chromedp.Call(tab, page.CaptureScreenshot, page.CaptureScreenshotParams{FromSurface: ptr(true),
			CaptureBeyondViewport: ptr(true), Clip: &page.Viewport{X: 0, Y: y, Width: 1200, Height: 800, Scale: 1}})
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "admin-"+name+".png"), png.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("text of %s: %v", css, err)
		}
		return s
	}
	run("viewport", chromedp.EmulateViewport(1200, 800))

	// Sign in: the console sends the browser to sign in, the code comes by email.
	run("open the console", chromedp.Navigate(app.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#email")))
	shot("signin")
	run("type the email", chromedp.SendKeys(chromedp.CSS("#email"), "owner@example.com"))
	submit("ask for a code", "main form button")
	code := signInCode(t, app, "owner@example.com")
	run("type the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	submit("sign in", "main form button")

	// The overview: totals, charts, top lists.
	if h1 := text("main h1"); h1 != "Overview" {
		t.Fatalf("after sign-in: %q", h1)
	}
	if clicks := text(".cards li:first-child .v"); clicks == "0" || clicks == "" {
		t.Errorf("the overview shows %q clicks on demo data", clicks)
	}
	for _, want := range []string{"Top affiliates", "Top referrers", "Top landing pages", "Devices", "EPC"} {
		if !strings.Contains(text("main"), want) {
			t.Errorf("the overview has no %q", want)
		}
	}
	shot("overview")
	shotFrom("charts", "#charts")

	// Approve a signup.
	run("applications", chromedp.Navigate(app.URL+"/admin/affiliates?status=pending"), chromedp.WaitVisible(chromedp.CSS("main table")))
	shot("affiliates")
	submit("open an application", `main table tbody tr:first-child td:first-child a`)
	shot("affiliate")
	submit("approve", `form[action$="/approve"] button`)
	if flash := text(".flash"); !strings.Contains(flash, "approved") {
		t.Errorf("after approving: %q", flash)
	}
	if a, _ := app.Programs.Affiliate(ctx, pending[0].ID); a.Status != program.StatusActive {
		t.Errorf("%s is %s after approval", a.Email, a.Status)
	}

	// Attribute an order that nobody was credited with.
	run("unattributed orders", chromedp.Navigate(app.URL+"/admin/orders?unattributed=1"), chromedp.WaitVisible(chromedp.CSS("main table")))
	shot("orders")
	submit("open one", `main table tbody tr:first-child td:first-child a`)
	orderURL, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	run("type a code", chromedp.SendKeys(chromedp.CSS("#code"), "mayacodes"))
	submit("attribute it", `form[action$="/attribute"] button`)
	if !strings.Contains(text("main"), "Maya Chen") {
		t.Errorf("the order page does not name the affiliate after attribution")
	}
	shot("order")
	if !strings.Contains(orderURL, "/admin/orders/") {
		t.Fatalf("order page at %s", orderURL)
	}

	// The review queue, for the docs.
	run("review queue", chromedp.Navigate(app.URL+"/admin/commissions?status=held"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	shot("review")

	// Create a payout, download its CSV, mark it paid.
	run("payouts", chromedp.Navigate(app.URL+"/admin/payouts"), chromedp.WaitVisible(chromedp.CSS(`form[action="/admin/payouts"] button`)))
	shot("payouts")
	submit("create the payout", `form[action="/admin/payouts"] button`)
	shot("payout")
	href, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('a[href$="/csv"]').href`))
	if err != nil {
		t.Fatal(err)
	}
	csv := browser.Eval[string](t, tab, `fetch(`+jsString(href)+`).then(r => r.ok ? r.text() : "status " + r.status)`)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) < 2 || lines[0] != "affiliate_name,email,payout_email,currency,amount,commissions" {
		t.Fatalf("the payout CSV: %q", csv)
	}
	submit("mark it paid", `form[action$="/paid"] button`)
	if !strings.Contains(text(".flash"), "marked paid") || !strings.Contains(text("main h1"), "Paid") {
		t.Errorf("after marking paid: %q / %q", text(".flash"), text("main h1"))
	}
	pays, err := app.Ledger.Payouts(ctx)
	if err != nil || len(pays) == 0 || pays[0].Status != "paid" {
		t.Fatalf("payouts after marking paid: %+v, %v", pays, err)
	}
	full, err := app.Ledger.Payout(ctx, pays[0].ID)
	if err != nil || len(full.Lines) != len(lines)-1 {
		t.Errorf("the CSV has %d lines, the payout %d", len(lines)-1, len(full.Lines))
	}

	// The rest of the console, for the docs.
	for _, p := range []struct{ name, path string }{
		{"programs", "/admin/programs/1"}, {"deliveries", "/admin/deliveries"}, {"outbox", "/admin/outbox"},
		{"settings", "/admin/settings"}, {"audit", "/admin/audit"},
	} {
		run(p.name, chromedp.Navigate(app.URL+p.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		shot(p.name)
	}

	// On a phone: nothing is wider than the screen (tables scroll in their box).
	run("phone", chromedp.EmulateViewport(390, 844))
	for _, path := range []string{"/admin/", "/admin/affiliates", "/admin/orders", "/admin/payouts", "/admin/settings"} {
		run(path, chromedp.Navigate(app.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if w := browser.Eval[float64](t, tab, `document.documentElement.scrollWidth`); w > 390 {
			wide := browser.Eval[[]string](t, tab, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 391 && !e.closest(".scroll")).slice(0, 6).map(e => e.tagName + "." + e.className + "#" + e.id)`)
			t.Errorf("%s on a phone: the page is %vpx wide: %v", path, w, wide)
		}
		if path == "/admin/" {
			shot("phone")
		}
	}
}

var codeRe = regexp.MustCompile(`\b[0-9]{6}\b`)

// signInCode reads the latest sign-in code sent to email from the dev
// mailbox (no SMTP server is configured in tests).
func signInCode(t *testing.T, app *servertest.App, email string) string {
	t.Helper()
	list, _, err := app.Notify.Mailbox(context.Background(), notify.Filter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		if m.Topic == "signin.code" && m.Recipient == email {
			if c := codeRe.FindString(m.Text); c != "" {
				return c
			}
		}
	}
	t.Fatalf("no sign-in code for %s in the dev mailbox", email)
	return ""
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func ptr[T any](v T) *T { return &v }
