package payments

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strconv"
	"time"
)

// Signers produce what the platforms would send, so that tests of other
// packages and the owner's own tooling (replaying an event, trying a
// webhook endpoint) can make correctly signed deliveries.

// SignPaddle returns a Paddle-Signature header value for body signed with
// secret at t: "ts=<unix>;h1=<hex>".
func SignPaddle(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "ts=" + ts + ";h1=" + hex.EncodeToString(paddleScheme.mac(secret, ts, body))
}

// SignStripe returns a Stripe-Signature header value for body signed with
// secret at t: "t=<unix>,v1=<hex>".
func SignStripe(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(stripeScheme.mac(secret, ts, body))
}

// SignLemonSqueezy returns the X-Signature header value for body.
func SignLemonSqueezy(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// SignPaddleClassic returns a copy of form with p_signature set, signed
// with key as Paddle signs alerts; send it as form.Encode(). Any
// p_signature already in form is replaced. It panics if key cannot sign
// (Go refuses RSA keys under 1024 bits), which only a broken test key
// does.
func SignPaddleClassic(form url.Values, key *rsa.PrivateKey) url.Values {
	out := make(url.Values, len(form)+1)
	for k, vs := range form {
		if k != "p_signature" && len(vs) > 0 {
			out[k] = []string{vs[0]}
		}
	}
	h := sha1.Sum(phpSerialize(out))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, h[:])
	if err != nil {
		panic("payments: signing Paddle Classic form: " + err.Error())
	}
	out.Set("p_signature", base64.StdEncoding.EncodeToString(sig))
	return out
}
