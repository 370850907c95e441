package public_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/server/servertest"
)

// attack is a delivery that must be refused.
type attack struct {
	name     string
	platform string
	path     string
	h        http.Header
	body     []byte
	status   int
	reason   string // the rejection metric's reason label; "" when no metric is counted
}

// hexMAC is an HMAC-SHA256 in hex, for hand-made signature headers.
func hexMAC(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// flip returns body with one bit of its middle byte flipped.
func flip(body []byte) []byte {
	b := append([]byte(nil), body...)
	b[len(b)/2] ^= 0x01
	return b
}

func attacks(t *testing.T) []attack {
	t.Helper()
	now := time.Now()
	var out []attack
	add := func(name, platform string, body []byte, edit func(h http.Header), status int, reason string) {
		path, h := signed(platform, body, now)
		if edit != nil {
			edit(h)
		}
		out = append(out, attack{name, platform, path, h, body, status, reason})
	}
	sale := func(p string) []byte {
		return kitFor(p).sale(paymentstest.Sale{OrderID: "att1", Amount: 5000, Email: "victim@example.com", Referral: "ann"})
	}

	pb := sale(payments.Paddle)
	ts := strconv.FormatInt(now.Unix(), 10)
	setPaddle := func(v string) func(http.Header) {
		return func(h http.Header) { h.Set(payments.PaddleSignatureHeader, v) }
	}
	add("forged", payments.Paddle, pb, setPaddle(payments.SignPaddle(pb, "pdl_ntfset_attacker", now)), 401, "signature")
	add("missing header", payments.Paddle, pb, func(h http.Header) { h.Del(payments.PaddleSignatureHeader) }, 401, "signature")
	add("stale", payments.Paddle, pb, setPaddle(payments.SignPaddle(pb, paddleSecret, now.Add(-10*time.Minute))), 401, "stale")
	add("from the future", payments.Paddle, pb, setPaddle(payments.SignPaddle(pb, paddleSecret, now.Add(10*time.Minute))), 401, "stale")
	add("flipped byte", payments.Paddle, flip(pb), setPaddle(payments.SignPaddle(pb, paddleSecret, now)), 401, "signature")
	add("garbage header", payments.Paddle, pb, setPaddle("ts=abc;h1=zz"), 401, "signature")
	add("two h1, neither valid", payments.Paddle, pb,
		setPaddle("ts="+ts+";h1="+hexMAC("wrong-1", ts+":"+string(pb))+";h1="+hexMAC("wrong-2", ts+":"+string(pb))), 401, "signature")
	add("signature of another timestamp", payments.Paddle, pb,
		setPaddle("ts="+strconv.FormatInt(now.Unix()-1, 10)+";h1="+hexMAC(paddleSecret, ts+":"+string(pb))), 401, "signature")

	cb := sale(payments.PaddleClassic)
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(string(cb))
	if err != nil {
		t.Fatal(err)
	}
	add("forged", payments.PaddleClassic, []byte(payments.SignPaddleClassic(form, other).Encode()), nil, 401, "signature")
	unsigned := url.Values{}
	for k, v := range form {
		if k != "p_signature" {
			unsigned[k] = v
		}
	}
	add("missing p_signature", payments.PaddleClassic, []byte(unsigned.Encode()), nil, 401, "signature")
	tampered := url.Values{}
	for k, v := range form {
		tampered[k] = v
	}
	tampered.Set("sale_gross", "99999.00")
	add("changed amount", payments.PaddleClassic, []byte(tampered.Encode()), nil, 401, "signature")
	add("flipped byte", payments.PaddleClassic, flip(cb), nil, 401, "signature")
	add("field sent twice", payments.PaddleClassic, append(append([]byte(nil), cb...), "&email=attacker%40example.com"...), nil, 401, "signature")

	lb := sale(payments.LemonSqueezy)
	setLemon := func(v string) func(http.Header) {
		return func(h http.Header) { h.Set(payments.LemonSqueezySignatureHeader, v) }
	}
	add("forged", payments.LemonSqueezy, lb, setLemon(payments.SignLemonSqueezy(lb, "attacker-secret")), 401, "signature")
	add("missing header", payments.LemonSqueezy, lb, func(h http.Header) { h.Del(payments.LemonSqueezySignatureHeader) }, 401, "signature")
	add("flipped byte", payments.LemonSqueezy, flip(lb), setLemon(payments.SignLemonSqueezy(lb, lemonSecret)), 401, "signature")
	add("not hex", payments.LemonSqueezy, lb, setLemon(strings.Repeat("z", 64)), 401, "signature")

	sb := sale(payments.Stripe)
	setStripe := func(v string) func(http.Header) {
		return func(h http.Header) { h.Set(payments.StripeSignatureHeader, v) }
	}
	add("forged", payments.Stripe, sb, setStripe(payments.SignStripe(sb, "whsec_attacker", now)), 401, "signature")
	add("missing header", payments.Stripe, sb, func(h http.Header) { h.Del(payments.StripeSignatureHeader) }, 401, "signature")
	add("stale", payments.Stripe, sb, setStripe(payments.SignStripe(sb, stripeSecret, now.Add(-6*time.Minute))), 401, "stale")
	add("from the future", payments.Stripe, sb, setStripe(payments.SignStripe(sb, stripeSecret, now.Add(6*time.Minute))), 401, "stale")
	add("flipped byte", payments.Stripe, flip(sb), setStripe(payments.SignStripe(sb, stripeSecret, now)), 401, "signature")
	add("v0 only", payments.Stripe, sb, setStripe("t="+ts+",v0="+hexMAC(stripeSecret, ts+"."+string(sb))), 401, "signature")

	gb := sale(payments.Gumroad)
	out = append(out,
		attack{"wrong token", payments.Gumroad, "/webhooks/gumroad/" + gumroadToken[:len(gumroadToken)-1] + "X", http.Header{}, gb, 401, "signature"},
		attack{"token with a suffix", payments.Gumroad, "/webhooks/gumroad/" + gumroadToken + "0", http.Header{}, gb, 401, "signature"},
		// No route matches an empty token: nothing is read, nothing counted.
		attack{"no token", payments.Gumroad, "/webhooks/gumroad/", http.Header{}, gb, 404, ""},
	)
	return out
}

// TestWebhookRejected: a forged, missing, stale or tampered signature is
// 401, stores nothing, and is counted by platform and reason.
func TestWebhookRejected(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, hookFlags()...)
		want := map[string]int{}
		for _, a := range attacks(t) {
			res := app.DoWith("POST", a.path, a.body, a.h)
			if res.Status != a.status {
				t.Errorf("%s %s: status %d, want %d: %s", a.platform, a.name, res.Status, a.status, res.Body)
				continue
			}
			if a.status == http.StatusUnauthorized {
				if code, _ := res.Error(t); code != "bad_signature" {
					t.Errorf("%s %s: error code %q, want bad_signature", a.platform, a.name, code)
				}
				if bytes.Contains(res.Body, []byte("victim@example.com")) {
					t.Errorf("%s %s: the answer echoes the body: %s", a.platform, a.name, res.Body)
				}
			}
			if a.reason != "" {
				want[fmt.Sprintf(`affiliated_webhooks_rejected_total{platform=%q,reason=%q}`, a.platform, a.reason)]++
			}
		}
		for _, table := range []string{"webhook_events", "orders", "refunds", "commissions"} {
			if n := count(t, d, table); n != 0 {
				t.Errorf("refused deliveries left %d rows in %s", n, table)
			}
		}
		got := metrics(t, app)
		for series, n := range want {
			if got[series] != n {
				t.Errorf("%s = %d, want %d", series, got[series], n)
			}
		}
	})
}

