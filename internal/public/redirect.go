package public

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/tracking"
)

// redirect answers a referral link with a 302 (never 301: browsers cache
// those and repeat clicks would go uncounted). For GET, it answers only
// after the click is durable (see log).
func (t *Tracker) redirect(w http.ResponseWriter, r *http.Request) {
	isHead := r.Method == http.MethodHead
	code := strings.ToLower(r.PathValue("code"))
	if !tracking.ValidCode(code) {
		t.fallback(w, r, "")
		return
	}
	target, err := t.Resolver.Resolve(r.Context(), code)
	if err != nil {
		t.lookupFailed.Log(r.Context(), t.Log, slog.LevelError, "referral code lookup failed", "code", code, "err", err)
		if t.FallbackURL != "" {
			t.fallback(w, r, "")
			return
		}
		http.Error(w, "The link service is briefly unavailable. Please try again.", http.StatusServiceUnavailable)
		return
	}
	if target == nil || !target.Active {
		fb := ""
		if target != nil {
			fb = target.FallbackURL
		}
		t.fallback(w, r, fb)
		return
	}

	// First touch keeps a valid referral id from the cookie; otherwise this
	// is a new visitor and gets a new one. Under last touch the id is kept
	// too, and attribution picks the visitor's latest click.
	refID, isNew := "", false
	if c, err := r.Cookie(t.CookieName); err == nil && tracking.ValidReferralID(c.Value) {
		refID = c.Value
	} else if !isHead {
		refID, isNew = tracking.NewReferralID(), true
	}

	loc, err := target.Location(refID, r.PathValue("path"), r.URL.Query())
	if err != nil {
		loc, err = target.Location(refID, "", nil)
	}
	if err != nil {
		t.destinationUnusable.Log(r.Context(), t.Log, slog.LevelError, "program destination unusable", "program_id", target.ProgramID, "err", err)
		t.fallback(w, r, target.FallbackURL)
		return
	}

	if !isHead {
		ua := r.UserAgent()
		device, isBot := tracking.Classify(ua)
		c := tracking.Click{
			ReferralID:  refID,
			AffiliateID: target.AffiliateID,
			ProgramID:   target.ProgramID,
			At:          db.Now(),
			Referrer:    truncate(r.Referer(), 1024),
			UserAgent:   truncate(ua, 512),
			LandingURL:  truncate(loc, 2048),
			IP:          tracking.AnonymizeIP(t.clientIP(r), t.IPMode, t.IPSalt),
			Device:      string(device),
			IsBot:       isBot,
			IsUnique:    isNew,
		}
		t.log(r.Context(), c)
		if isNew || target.LastTouch {
			http.SetCookie(w, &http.Cookie{
				Name: t.CookieName, Value: refID, Path: "/", Domain: t.CookieDomain,
				MaxAge: target.CookieDays * 86400, Secure: t.Secure, HttpOnly: false, SameSite: http.SameSiteLaxMode,
			})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, loc, http.StatusFound)
}

// log appends c to the click journal, or when there is none or it fails,
// hands c to the writer and waits for its commit, at most WaitTimeout.
func (t *Tracker) log(ctx context.Context, c tracking.Click) {
	if t.Journal != nil {
		err := t.Journal.Append(c)
		if err == nil {
			return
		}
		t.journalFailed.Log(ctx, t.Log, slog.LevelError, "click journal append failed; committing the click to the database instead",
			"affiliate_id", c.AffiliateID, "err", err)
	}
	wait := t.WaitTimeout
	if wait <= 0 {
		wait = time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	done, err := t.Writer.Add(wctx, c)
	if err != nil {
		return // counted and logged by the writer
	}
	select {
	case <-done:
	case <-wctx.Done():
		if ctx.Err() == nil {
			t.commitSlow.Log(ctx, t.Log, slog.LevelWarn, "click commit slow; answered before commit (click stays queued)", "affiliate_id", c.AffiliateID)
		}
	}
}

// fallback sends unknown or inactive codes to the program's fallback URL,
// then the server's, else a plain 404 page.
func (t *Tracker) fallback(w http.ResponseWriter, r *http.Request, programURL string) {
	w.Header().Set("Cache-Control", "no-store")
	for _, u := range []string{programURL, t.FallbackURL} {
		if u != "" {
			http.Redirect(w, r, u, http.StatusFound)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(notFoundPage))
	}
}

const notFoundPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Link not found</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>Link not found</h1><p>This referral link does not exist or is no longer active.</p></body></html>
`
