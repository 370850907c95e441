// Package browser runs tests in a real headless Chromium through chromedp.
//
//	ctx := browser.New(t)                  // one browser, closed on t.Cleanup
//	tab := browser.NewTab(t, ctx)          // a tab with its own cookie jar
//	browser.Navigate(t, tab, srv.URL+"/")
//	ref := browser.Eval[string](t, tab, `window.affiliated.referral`)
//	c, ok := browser.Cookie(t, tab, srv.URL, "aff_ref")
//	browser.Screenshot(t, tab, "../../docs/screenshots/x.png")
//
// Every *.test host name resolves to 127.0.0.1 in this browser, so a test
// can serve two sites from two httptest servers, such as
// http://go.tracker.test:PORT and http://shop.test:PORT, and see how
// cookies and CORS behave between them.
//
// Chromium is found at $AFFILIATED_CHROMIUM, /usr/bin/chromium or on the
// PATH. When it is missing the test is skipped on a laptop, and fails when
// CI=true: a browser suite that silently skips must not pass as green.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// MissingMessage is the message of the skip or failure when no Chromium is
// found.
const MissingMessage = "chromium not found: apt-get install -y chromium"

// waitLimit bounds a wait for a page condition, so that a broken page fails
// the test with a message instead of hanging until the test binary's own
// timeout. It is a safety net, not a measured expectation.
const waitLimit = 20 * time.Second

// FindChromium returns the path of the Chromium binary, or "" if there is
// none.
func FindChromium() string {
	if p := os.Getenv("AFFILIATED_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// requireChromium skips the test when path is empty, or fails it under CI.
func requireChromium(t testing.TB, path string) bool {
	if path != "" {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(MissingMessage)
	} else {
		t.Skip(MissingMessage)
	}
	return false
}

// New starts a headless Chromium for the test and returns a chromedp
// context for its first tab. The browser and its temporary profile are
// removed when the test ends. If no Chromium is found, the test is skipped,
// or fails when the environment variable CI is "true".
func New(t testing.TB) context.Context {
	t.Helper()
	path := FindChromium()
	if !requireChromium(t, path) {
		return nil // not reached with a real testing.TB
	}
	profile, err := os.MkdirTemp("", "affiliated-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := slices.Clone(chromedp.DefaultExecAllocatorOptions[:])
	opts = append(opts,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// Any *.test host (a reserved TLD) is this machine, so tests can
		// give a tracker and a shop distinct sites: http://shop.test:PORT.
		chromedp.Flag("host-resolver-rules", "MAP *.test 127.0.0.1"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		t.Logf("chromedp: "+format, args...)
	}))
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser process to exit
		// After the browser has exited: it writes to its profile until then.
		if err := os.RemoveAll(profile); err != nil {
			t.Logf("removing the Chromium profile: %v", err)
		}
	})
	// Start the browser now, with no deadline: the first Run binds the
	// browser's life to its context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// NewTab opens a new tab in its own browser context (a separate cookie jar
// and storage, like a private window), closed when the test ends. ctx must
// come from New.
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return tab
}

// Navigate loads url in the tab and waits for its load event.
func Navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
}

// Click clicks the first element that matches the CSS selector, with real
// mouse events, as a visitor would.
func Click(t testing.TB, ctx context.Context, css string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		t.Fatalf("click %s: %v", css, err)
	}
}

// Eval evaluates a JavaScript expression in the page and returns its value
// decoded into T. A promise is awaited.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// WaitFor waits until the JavaScript expression is truthy in the page and
// returns its value decoded into T. It fails the test if that does not
// happen within a generous limit.
func WaitFor[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr,
		chromedp.WithPollingTimeout(waitLimit), chromedp.WithPollingInterval(10*time.Millisecond)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
	return v
}

// Cookies returns the cookies the browser would send to the given URLs
// (the current page's URL when none is given), HttpOnly ones included.
func Cookies(t testing.TB, ctx context.Context, urls ...string) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: urls})
	if err != nil {
		t.Fatalf("get cookies: %v", err)
	}
	return res.Cookies
}

// Cookie returns the cookie called name that the browser would send to
// url.
func Cookie(t testing.TB, ctx context.Context, url, name string) (*network.Cookie, bool) {
	t.Helper()
	for _, c := range Cookies(t, ctx, url) {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// WaitCookie waits until the cookie called name that the browser would
// send to url has the value want, and returns it. A cookie set by a script
// reaches the browser's store (which Cookie reads) after document.cookie
// returns, so a read right after the script ran may still see the value
// before. It fails the test if the value does not arrive within a generous
// limit.
func WaitCookie(t testing.TB, ctx context.Context, url, name, want string) *network.Cookie {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		c, ok := Cookie(t, ctx, url, name)
		if ok && c.Value == want {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("cookie %s for %s = %+v, want the value %q", name, url, c, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Screenshot writes a PNG of the whole page to path, creating its
// directory (docs/screenshots/ for the README, say).
func Screenshot(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(fmt.Errorf("screenshot: %w", err))
	}
}