// metrics reads the server's Prometheus counters by series.
func metrics(t *testing.T, app *servertest.App) map[string]int {
	t.Helper()
	res := app.DoWith("GET", "/metrics", nil, http.Header{})
	if res.Status != http.StatusOK {
		t.Fatalf("/metrics: %d", res.Status)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(res.Body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if f, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = int(f)
		}
	}
	return out
}

// TestWebhookRotation: while a secret is rotated, deliveries signed with
// either configured Paddle secret pass, and a header carrying several
// signatures passes when any one of them is good.
func TestWebhookRotation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, hookFlags()...)
		now := time.Now()
		ts := strconv.FormatInt(now.Unix(), 10)
		body := func(p, order string) []byte {
			return kitFor(p).sale(paymentstest.Sale{OrderID: order, Amount: 5000, Email: "b@example.com"})
		}
		cases := []struct {
			name, platform string
			body           []byte
			header         func(b []byte) string
		}{
			{"previous Paddle secret", payments.Paddle, body(payments.Paddle, "txn_rot1"),
				func(b []byte) string { return payments.SignPaddle(b, paddleOld, now) }},
			{"two h1, the second good", payments.Paddle, body(payments.Paddle, "txn_rot2"), func(b []byte) string {
				return "ts=" + ts + ";h1=" + hexMAC("pdl_ntfset_unknown", ts+":"+string(b)) + ";h1=" + hexMAC(paddleSecret, ts+":"+string(b))
			}},
			{"two h1, the first good, then garbage", payments.Paddle, body(payments.Paddle, "txn_rot3"), func(b []byte) string {
				return "ts=" + ts + ";h1=" + hexMAC(paddleOld, ts+":"+string(b)) + ";h1=not-hex"
			}},
			{"two v1 and a v0", payments.Stripe, body(payments.Stripe, "pi_rot1"), func(b []byte) string {
				return "t=" + ts + ",v1=" + hexMAC("whsec_rolled_away", ts+"."+string(b)) + ",v1=" + hexMAC(stripeSecret, ts+"."+string(b)) + ",v0=00"
			}},
		}
		for _, c := range cases {
			path, h := signed(c.platform, c.body, now)
			name := payments.PaddleSignatureHeader
			if c.platform == payments.Stripe {
				name = payments.StripeSignatureHeader
			}
			h.Set(name, c.header(c.body))
			res := app.DoWith("POST", path, c.body, h)
			if res.Status != http.StatusOK {
				t.Errorf("%s: %d %s, want 200", c.name, res.Status, res.Body)
			}
		}
		if n := count(t, d, "orders"); n != len(cases) {
			t.Errorf("%d orders, want %d", n, len(cases))
		}
	})
}

