package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SignatureHeader is the header that carries a delivery's signature.
const SignatureHeader = "Affiliated-Signature"

// Sign returns the Affiliated-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>",
// the scheme Stripe uses, so the same few lines verify both.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrSignatureFormat = errors.New("signature header is malformed")
	ErrSignatureTime   = errors.New("signature timestamp is outside the tolerance")
	ErrSignature       = errors.New("signature does not match")
)

// Verify checks an Affiliated-Signature header against body, as a receiver
// does: any v1 in the header may match (several appear while a secret is
// rotated), and t must be within tolerance of now (0 skips that check).
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureFormat
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return ErrSignatureFormat
			}
			sigs = append(sigs, b)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureFormat
	}
	if tolerance > 0 {
		d := now.Sub(time.Unix(sec, 0))
		if d > tolerance || d < -tolerance {
			return ErrSignatureTime
		}
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignature
}

// Event is the body of an outgoing webhook.
type Event struct {
	ID      string          `json:"id"`      // the same for every delivery of one event: receivers deduplicate by it
	Type    string          `json:"type"`    // sale.created, refund.created, …
	Created int64           `json:"created"` // Unix seconds
	Data    json.RawMessage `json:"data"`
}

// newWebhookClient makes the client of every delivery: no proxy (it would
// connect in our place, past the address check), no redirects (a redirect
// could point anywhere), a bound on the whole exchange, and, unless
// allowPrivate, a refusal to connect to private addresses.
func newWebhookClient(allowPrivate bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error { return dialControl(network, address) }
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// deliver POSTs a webhook row to its endpoint, signed now with the
// endpoint's secret. Any 2xx is success; anything else is retried.
func (s *Service) deliver(ctx context.Context, r claimed) error {
	var p webhookPayload
	if err := json.Unmarshal(r.payload, &p); err != nil {
		return permanent("unreadable webhook payload: %v", err)
	}
	u, secret, err := s.lookupEndpoint(ctx, r.endpointID)
	if err != nil {
		return err
	}
	body := []byte(p.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return permanent("endpoint URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "affiliated-webhooks/1")
	req.Header.Set("Affiliated-Event", r.topic)
	req.Header.Set("Affiliated-Delivery", strconv.FormatInt(r.id, 10))
	req.Header.Set(SignatureHeader, Sign(secret, s.cfg.Now(), body))
	res, err := s.client.Do(req)
	if err != nil {
		var refused *refusedAddrError
		if errors.As(err, &refused) {
			return permanentError{err}
		}
		return fmt.Errorf("POST %s: %w", u, err)
	}
	defer res.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, 300))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("POST %s: HTTP %d: %s", u, res.StatusCode, oneLine(string(snippet), 200))
	}
	return nil
}
