package outreachui_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/outreach"
	"affiliated/internal/testutil/browser"
)

// -screenshots writes the outreach screenshots into docs/screenshots (for
// docs/outreach.md); without it they go to a temporary directory.
var screenshots = flag.Bool("screenshots", false, "write outreach screenshots into docs/screenshots")

// stepLimit bounds one browser step, so that a broken page fails with a
// message instead of hanging. A safety net, not a measurement.
const stepLimit = 30 * time.Second

var codeRe = regexp.MustCompile(`\b[0-9]{6}\b`)

// TestOutreachInBrowser walks a campaign in a real Chromium: sign in,
// compose, preview every vendor, submit, approve from the task board, send
// through SMTP, and see every recipient sent.
func TestOutreachInBrowser(t *testing.T) {
	smtp := smtptest.Start(t)
	w := newWorld(t, dbtest.SQLite(t), "--smtp="+smtp.URL())
	tab := browser.NewTab(t, browser.New(t))
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, stepLimit)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// submitStatus clicks a button and waits for the page it leads to, with status want.
	submitStatus := func(what, css string, want int64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, stepLimit)
		defer cancel()
		res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.Status != want {
			t.Fatalf("%s: status %d, want %d", what, res.Status, want)
		}
	}
	submit := func(what, css string) { t.Helper(); submitStatus(what, css, 200) }
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("text of %s: %v", css, err)
		}
		return s
	}
	dir := t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "..", "..", "docs", "screenshots")
	}
	shot := func(name string) {
		t.Helper()
		browser.Screenshot(t, tab, filepath.Join(dir, "outreach-"+name+".png"))
	}
	run("viewport", chromedp.EmulateViewport(1200, 800))

	// Sign in with the code that comes by email (through SMTP here).
	run("open the outreach pages", chromedp.Navigate(w.app.URL+"/admin/outreach"), chromedp.WaitVisible(chromedp.CSS("#email")))
	run("type the email", chromedp.SendKeys(chromedp.CSS("#email"), "boss@example.com"))
	submit("ask for a code", "main form button")
	code := codeRe.FindString(smtp.WaitFor(1, stepLimit)[0].Text)
	run("type the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	submit("sign in", "main form button")
	if h1 := text("main h1"); h1 != "Outreach" {
		t.Fatalf("after sign-in: %q", h1)
	}

	// Compose.
	submit("new campaign", `a[href="/admin/outreach/new"]`)
	run("fill the form",
		chromedp.SendKeys(chromedp.CSS("#name"), "Harvest partners"),
		chromedp.SendKeys(chromedp.CSS("#subject"), "Let's work together, {{.Name}}"),
		chromedp.SetValue(chromedp.CSS("#html"), `<h2 style="color:#7a1f3d">Hello {{.Name}}</h2><p>Send your guests to <a href="{{.ReferralURL}}">our shop</a> and earn on every order.</p>`),
		chromedp.SendKeys(chromedp.CSS("#from_name"), "The Vineyard"),
		chromedp.SendKeys(chromedp.CSS("#reply_to"), "partners@example.com"),
		chromedp.Click(chromedp.CSS("#utm_content")))
	shot("compose")
	submit("save", "#save")
	if flash := text(".flash"); !strings.Contains(flash, "saved") {
		t.Fatalf("after saving: %q", flash)
	}
	campaignURL, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	campaignURL, _, _ = strings.Cut(campaignURL, "?")

	// Preview every vendor: one section each, with its own link, in a sandboxed frame.
	// A viewport tall enough for every frame: the frames load lazily, and
	// a full-page screenshot does not scroll them into view.
	run("tall viewport", chromedp.EmulateViewport(1200, 2100))
	submit("preview", "#preview")
	for _, v := range w.vendors {
		sec := "#recipient-" + strconv.FormatInt(v.ID, 10)
		if got := text(sec + " dd"); got != v.Email {
			t.Errorf("preview of %s: To %q", v.Email, got)
		}
		if link := text(sec + " dl dd:nth-of-type(3)"); !strings.Contains(link, "/r/"+v.Code+"?utm_content=harvest-partners") {
			t.Errorf("preview of %s: link %q", v.Email, link)
		}
	}
	if n := browser.Eval[int](t, tab, `document.querySelectorAll('iframe[sandbox=""]').length`); n != len(w.vendors) {
		t.Errorf("%d sandboxed frames, want %d", n, len(w.vendors))
	}
	shot("preview")
	run("viewport", chromedp.EmulateViewport(1200, 800))

	// Submit for review.
	run("back to the campaign", chromedp.Navigate(campaignURL), chromedp.WaitVisible(chromedp.CSS("#approver")))
	run("fill the review", chromedp.SendKeys(chromedp.CSS("#approver"), "ann@example.com"),
		chromedp.SetValue(chromedp.CSS("#priority"), "high"))
	submit("submit", "#submit")
	shot("campaign")

	// Sending before approval is refused, with the reason.
	submitStatus("send too early", "#send", 409)
	if msg := text("#page-error"); msg == "" {
		t.Error("no message for a refused send")
	}

	// Approve from the task board.
	run("task board", chromedp.Navigate(w.app.URL+"/admin/tasks"), chromedp.WaitVisible(chromedp.CSS("#board")))
	shot("tasks")
	submit("approve", "#board .approve")
	if flash := text(".flash"); !strings.Contains(flash, "approved") {
		t.Errorf("after approving: %q", flash)
	}

	// Send, and see every vendor's status.
	run("the campaign", chromedp.Navigate(campaignURL), chromedp.WaitVisible(chromedp.CSS("#send")))
	submit("send", "#send")
	smtp.WaitFor(1+len(w.vendors), stepLimit)
	want := strconv.Itoa(len(w.vendors)) + " sent, 0 failed, 0 queued of " + strconv.Itoa(len(w.vendors))
	for i := 0; ; i++ { // the outbox marks a message sent just after SMTP accepts it
		run("reload", chromedp.Navigate(campaignURL), chromedp.WaitVisible(chromedp.CSS("#progress")))
		if strings.Contains(text("#progress"), want) {
			break
		}
		if i == 100 {
			t.Fatalf("progress: %q", text("#progress"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := browser.Eval[int](t, tab, `document.querySelectorAll('#delivery .badge.sent').length`); n != len(w.vendors) {
		t.Errorf("%d recipients shown as sent", n)
	}
	shot("sent")
	if c := w.campaign(campaignID(t, campaignURL)); c.State != outreach.StateSent && c.State != outreach.StateSending {
		t.Errorf("campaign %s", c.State)
	}
	// Each vendor got exactly one message, with their own link.
	got := map[string]int{}
	for _, m := range smtp.Messages()[1:] {
		got[m.To[0]]++
		if !strings.Contains(m.Text, "utm_content=harvest-partners") || m.HTML == "" {
			t.Errorf("message to %v: not multipart with the tagged link", m.To)
		}
	}
	for _, v := range w.vendors {
		if got[v.Email] != 1 {
			t.Errorf("%s got %d messages", v.Email, got[v.Email])
		}
	}
	if *screenshots {
		if _, err := os.Stat(filepath.Join(dir, "outreach-sent.png")); err != nil {
			t.Error(err)
		}
	}
}

func campaignID(t *testing.T, u string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(u[strings.LastIndex(u, "/")+1:], 10, 64)
	if err != nil {
		t.Fatalf("campaign URL %s", u)
	}
	return id
}
