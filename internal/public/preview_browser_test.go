package public_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
	"affiliated/internal/testutil/browser"
)

// frameInfo is what a test reads inside one rendered email.
type frameInfo struct {
	Text, Links, Ran, Color string
}

// frames reads every email frame of the tab's page. The frames are
// sandboxed (an opaque origin, run out of process by Chromium), so the page
// itself could not look inside: DevTools attaches to each.
func frames(t *testing.T, tab context.Context) []frameInfo {
	t.Helper()
	infos, err := chromedp.Targets(tab)
	if err != nil {
		t.Fatal(err)
	}
	var out []frameInfo
	for _, info := range infos {
		if info.Type != "iframe" || info.URL != "about:srcdoc" {
			continue
		}
		// Cancelling a context attached to an iframe ends the iframe's
		// target: cancel only once every frame has been read.
		fctx, cancel := chromedp.NewContext(tab, chromedp.WithTargetID(info.TargetID))
		defer cancel()
		v, err := chromedp.Run(fctx, chromedp.Evaluate[frameInfo](`({
			text: document.body ? document.body.innerText : '',
			links: [...document.links].map(a => a.href).join(' '),
			ran: document.body.dataset.ran || '',
			color: document.querySelector('h1') ? getComputedStyle(document.querySelector('h1')).color : '',
		})`))
		if err != nil {
			t.Fatalf("frame %s: %v", info.TargetID, err)
		}
		out = append(out, v)
	}
	return out
}

// The shared preview in a real browser: each email renders in its sandboxed
// frame under the page's CSP, and no script in an email (the owner's or a
// vendor's name) runs.
func TestPreviewInBrowser(t *testing.T) {
	d := dbtest.SQLite(t)
	app := servertest.Start(t, d)
	var prog struct{ ID int64 }
	app.MustDo(http.StatusCreated, "POST", "/api/v1/programs",
		map[string]any{"name": "Partners", "destination_url": "https://trattoria.example/"}, &prog)
	names := []string{"Solare Wines", `<img src=x onerror="document.body.dataset.ran='name'">`}
	var codes []string
	for i, n := range names {
		var a struct{ Code string }
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{
			"program_id": prog.ID, "name": n, "email": "vendor" + strconv.Itoa(i+1) + "@shops.example",
		}, &a)
		codes = append(codes, a.Code)
	}
	var c struct{ ID int64 }
	app.MustDo(http.StatusCreated, "POST", "/api/v1/outreach/campaigns", map[string]any{
		"name": "Spring", "subject": "Hello {{.Name}}", "utm_content": true,
		"html": `<h1 style="color: #a33">Dear {{.Name}}</h1><p><a href="{{.ReferralURL}}">Your link</a></p>` +
			`<script>document.body.dataset.ran = 'owner'</script>`,
		"recipients": map[string]any{"program_id": prog.ID},
	}, &c)
	var link struct{ URL string }
	app.MustDo(http.StatusCreated, "POST", "/api/v1/outreach/campaigns/"+strconv.FormatInt(c.ID, 10)+"/preview-links", nil, &link)

	tab := browser.NewTab(t, browser.New(t))
	browser.Navigate(t, tab, link.URL)
	if n := browser.Eval[int](t, tab, `document.querySelectorAll('iframe[sandbox=""]').length`); n != len(names) {
		t.Fatalf("%d sandboxed frames, want %d", n, len(names))
	}
	if ran := browser.Eval[string](t, tab, `document.body.dataset.ran || ''`); ran != "" {
		t.Fatalf("a script ran in the page: %s", ran)
	}
	// Rendered, not blocked by the CSP: the heading and the link are there,
	// and the inline style applied.
	got := frames(t, tab)
	if len(got) != len(names) {
		t.Fatalf("%d email frames, want %d", len(got), len(names))
	}
	seen := map[int]bool{}
	for _, f := range got {
		i := -1
		for k, code := range codes {
			if strings.Contains(f.Links, "/r/"+code+"?utm_content=spring") {
				i = k
			}
		}
		if i < 0 || seen[i] || !strings.Contains(f.Text, "Dear") {
			t.Fatalf("frame %+v: not one vendor's email", f)
		}
		seen[i] = true
		if f.Ran != "" {
			t.Errorf("%s's frame: a script ran (%s)", names[i], f.Ran)
		}
		if f.Color != "rgb(170, 51, 51)" {
			t.Errorf("%s's frame: inline style not applied: %q", names[i], f.Color)
		}
		if i == 1 && !strings.Contains(f.Text, `<img src=x onerror=`) {
			t.Errorf("the vendor's name is not shown as text: %q", f.Text)
		}
	}
}
