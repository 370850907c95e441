package public_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/public"
	"affiliated/internal/server/servertest"
	"affiliated/internal/tracking"
)

// TestJournalFailureFallsBackToTheWriter: when the journal refuses an
// append (here: closed; in life, a full disk), each redirect commits its
// click through the database writer before answering, and the failure is
// logged once, not once per redirect.
func TestJournalFailureFallsBackToTheWriter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		a := newAffiliate(t, app, newProgram(t, app, "shop", nil).ID, "ann")

		broken, err := tracking.OpenClickJournal(context.Background(), app.Clicks, slog.New(slog.DiscardHandler),
			tracking.JournalConfig{Dir: t.TempDir()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := broken.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		var (
			mu   sync.Mutex
			logs bytes.Buffer
		)
		log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
		mux := http.NewServeMux()
		(&public.Tracker{Log: log, Resolver: app.Resolver, Writer: app.Clicks, Journal: broken,
			CookieName: "aff_ref", IPMode: "truncate"}).Routes(mux)

		const n = 40
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range n / 4 {
					req := httptest.NewRequest("GET", "/r/ann", nil)
					req.Header.Set("User-Agent", browserUA)
					rec := httptest.NewRecorder()
					mux.ServeHTTP(rec, req)
					if rec.Code != http.StatusFound {
						t.Errorf("status %d, want 302", rec.Code)
					}
				}
			})
		}
		wg.Wait()
		if cs := clicksOf(t, app, a.ID); len(cs) != n {
			t.Errorf("%d clicks stored after %d redirects whose journal failed, want every one", len(cs), n)
		}
		mu.Lock()
		defer mu.Unlock()
		if got := strings.Count(logs.String(), "click journal append failed"); got != 1 {
			t.Errorf("the failure was logged %d times, want once:\n%s", got, logs.String())
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
