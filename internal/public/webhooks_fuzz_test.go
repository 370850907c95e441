package public_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
)

// FuzzWebhookEndpoint throws arbitrary bodies and signature headers at
// every endpoint of a server configured in memory. With sign set, the
// body is correctly signed (a Paddle Classic body that is a form is
// re-signed), so arbitrary payloads reach the parsers and the ledger;
// otherwise the fuzzed header (for Gumroad, the path's token) is sent as
// the signature. Whatever comes in: never a 5xx, and nothing stored
// without a valid signature.
//
//	go test -run '^$' -fuzz FuzzWebhookEndpoint -fuzztime 1m ./internal/public/
func FuzzWebhookEndpoint(f *testing.F) {
	d := dbtest.SQLite(f)
	m := newInMemory(f, d, io.Discard)
	key := classicKey()
	s := paymentstest.Sale{OrderID: "fz1", Amount: 1999, Tax: 199, Fee: 50, Email: "f@example.com", Referral: "ann", Coupon: "C"}
	r := paymentstest.Refund{ID: "fzr", Amount: 500}
	for i, k := range kits() {
		w := uint8(i)
		for _, body := range [][]byte{k.sale(s), k.refund(s, r), k.ignored, k.malformed} {
			f.Add(w, body, "", true)
		}
		f.Add(w, k.sale(s), "ts=1;h1=00", false)
		f.Add(w, []byte("{}"), "t=99999999999,v1="+hexMAC(stripeSecret, "x"), false)
	}
	f.Add(uint8(0), []byte(`{"event_type":"transaction.completed","data":{"details":{"totals":{"grand_total":"99999999999999999999"}}}}`), "", true)
	f.Add(uint8(1), []byte("alert_name=payment_succeeded&sale_gross=1e400&p_signature=%zz"), "", true)
	f.Add(uint8(2), []byte(`{"meta":{"event_name":"order_refunded"},"data":{"type":"orders","id":1,"attributes":{"refunded_amount":-5}}}`), "", true)
	f.Add(uint8(3), []byte(`{"id":"evt_x","type":"charge.refunded","created":-1,"data":{"object":null}}`), "", true)
	f.Add(uint8(4), []byte("sale_id=%00&price=1&currency=xxx&sale_timestamp=0"), gumroadToken, false)

	f.Fuzz(func(t *testing.T, which uint8, body []byte, header string, sign bool) {
		platform := platforms[int(which)%len(platforms)]
		now := time.Now()
		if sign && platform == payments.PaddleClassic {
			if form, err := url.ParseQuery(string(body)); err == nil {
				body = []byte(payments.SignPaddleClassic(form, key).Encode())
			}
		}
		path, h := signed(platform, body, now)
		if !sign {
			switch platform {
			case payments.Paddle:
				h.Set(payments.PaddleSignatureHeader, header)
			case payments.LemonSqueezy:
				h.Set(payments.LemonSqueezySignatureHeader, header)
			case payments.Stripe:
				h.Set(payments.StripeSignatureHeader, header)
			case payments.Gumroad:
				path = "/webhooks/gumroad/" + url.PathEscape(header)
			}
		}
		valid := validSignature(platform, path, h, body, now)
		before := count(t, d, "webhook_events")
		code := m.post(path, h, body)
		stored := count(t, d, "webhook_events") - before
		if code >= 500 {
			t.Fatalf("%s: status %d for %q", platform, code, body)
		}
		if !valid {
			if stored != 0 {
				t.Fatalf("%s: stored %d deliveries without a valid signature: %q", platform, stored, body)
			}
			if code != http.StatusUnauthorized && code != http.StatusNotFound && code != http.StatusMovedPermanently {
				t.Fatalf("%s: status %d without a valid signature", platform, code)
			}
			return
		}
		if code != http.StatusOK && code != http.StatusBadRequest {
			t.Fatalf("%s: status %d for a correctly signed %q", platform, code, body)
		}
		if stored > 1 {
			t.Fatalf("%s: one delivery stored %d rows", platform, stored)
		}
	})
}

// validSignature reports whether a delivery is correctly signed, by the
// platforms' rules.
func validSignature(platform, path string, h http.Header, body []byte, now time.Time) bool {
	switch platform {
	case payments.Paddle:
		return payments.VerifyPaddle(body, h.Get(payments.PaddleSignatureHeader), []string{paddleSecret, paddleOld}, now, 5*time.Minute) == nil
	case payments.PaddleClassic:
		return payments.VerifyPaddleClassic(body, &classicKey().PublicKey) == nil
	case payments.LemonSqueezy:
		return payments.VerifyLemonSqueezy(body, h.Get(payments.LemonSqueezySignatureHeader), lemonSecret) == nil
	case payments.Stripe:
		return payments.VerifyStripe(body, h.Get(payments.StripeSignatureHeader), stripeSecret, now, 5*time.Minute) == nil
	case payments.Gumroad:
		return path == "/webhooks/gumroad/"+gumroadToken
	}
	return false
}
