package payments

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Signature checks. Every verifier works on the raw request body, exactly
// as received: re-encoding JSON would change the bytes that were signed
// (Lemon Squeezy's PHP escapes "\/", for one).

// ErrSignature is returned (wrapped) when a delivery is not signed with a
// configured secret: the signature is missing, unreadable or wrong.
var ErrSignature = errors.New("payments: invalid signature")

// ErrStale is returned (wrapped) when the signature is valid but its
// timestamp is outside the tolerance: a replay, or a badly wrong clock.
var ErrStale = errors.New("payments: signature timestamp outside tolerance")

// Header names that carry the signatures, for the HTTP layer.
const (
	PaddleSignatureHeader       = "Paddle-Signature"
	StripeSignatureHeader       = "Stripe-Signature"
	LemonSqueezySignatureHeader = "X-Signature"
)

// Default timestamp tolerances, as the platforms' own SDKs use them.
const (
	PaddleTolerance = 5 * time.Second
	StripeTolerance = 5 * time.Minute
)

// timedScheme describes the timestamped HMAC-SHA256 headers of Paddle
// Billing ("ts=1;h1=hex;h1=hex") and Stripe ("t=1,v1=hex,v1=hex,v0=hex").
type timedScheme struct {
	platform string
	sep      string // between header parts
	tsKey    string
	sigKey   string
	join     string // between timestamp and body in the signed string
}

var (
	paddleScheme = timedScheme{platform: Paddle, sep: ";", tsKey: "ts", sigKey: "h1", join: ":"}
	stripeScheme = timedScheme{platform: Stripe, sep: ",", tsKey: "t", sigKey: "v1", join: "."}
)

// maxSignatures bounds the work one header can cause: rotation needs two
// or three, never more.
const maxSignatures = 8

// VerifyPaddle checks a Paddle Billing Paddle-Signature header against the
// raw body. Several secrets may be configured and the header may carry
// several h1 values while a secret is being rotated: any secret matching
// any h1 passes. After the signature, the timestamp must be within
// tolerance of now, in either direction; tolerance ≤ 0 skips that check.
func VerifyPaddle(body []byte, header string, secrets []string, now time.Time, tolerance time.Duration) error {
	return paddleScheme.verify(body, header, secrets, now, tolerance)
}

// VerifyStripe checks a Stripe-Signature header against the raw body with
// the endpoint secret (whsec_…, used as is, not decoded). Any of several
// v1 signatures may match (Stripe sends one per active secret while one
// is rolled); v0 and unknown schemes are ignored. The timestamp check is
// as for VerifyPaddle.
func VerifyStripe(body []byte, header string, secret string, now time.Time, tolerance time.Duration) error {
	return stripeScheme.verify(body, header, []string{secret}, now, tolerance)
}

func (s timedScheme) verify(body []byte, header string, secrets []string, now time.Time, tolerance time.Duration) error {
	if strings.TrimSpace(header) == "" {
		return fmt.Errorf("%w: %s: no signature header", ErrSignature, s.platform)
	}
	ts, sigs, err := s.parse(header)
	if err != nil {
		return err
	}
	matched, configured := false, false
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		configured = true
		want := s.mac(secret, ts, body)
		for _, sig := range sigs {
			// hmac.Equal is constant-time; sig and want both have 32 bytes.
			if hmac.Equal(want, sig) {
				matched = true
			}
		}
	}
	if !configured {
		return fmt.Errorf("%w: %s: no secret configured", ErrSignature, s.platform)
	}
	if !matched {
		return fmt.Errorf("%w: %s: no signature matches", ErrSignature, s.platform)
	}
	if tolerance > 0 {
		sec, _ := strconv.ParseInt(ts, 10, 64) // checked by parse
		d := now.Sub(time.Unix(sec, 0))
		if d > tolerance || d < -tolerance {
			return fmt.Errorf("%w: %s: signed at %d, %v from now", ErrStale, s.platform, sec, d.Round(time.Second))
		}
	}
	return nil
}

// parse splits a header into its timestamp (kept as sent: it is part of
// the signed string) and the decoded signatures of the current scheme.
func (s timedScheme) parse(header string) (string, [][]byte, error) {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, s.sep) {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, fmt.Errorf("%w: %s: header part %q is not key=value", ErrSignature, s.platform, clip(part))
		}
		switch k {
		case s.tsKey:
			if ts != "" {
				return "", nil, fmt.Errorf("%w: %s: two timestamps", ErrSignature, s.platform)
			}
			if _, ok := intDigits(v); !ok || len(v) > 12 || strings.HasPrefix(v, "-") {
				return "", nil, fmt.Errorf("%w: %s: timestamp %q is not unix seconds", ErrSignature, s.platform, clip(v))
			}
			ts = v
		case s.sigKey:
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				// One garbled value must not hide a good one next to it
				// during rotation; it simply cannot match.
				continue
			}
			if len(sigs) == maxSignatures {
				return "", nil, fmt.Errorf("%w: %s: more than %d signatures", ErrSignature, s.platform, maxSignatures)
			}
			sigs = append(sigs, b)
		}
	}
	if ts == "" {
		return "", nil, fmt.Errorf("%w: %s: no timestamp in header", ErrSignature, s.platform)
	}
	if len(sigs) == 0 {
		return "", nil, fmt.Errorf("%w: %s: no %s signature in header", ErrSignature, s.platform, s.sigKey)
	}
	return ts, sigs, nil
}

func (s timedScheme) mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte(s.join))
	m.Write(body)
	return m.Sum(nil)
}

// VerifyLemonSqueezy checks the X-Signature header: the hex HMAC-SHA256 of
// the raw body keyed with the webhook's signing secret. Lemon Squeezy signs
// no timestamp, so replays are stopped only by deduplication.
func VerifyLemonSqueezy(body []byte, signatureHex string, secret string) error {
	if secret == "" {
		return fmt.Errorf("%w: %s: no secret configured", ErrSignature, LemonSqueezy)
	}
	sig, err := hex.DecodeString(strings.TrimSpace(signatureHex))
	if err != nil || len(sig) != sha256.Size {
		return fmt.Errorf("%w: %s: signature is missing or not 64 hex digits", ErrSignature, LemonSqueezy)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), sig) {
		return fmt.Errorf("%w: %s: signature does not match", ErrSignature, LemonSqueezy)
	}
	return nil
}

// VerifyGumroadToken compares the secret token from the webhook URL with
// the configured one in constant time. Gumroad signs nothing; the token is
// the only proof. Hashing both sides first keeps the comparison from
// leaking the token's length.
func VerifyGumroadToken(got, want string) error {
	if want == "" {
		return fmt.Errorf("%w: %s: no token configured", ErrSignature, Gumroad)
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	if subtle.ConstantTimeCompare(g[:], w[:]) != 1 {
		return fmt.Errorf("%w: %s: token does not match", ErrSignature, Gumroad)
	}
	return nil
}
