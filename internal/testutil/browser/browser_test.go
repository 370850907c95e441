package browser

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "server", Value: "s1", Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>harness</title><p id="p">hello</p>
<script>document.cookie = "script=s2; Path=/"; setTimeout(function () { window.later = 42 }, 50)</script>`)
	}))
	t.Cleanup(srv.Close)

	ctx := New(t)
	tab := NewTab(t, ctx)
	Navigate(t, tab, srv.URL+"/")

	if got := Eval[string](t, tab, `document.getElementById("p").textContent`); got != "hello" {
		t.Errorf("Eval = %q, want hello", got)
	}
	if got := Eval[int](t, tab, `Promise.resolve(6 * 7)`); got != 42 {
		t.Errorf("Eval of a promise = %d, want 42", got)
	}
	if got := WaitFor[int](t, tab, `window.later`); got != 42 {
		t.Errorf("WaitFor = %d, want 42", got)
	}
	for name, want := range map[string]string{"server": "s1", "script": "s2"} {
		c, ok := Cookie(t, tab, srv.URL, name)
		if !ok || c.Value != want {
			t.Errorf("cookie %s = %+v, want value %q", name, c, want)
		}
	}

	// *.test names are this machine: a second site on the same server.
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	Navigate(t, tab, "http://shop.test:"+u.Port()+"/")
	if got := Eval[string](t, tab, `location.host + " " + document.title`); got != "shop.test:"+u.Port()+" harness" {
		t.Errorf("on shop.test: %q", got)
	}
	if c, ok := Cookie(t, tab, "http://shop.test:"+u.Port()+"/", "server"); !ok || c.Domain != "shop.test" {
		t.Errorf("cookie on shop.test = %+v", c)
	}

	// A second tab has its own cookie jar.
	other := NewTab(t, ctx)
	Navigate(t, other, "about:blank")
	if cs := Cookies(t, other, srv.URL); len(cs) != 0 {
		t.Errorf("new tab sees %d cookies, want none", len(cs))
	}

	path := filepath.Join(t.TempDir(), "shots", "page.png")
	Screenshot(t, tab, path)
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot is not a PNG: % x", png[:min(8, len(png))])
	}
}

// tb records what a helper does to its test instead of stopping it.
type tb struct {
	testing.TB
	fatal, skip string
}

func (r *tb) Helper()           {}
func (r *tb) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }
func (r *tb) Skip(args ...any)  { r.skip = fmt.Sprint(args...) }

func TestMissingChromium(t *testing.T) {
	tests := []struct {
		ci, path    string
		fatal, skip bool
	}{
		{ci: "true", fatal: true},
		{ci: "", skip: true},
		{ci: "false", skip: true},
		{ci: "true", path: "/usr/bin/chromium"},
		{ci: "", path: "/usr/bin/chromium"},
	}
	for _, tt := range tests {
		t.Setenv("CI", tt.ci)
		r := &tb{TB: t}
		ok := requireChromium(r, tt.path)
		if ok != (tt.path != "") || (r.fatal != "") != tt.fatal || (r.skip != "") != tt.skip {
			t.Errorf("CI=%q path=%q: ok=%v fatal=%q skip=%q", tt.ci, tt.path, ok, r.fatal, r.skip)
		}
		if msg := r.fatal + r.skip; msg != "" && msg != MissingMessage {
			t.Errorf("message %q, want %q", msg, MissingMessage)
		}
	}

	t.Setenv("AFFILIATED_CHROMIUM", "/opt/chromium/chrome")
	if p := FindChromium(); p != "/opt/chromium/chrome" {
		t.Errorf("FindChromium() = %q, want the AFFILIATED_CHROMIUM value", p)
	}
}
