// Package ratelog keeps a log line that could repeat for every request (a
// click the journal refused, a full queue: one per redirect while the cause
// lasts) to one line per interval. Each line carries how many were left out
// since the one before it; the metrics next to such a line count every
// occurrence.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultEvery is the interval of a Limiter whose Every is zero.
const DefaultEvery = 10 * time.Second

// Limiter logs the first call, then at most one call per Every; the zero
// value is ready to use. One Limiter per kind of line.
type Limiter struct {
	Every time.Duration
	Now   func() time.Time // the clock, for tests; time.Now when nil

	mu         sync.Mutex
	last       time.Time
	suppressed int64
}

// Log logs msg with args at level unless a line went out less than Every
// ago, in which case it only counts the call. A line that goes out after
// left-out calls gets the attribute "suppressed" with their number.
func (l *Limiter) Log(ctx context.Context, log *slog.Logger, level slog.Level, msg string, args ...any) {
	if !log.Enabled(ctx, level) {
		return
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	every := l.Every
	if every <= 0 {
		every = DefaultEvery
	}
	t := now()
	l.mu.Lock()
	if !l.last.IsZero() && t.Sub(l.last) < every {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = t, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	log.Log(ctx, level, msg, args...)
}
