package assets

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/testutil/browser"
)

// Referral ids in the shape t.js accepts (22 base64url characters, the
// last one canonical).
const (
	idA = "AAAAAAAAAAAAAAAAAAAAAA"
	idB = "BBBBBBBBBBBBBBBBBBBBBA"
)

// click is one POST /t/click as the tracker received it.
type click struct {
	Code, Landing, Referrer, Referral string
	ContentType, Origin, Cookie       string
}

// tracker serves t.js and a stand-in for POST /t/click. The real endpoint
// is the public package's; this one only answers the documented JSON
// ({"referral", "cookie_days", "attribution"}) so the script can be tested
// on its own. It hands out idA for the first code it sees and idB for any
// other, whatever the request says: first touch must hold in the script.
type tracker struct {
	*httptest.Server
	mu          sync.Mutex
	clicks      []click
	attribution string
	cookieDays  int
}

func newTracker(t *testing.T) *tracker {
	tr := &tracker{attribution: "first", cookieDays: 30}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /t.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", CacheControl(r.URL.Query().Get("v")))
		w.Write(TrackerJS())
	})
	mux.HandleFunc("POST /t/click", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Code, Landing, Referrer, Referral string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tr.mu.Lock()
		tr.clicks = append(tr.clicks, click{body.Code, body.Landing, body.Referrer, body.Referral,
			r.Header.Get("Content-Type"), r.Header.Get("Origin"), r.Header.Get("Cookie")})
		id := idA
		if tr.clicks[0].Code != body.Code {
			id = idB
		}
		resp := map[string]any{"referral": id, "cookie_days": tr.cookieDays, "attribution": tr.attribution}
		tr.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
	tr.Server = httptest.NewServer(mux)
	t.Cleanup(tr.Close)
	return tr
}

func (tr *tracker) Clicks() []click {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]click(nil), tr.clicks...)
}

