package auth

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
)

// Limit allows at most Max hits per Window for one key.
type Limit struct {
	Max    int
	Window time.Duration
}

// LockedError says that a rate limit was reached and until when. It
// unwraps to an apperr.Error of kind KindTooMany, so every surface answers
// 429 and people are told when they may try again.
type LockedError struct {
	What  string    // what was limited, for people: "sign-in attempts"
	Until time.Time // when the window ends (UTC)
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("Too many %s. Try again after %s.", e.What, e.Until.UTC().Format("15:04 UTC on 2 Jan 2006"))
}

// Unwrap makes the error a 429 for httpx.Classify.
func (e *LockedError) Unwrap() error {
	return &apperr.Error{Kind: apperr.KindTooMany, Code: "rate_limited", Message: e.Error()}
}

// NetworkKey is the part of a client address that rate limits count by:
// the whole IPv4 address, but the /64 of an IPv6 one, since a single
// IPv6 client usually holds a whole /64 and could rotate through it.
func NetworkKey(ip string) string {
	addr, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// Limiter counts hits per key in fixed windows kept in the database, so a
// limit holds across replicas and restarts. A fixed window lets a client
// reach up to twice the limit around a window boundary; that is fine for
// the generous sign-in limits it enforces, and it costs one upsert a hit.
type Limiter struct {
	DB  *db.DB
	Now func() time.Time // time.Now when nil

	hits atomic.Uint32 // to sweep old windows now and then
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// sweepEvery is how many hits pass between deletions of old windows.
const sweepEvery = 256

// Hit counts one hit of key against lim and returns a *LockedError when
// the hit is over the limit. Hits over the limit still count, so hammering
// does not shorten a lockout; the lockout ends with the window. Call it
// outside any transaction: a hit must stay counted even when the work it
// guards fails.
func (l *Limiter) Hit(ctx context.Context, key string, lim Limit, what string) error {
	if lim.Max <= 0 || lim.Window <= 0 {
		return nil
	}
	now := l.now()
	start := db.Time(now.Truncate(lim.Window))
	var n int
	err := l.DB.Q(ctx).QueryRowContext(ctx, `/* auth.Limiter.Hit */
		insert into rate_limits (key, window_start, count) values ($1, $2, 1)
		on conflict (key, window_start) do update set count = rate_limits.count + 1
		returning count`, key, start).Scan(&n)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if l.hits.Add(1)%sweepEvery == 0 {
		// Windows are at most a day long; anything older is dead weight.
		_, _ = l.DB.Q(ctx).ExecContext(ctx, `/* auth.Limiter.Hit */ delete from rate_limits where window_start < $1`,
			db.Time(now.Add(-48*time.Hour)))
	}
	if n > lim.Max {
		return &LockedError{What: what, Until: start.Add(lim.Window)}
	}
	return nil
}
