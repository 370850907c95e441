package ratelog_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/ratelog"
)

func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	clock := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	l := ratelog.Limiter{Every: time.Second, Now: func() time.Time { return clock }}
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 125 {
				l.Log(ctx, log, slog.LevelError, "append failed", "err", "disk full")
			}
		})
	}
	wg.Wait()
	clock = clock.Add(999 * time.Millisecond)
	l.Log(ctx, log, slog.LevelError, "append failed", "err", "disk full")
	clock = clock.Add(time.Millisecond)
	l.Log(ctx, log, slog.LevelError, "append failed", "err", "disk full")
	clock = clock.Add(5 * time.Second)
	l.Log(ctx, log, slog.LevelError, "append failed", "err", "disk full")

	want := `level=ERROR msg="append failed" err="disk full"
level=ERROR msg="append failed" err="disk full" suppressed=1000
level=ERROR msg="append failed" err="disk full"
`
	if got := buf.String(); got != want {
		t.Errorf("logged:\n%s\nwant:\n%s", got, want)
	}
}

func TestLimiterDisabledLevelCountsNothing(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))
	var l ratelog.Limiter
	for range 3 {
		l.Log(context.Background(), log, slog.LevelWarn, "slow")
	}
	l.Log(context.Background(), log, slog.LevelError, "failed")
	if got := buf.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, `msg=failed`) || strings.Contains(got, "suppressed") {
		t.Errorf("logged %q, want one line for the error and nothing about the warnings", got)
	}
}