// TestWebhookRejectionLogged: a refused delivery leaves one warning with
// the platform and the reason, and never the unauthenticated body.
func TestWebhookRejectionLogged(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	d := dbtest.SQLite(t)
	m := newInMemory(t, d, &log)
	const marker = "body-marker-must-not-be-logged"
	for _, a := range attacks(t) {
		if a.reason == "" {
			continue
		}
		log.Reset()
		body := bytes.ReplaceAll(a.body, []byte("victim"), []byte(marker))
		if got := m.post(a.path, a.h, body); got != a.status {
			t.Errorf("%s %s: status %d, want %d", a.platform, a.name, got, a.status)
		}
		line := log.String()
		if strings.Count(line, "\n") != 1 || !strings.Contains(line, `msg="webhook rejected"`) ||
			!strings.Contains(line, "platform="+a.platform) || !strings.Contains(line, "reason=") {
			t.Errorf("%s %s: log %q, want one \"webhook rejected\" line with platform and reason", a.platform, a.name, line)
		}
		if strings.Contains(line, marker) || strings.Contains(line, "att1") {
			t.Errorf("%s %s: the log holds the body: %s", a.platform, a.name, line)
		}
	}
	if n := count(t, d, "webhook_events"); n != 0 {
		t.Errorf("%d deliveries stored", n)
	}
}
