// Package public is the machine-facing surface that needs no sign-in: the
// referral redirect (/r/{code}, /ref/{code}), the tracking script (/t.js)
// and its click endpoint (/t/click), and the payment webhooks.
package public

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"affiliated/internal/ratelog"
	"affiliated/internal/tracking"
)

// Tracker serves referral links and the tracking script.
type Tracker struct {
	Log      *slog.Logger
	Resolver *tracking.Resolver
	Writer   *tracking.Writer
	Journal  *tracking.ClickJournal // when set, clicks go here first (Writer if it fails)

	CookieName   string
	CookieDomain string
	Secure       bool   // set the Secure attribute (base URL is https)
	IPMode       string // truncate, hash, none, full
	IPSalt       []byte
	TrustProxy   bool   // take the client IP from X-Forwarded-For
	FallbackURL  string // the server's fallback for unknown codes
	WaitTimeout  time.Duration

	limiter *limiter
	// One line per 10 s while a cause lasts (the database down, a full
	// disk, a broken destination), not one per redirect; the metrics count
	// each request and click.
	lookupFailed, destinationUnusable, journalFailed, commitSlow ratelog.Limiter
}

// Routes registers the tracking routes on mux.
func (t *Tracker) Routes(mux *http.ServeMux) {
	t.limiter = newLimiter(20, time.Minute) // /t/click: 20 clicks a minute per IP
	mux.HandleFunc("GET /r/{code}", t.redirect)
	mux.HandleFunc("GET /ref/{code}", t.redirect)
	mux.HandleFunc("GET /r/{code}/{path...}", t.redirect)
	mux.HandleFunc("GET /ref/{code}/{path...}", t.redirect)
	mux.HandleFunc("GET /t.js", t.script)
	mux.HandleFunc("POST /t/click", t.click)
	mux.HandleFunc("OPTIONS /t/click", t.click)
}

// clientIP returns the visitor's address. Behind a trusted proxy it is the
// last X-Forwarded-For entry: the one that proxy appended. Earlier entries
// come from the client and can be anything, so trusting the first would let
// anyone dodge the /t/click rate limit and choose the IP stored.
func (t *Tracker) clientIP(r *http.Request) string {
	if t.TrustProxy {
		xff := r.Header.Values("X-Forwarded-For")
		if n := len(xff); n > 0 {
			last := xff[n-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if last = strings.TrimSpace(last); last != "" {
				return last
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// truncate caps what a visitor can make us store.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