// shopPage is a merchant's page with the script tag and checkout links of
// every platform t.js knows, and some it must leave alone.
var shopPage = template.Must(template.New("").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title>
{{if .PaddleFirst}}<script>window.paddleCalls = []; window.Paddle = {Checkout: {open: function (o) { paddleCalls.push(JSON.parse(JSON.stringify(o))) }}};</script>{{end}}
<script src="{{.Src}}" {{.Attrs}}></script>
</head><body>
<h1>Course</h1>
<a id="ls" href="https://store.lemonsqueezy.com/checkout/buy/abc-123?embed=1">Lemon Squeezy</a>
<a id="ls-buy" href="https://store.lemonsqueezy.com/buy/abc">Lemon Squeezy short</a>
<a id="stripe" href="https://buy.stripe.com/test_14k5nN">Stripe</a>
<a id="stripe-own" href="https://buy.stripe.com/test_x?client_reference_id=user_42">Stripe, merchant's own id</a>
<a id="gumroad" href="https://creator.gumroad.com/l/course">Gumroad</a>
<a id="gumroad-root" href="https://gumroad.com/l/course?wanted=true">Gumroad</a>
<a id="ls-store" href="https://store.lemonsqueezy.com/">not a checkout</a>
<a id="other" href="https://example.org/checkout/buy/x">not a platform</a>
<a id="lookalike" href="https://evil.example/x.lemonsqueezy.com/checkout/buy/1?x=.gumroad.com/l/">platform name in the path</a>
<a id="lookalike-host" href="https://notlemonsqueezy.com/checkout/buy/1">platform name in another host</a>
<button id="paddle-buy" onclick="Paddle.Checkout.open({items: [{priceId: 'pri_1'}], customData: {plan: 'pro'}})">Paddle</button>
</body></html>`))

// shop serves shopPage at /{variant}, with the script attributes of that
// variant.
func newShop(t *testing.T, src string) *httptest.Server {
	variants := map[string]template.HTMLAttr{
		"plain":  "",
		"last":   `data-attribution="last"`,
		"custom": `data-cookie="my_ref" data-cookie-days="7"`,
		"paddle": "",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.Trim(r.URL.Path, "/")
		attrs, ok := variants[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if v := r.URL.Query().Get("server_cookie"); v != "" {
			// As the redirect sets it when the tracker shares the site's
			// domain: a server cookie, longer than the script would write.
			http.SetCookie(w, &http.Cookie{Name: "aff_ref", Value: v, Path: "/", MaxAge: 90 * 86400, SameSite: http.SameSiteLaxMode})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		shopPage.Execute(w, map[string]any{"Src": src, "Attrs": attrs, "PaddleFirst": name == "paddle"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// onTestHost rewrites an httptest URL to a *.test host, which the browser
// resolves to 127.0.0.1: the tracker and the shop are then distinct sites.
func onTestHost(t *testing.T, raw, host string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host + ":" + u.Port()
	return u.String()
}

type env struct {
	tr   *tracker
	shop string // http://shop.test:PORT
}

func setup(t *testing.T) (context.Context, env) {
	tr := newTracker(t)
	src := onTestHost(t, tr.URL, "go.tracker.test") + TrackerPath()
	shop := onTestHost(t, newShop(t, src).URL, "shop.test")
	return browser.New(t), env{tr: tr, shop: shop}
}

// land opens a shop page and waits until t.js has settled (affiliated.ready).
func land(t *testing.T, tab context.Context, pageURL string) string {
	t.Helper()
	browser.Navigate(t, tab, pageURL)
	return browser.Eval[string](t, tab, `window.affiliated.ready`)
}

func href(t *testing.T, tab context.Context, id string) *url.URL {
	t.Helper()
	u, err := url.Parse(browser.Eval[string](t, tab, `document.getElementById(`+jsString(id)+`).href`))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// cookieValue reads the page's cookie called name as its scripts see it
// (document.cookie): the browser's store, which browser.Cookie reads, gets a
// script's write a moment later.
func cookieValue(t *testing.T, tab context.Context, name string) string {
	t.Helper()
	return browser.Eval[string](t, tab, `(document.cookie.match(new RegExp('(?:^|; )'+`+jsString(name)+`+'=([^;]*)')) || [,''])[1]`)
}

func TestTrackerJSInBrowser(t *testing.T) {
	ctx, e := setup(t)

	t.Run("ref decorates every checkout", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		if got := land(t, tab, e.shop+"/plain?ref="+idA); got != idA {
			t.Fatalf("affiliated.ready = %q, want %q", got, idA)
		}
		if got := browser.Eval[string](t, tab, `affiliated.referral`); got != idA {
			t.Errorf("affiliated.referral = %q, want %q", got, idA)
		}
		c := browser.WaitCookie(t, tab, e.shop, "aff_ref", idA)
		if c.Path != "/" || string(c.SameSite) != "Lax" || c.Secure || c.Domain != "shop.test" {
			t.Fatalf("cookie = %+v, want aff_ref=%s Path=/ SameSite=Lax host-only, not Secure on http", c, idA)
		}
		if days := time.Until(time.Unix(int64(c.Expires), 0)).Hours() / 24; days < 29.9 || days > 30.1 {
			t.Errorf("cookie expires in %.2f days, want 30", days)
		}
		if n := len(e.tr.Clicks()); n != 0 {
			t.Errorf("a ref landing made %d requests to /t/click, want none", n)
		}

		for _, tt := range []struct{ link, key, want string }{
			{"ls", "checkout[custom][referral]", idA},
			{"ls-buy", "checkout[custom][referral]", idA},
			{"stripe", "client_reference_id", idA},
			{"stripe-own", "client_reference_id", "user_42"},
			{"gumroad", "referral", idA},
			{"gumroad-root", "referral", idA},
		} {
			if got := href(t, tab, tt.link).Query()[tt.key]; len(got) != 1 || got[0] != tt.want {
				t.Errorf("#%s: %s = %q, want [%s]", tt.link, tt.key, got, tt.want)
			}
		}
		if u := href(t, tab, "lookalike"); u.RawQuery != "x=.gumroad.com/l/" {
			t.Errorf("#lookalike was decorated: %s", u)
		}
		if q := href(t, tab, "ls").Query(); q.Get("embed") != "1" {
			t.Errorf("#ls lost its own query: %v", q)
		}
		if q := href(t, tab, "gumroad-root").Query(); q.Get("wanted") != "true" {
			t.Errorf("#gumroad-root lost its own query: %v", q)
		}
		for _, id := range []string{"ls-store", "other", "lookalike-host"} {
			if u := href(t, tab, id); u.RawQuery != "" {
				t.Errorf("#%s was decorated: %s", id, u)
			}
		}

		// Links added or changed later are decorated too.
		browser.Eval[bool](t, tab, `(function () {
			var a = document.createElement('a'); a.id = 'late'; a.href = 'https://buy.stripe.com/late';
			var p = document.createElement('p'); p.appendChild(a); document.body.appendChild(p);
			document.getElementById('gumroad').href = 'https://creator.gumroad.com/l/other';
			return true })()`)
		browser.WaitFor[bool](t, tab, `document.getElementById('late').href.indexOf('client_reference_id=`+idA+`') > 0`)
		browser.WaitFor[bool](t, tab, `document.getElementById('gumroad').href == 'https://creator.gumroad.com/l/other?referral=`+idA+`'`)

		if got := browser.Eval[map[string]string](t, tab, `affiliated.checkoutData()`); got["referral"] != idA {
			t.Errorf("checkoutData() = %v", got)
		}
	})

	t.Run("via posts a click and stores the answer", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		before := len(e.tr.Clicks())
		if got := land(t, tab, e.shop+"/plain?via=anna&utm_source=x"); got != idA {
			t.Fatalf("affiliated.ready = %q, want %q", got, idA)
		}
		clicks := e.tr.Clicks()[before:]
		if len(clicks) != 1 {
			t.Fatalf("%d clicks posted, want 1", len(clicks))
		}
		c := clicks[0]
		if c.Code != "anna" || c.Landing != e.shop+"/plain?via=anna&utm_source=x" || c.Referral != "" {
			t.Errorf("click = %+v", c)
		}
		if !strings.HasPrefix(c.ContentType, "text/plain") || c.Cookie != "" || c.Origin != e.shop {
			t.Errorf("click sent Content-Type %q, Cookie %q, Origin %q; want text/plain (no preflight), no cookie, the shop's origin", c.ContentType, c.Cookie, c.Origin)
		}
		if got := cookieValue(t, tab, "aff_ref"); got != idA {
			t.Errorf("cookie = %q, want %q", got, idA)
		}
		if got := href(t, tab, "stripe").Query().Get("client_reference_id"); got != idA {
			t.Errorf("stripe client_reference_id = %q, want %q", got, idA)
		}
	})

	t.Run("first touch keeps the first referral", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		land(t, tab, e.shop+"/plain?via=anna")
		before := len(e.tr.Clicks())
		if got := land(t, tab, e.shop+"/plain?via=bob"); got != idA {
			t.Errorf("second landing: referral %q, want the first, %q", got, idA)
		}
		// The second click is still logged, and says which referral holds.
		if clicks := e.tr.Clicks()[before:]; len(clicks) != 1 || clicks[0].Code != "bob" || clicks[0].Referral != idA {
			t.Errorf("second landing posted %+v, want one click for bob carrying referral %s", clicks, idA)
		}
		if got := cookieValue(t, tab, "aff_ref"); got != idA {
			t.Errorf("cookie = %q, want %q", got, idA)
		}
		// A ref from our redirect does not take over either.
		if got := land(t, tab, e.shop+"/plain?ref="+idB); got != idA {
			t.Errorf("ref landing: referral %q, want %q", got, idA)
		}
		if got := href(t, tab, "gumroad").Query().Get("referral"); got != idA {
			t.Errorf("gumroad referral = %q, want %q", got, idA)
		}
	})

	t.Run("last touch from the server replaces it", func(t *testing.T) {
		e.tr.mu.Lock()
		e.tr.attribution, e.tr.cookieDays = "last", 45
		e.tr.mu.Unlock()
		t.Cleanup(func() {
			e.tr.mu.Lock()
			e.tr.attribution, e.tr.cookieDays = "first", 30
			e.tr.mu.Unlock()
		})
		tab := browser.NewTab(t, ctx)
		land(t, tab, e.shop+"/plain?via=anna")
		if got := land(t, tab, e.shop+"/plain?via=bob"); got != idB {
			t.Errorf("second landing: referral %q, want %q", got, idB)
		}
		c := browser.WaitCookie(t, tab, e.shop, "aff_ref", idB)
		if days := time.Until(time.Unix(int64(c.Expires), 0)).Hours() / 24; days < 44.9 || days > 45.1 {
			t.Errorf("cookie expires in %.2f days, want the server's 45", days)
		}
		if got := href(t, tab, "ls").Query().Get("checkout[custom][referral]"); got != idB {
			t.Errorf("lemon squeezy referral = %q, want %q", got, idB)
		}
	})

	t.Run("last touch from the script tag", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		land(t, tab, e.shop+"/last?ref="+idA)
		if got := land(t, tab, e.shop+"/last?ref="+idB); got != idB {
			t.Errorf("referral %q, want %q", got, idB)
		}
		if got := cookieValue(t, tab, "aff_ref"); got != idB {
			t.Errorf("cookie = %q, want %q", got, idB)
		}
	})

	t.Run("a server-set cookie is not rewritten", func(t *testing.T) {
		// Safari caps cookies written by script at 7 days; one from our
		// server is not. Writing the same id again would lose that.
		tab := browser.NewTab(t, ctx)
		land(t, tab, e.shop+"/last?server_cookie="+idA+"&ref="+idA)
		c := browser.WaitCookie(t, tab, e.shop, "aff_ref", idA)
		if days := time.Until(time.Unix(int64(c.Expires), 0)).Hours() / 24; days < 89.9 {
			t.Errorf("cookie expires in %.2f days, want the server's 90: the script rewrote it", days)
		}
	})

	t.Run("cookie name and days from the script tag", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		land(t, tab, e.shop+"/custom?ref="+idA)
		c := browser.WaitCookie(t, tab, e.shop, "my_ref", idA)
		if days := time.Until(time.Unix(int64(c.Expires), 0)).Hours() / 24; days < 6.9 || days > 7.1 {
			t.Errorf("cookie expires in %.2f days, want 7", days)
		}
		if _, ok := browser.Cookie(t, tab, e.shop, "aff_ref"); ok {
			t.Error("aff_ref set although data-cookie renames it")
		}
	})

	t.Run("no referral leaves links alone", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		if got := land(t, tab, e.shop+"/plain?ref=garbage&utm_source=x"); got != "" {
			t.Errorf("affiliated.ready = %q, want empty", got)
		}
		for _, id := range []string{"ls", "ls-buy", "stripe", "gumroad", "gumroad-root"} {
			u := href(t, tab, id)
			if strings.Contains(u.RawQuery, "referral") || strings.Contains(u.RawQuery, "client_reference_id") {
				t.Errorf("#%s decorated without a referral: %s", id, u)
			}
		}
		if got := href(t, tab, "stripe").String(); got != "https://buy.stripe.com/test_14k5nN" {
			t.Errorf("stripe link = %s, want it untouched (Stripe rejects a blank client_reference_id)", got)
		}
		if cs := browser.Cookies(t, tab, e.shop); len(cs) != 0 {
			t.Errorf("cookies set without a referral: %+v", cs)
		}
		if got := browser.Eval[map[string]string](t, tab, `affiliated.checkoutData()`); len(got) != 0 {
			t.Errorf("checkoutData() = %v, want {}", got)
		}
	})

	t.Run("garbage cookie is ignored", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		browser.Navigate(t, tab, e.shop+"/plain")
		browser.Eval[bool](t, tab, `document.cookie = "aff_ref=%3Cscript%3E; Path=/"; true`)
		if got := land(t, tab, e.shop+"/plain?ref="+idA); got != idA {
			t.Errorf("referral %q, want %q", got, idA)
		}
		if got := cookieValue(t, tab, "aff_ref"); got != idA {
			t.Errorf("cookie = %q, want %q", got, idA)
		}
	})

	t.Run("paddle loaded after t.js", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		land(t, tab, e.shop+"/plain?ref="+idA)
		// Paddle.js arrives late; the fake records what open() receives.
		browser.Eval[bool](t, tab, `window.paddleCalls = []; window.Paddle = {Checkout: {open: function (o) {
			paddleCalls.push(JSON.parse(JSON.stringify(o))) }}}; true`)
		browser.Click(t, tab, "#paddle-buy")
		calls := browser.Eval[[]map[string]any](t, tab, `paddleCalls`)
		if len(calls) != 1 {
			t.Fatalf("Paddle.Checkout.open called %d times, want 1", len(calls))
		}
		want := map[string]any{"plan": "pro", "referral": idA}
		if got := calls[0]["customData"]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("customData = %v, want %v", got, want)
		}
	})

	t.Run("paddle loaded before t.js, classic passthrough", func(t *testing.T) {
		tab := browser.NewTab(t, ctx)
		land(t, tab, e.shop+"/paddle?ref="+idA)
		calls := browser.Eval[[]map[string]any](t, tab, `
			Paddle.Checkout.open({items: [{priceId: 'pri_1'}]});
			Paddle.Checkout.open({items: [], customData: {referral: 'explicit'}});
			Paddle.Checkout.open({product: 12345});
			Paddle.Checkout.open({product: 12345, passthrough: '{"user":7}'});
			Paddle.Checkout.open({product: 12345, passthrough: 'user-7'});
			paddleCalls`)
		if len(calls) != 5 {
			t.Fatalf("%d calls recorded, want 5", len(calls))
		}
		check := func(i int, key string, want any) {
			t.Helper()
			got, _ := json.Marshal(calls[i][key])
			w, _ := json.Marshal(want)
			if string(got) != string(w) {
				t.Errorf("call %d: %s = %s, want %s", i, key, got, w)
			}
		}
		check(0, "customData", map[string]string{"referral": idA})
		check(1, "customData", map[string]string{"referral": "explicit"})
		check(2, "passthrough", `{"referral":"`+idA+`"}`)
		check(3, "passthrough", `{"user":7,"referral":"`+idA+`"}`)
		check(4, "passthrough", "user-7")
	})
}
