package tracking

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/program"
)

// Target is what a referral code resolves to.
type Target struct {
	AffiliateID int64
	ProgramID   int64
	Active      bool // the affiliate is active; otherwise the link leads to the fallback
	Link        Link
	CookieDays  int
	LastTouch   bool
	FallbackURL string // the program's; empty for the server's own

	// template is Location(Link, refPlaceholder, "", nil), made once when
	// the target is resolved, or "" (see Target.Location).
	template string
}

// refPlaceholder stands for the referral id in a target's template: letters
// only, so query escaping leaves it as it is.
const refPlaceholder = "AFFILIATEDREFERRALIDPLACEHOLDER"

// Location returns where a redirect to t sends the visitor: the function
// Location of t's link. The common redirect — a referral id, no deep path,
// no query of its own — is the template with the id put in, instead of
// parsing and checking the destination again for every click.
func (t *Target) Location(refID, deepPath string, extra url.Values) (string, error) {
	if t.template != "" && deepPath == "" && len(extra) == 0 && ValidReferralID(refID) {
		i := strings.Index(t.template, refPlaceholder)
		return t.template[:i] + refID + t.template[i+len(refPlaceholder):], nil
	}
	return Location(t.Link, refID, deepPath, extra)
}

// withTemplate sets t's template and returns t. A destination whose own
// text holds the placeholder gets none.
func (t *Target) withTemplate() *Target {
	loc, err := Location(t.Link, refPlaceholder, "", nil)
	if err == nil && strings.Count(loc, refPlaceholder) == 1 && strings.Contains(loc, "ref="+refPlaceholder) {
		t.template = loc
	}
	return t
}

type cached struct {
	t       *Target // nil: no such code
	expires time.Time
}

// Resolver maps referral codes to targets through an in-memory cache, so a
// live link keeps working while the database is slow or down: a stale entry
// is served when a refresh fails. Entries expire after TTL so replicas
// converge on changes made elsewhere; changes made here call Invalidate.
type Resolver struct {
	Programs *program.Store
	TTL      time.Duration
	Timeout  time.Duration // longest a lookup waits for the database

	mu    sync.RWMutex
	gen   uint64
	cache map[string]cached
}

// Invalidate forgets everything cached.
func (r *Resolver) Invalidate() {
	r.mu.Lock()
	r.cache = nil
	r.gen++
	r.mu.Unlock()
}

// Resolve returns the target of code (lower-case), or nil when the code is unknown.
func (r *Resolver) Resolve(ctx context.Context, code string) (*Target, error) {
	now := time.Now()
	r.mu.RLock()
	c, ok := r.cache[code]
	gen := r.gen
	r.mu.RUnlock()
	if ok && now.Before(c.expires) {
		return c.t, nil
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t, err := r.lookup(lctx, code)
	if err != nil {
		if ok {
			return c.t, nil // stale beats nothing while the database is unwell
		}
		return nil, err
	}
	ttl := r.TTL
	if t == nil {
		ttl = min(ttl, 5*time.Second) // an unknown code may be created soon
	}
	r.mu.Lock()
	if r.gen == gen { // not invalidated meanwhile
		if r.cache == nil || len(r.cache) > 100000 {
			r.cache = map[string]cached{}
		}
		r.cache[code] = cached{t: t, expires: now.Add(ttl)}
	}
	r.mu.Unlock()
	return t, nil
}

func (r *Resolver) lookup(ctx context.Context, code string) (*Target, error) {
	a, err := r.Programs.AffiliateByCode(ctx, code)
	if apperr.Is(err, apperr.KindNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := r.Programs.Program(ctx, a.ProgramID)
	if err != nil {
		return nil, err
	}
	return (&Target{
		AffiliateID: a.ID,
		ProgramID:   p.ID,
		Active:      a.Status == program.StatusActive,
		Link: Link{
			Destination: p.DestinationURL, AllowedHosts: p.AllowedHosts,
			UTMSource: p.UTM.Source, UTMMedium: p.UTM.Medium, UTMCampaign: p.UTM.Campaign,
			Program: p.Slug, Code: a.Code,
		},
		CookieDays:  p.CookieDays,
		LastTouch:   p.Attribution == "last",
		FallbackURL: p.FallbackURL,
	}).withTemplate(), nil
}
