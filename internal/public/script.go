package public

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/public/assets"
	"affiliated/internal/tracking"
)

// script serves t.js: immutable for the current versioned URL, an hour otherwise.
func (t *Tracker) script(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", assets.ContentType)
	h.Set("Cache-Control", assets.CacheControl(r.URL.Query().Get("v")))
	h.Set("ETag", `"`+assets.TrackerVersion()+`"`)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == `"`+assets.TrackerVersion()+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(assets.TrackerJS())
}

type clickIn struct {
	Code     string `json:"code"`
	Landing  string `json:"landing"`
	Referrer string `json:"referrer"`
	Referral string `json:"referral"`
}

type clickOut struct {
	Referral    string `json:"referral"`
	CookieDays  int    `json:"cookie_days"`
	Attribution string `json:"attribution"`
}

// click logs a click reported by t.js for a ?via=CODE landing and returns
// the referral id to store. The body is JSON sent as text/plain (a CORS
// simple request); credentials are never involved, so any origin may call.
func (t *Tracker) click(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ip := t.clientIP(r)
	if !t.limiter.allow(ip, time.Now()) {
		writeJSONError(w, http.StatusTooManyRequests, "rate_limited", "too many clicks from this address; try again in a minute")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "too_large", "body larger than 16 KiB")
		return
	}
	var in clickIn
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid", "body must be JSON: {\"code\":…,\"landing\":…}")
		return
	}
	code := strings.ToLower(strings.TrimSpace(in.Code))
	if !tracking.ValidCode(code) {
		writeJSONError(w, http.StatusNotFound, "not_found", "unknown referral code")
		return
	}
	target, err := t.Resolver.Resolve(r.Context(), code)
	if err != nil {
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable", "try again")
		return
	}
	if target == nil || !target.Active {
		writeJSONError(w, http.StatusNotFound, "not_found", "unknown referral code")
		return
	}
	refID, isNew := in.Referral, false
	if !tracking.ValidReferralID(refID) {
		refID, isNew = tracking.NewReferralID(), true
	}
	ua := r.UserAgent()
	device, isBot := tracking.Classify(ua)
	t.log(r.Context(), tracking.Click{
		ReferralID: refID, AffiliateID: target.AffiliateID, ProgramID: target.ProgramID, At: db.Now(),
		Referrer: truncate(in.Referrer, 1024), UserAgent: truncate(ua, 512), LandingURL: truncate(in.Landing, 2048),
		IP: tracking.AnonymizeIP(ip, t.IPMode, t.IPSalt), Device: string(device),
		IsBot: isBot, IsUnique: isNew,
	})
	attribution := "first"
	if target.LastTouch {
		attribution = "last"
	}
	h.Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(clickOut{Referral: refID, CookieDays: target.CookieDays, Attribution: attribution})
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":{"code":` + strconv.Quote(code) + `,"message":` + strconv.Quote(msg) + `}}` + "\n"))
}

// limiter is a fixed-window counter per key, for abuse control of a single
// process (limits that must hold across replicas live in the database).
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	start  time.Time
	counts map[string]int
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, counts: map[string]int{}}
}

func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window {
		l.start, l.counts = now, map[string]int{}
	}
	l.counts[key]++
	return l.counts[key] <= l.max
}
