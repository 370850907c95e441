package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"affiliated/internal/db/dbtest"
)

const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// Load shape: 8 visitors clicking as fast as the server answers, stopped
// by the signal once killAfter redirects have been received, and in any
// case after maxClicks or maxLoad.
const (
	visitors  = 8
	killAfter = 1500
	maxClicks = 200000
	maxLoad   = 60 * time.Second
)

// load drives /r/{code} from several goroutines until the server stops
// answering (or a bound is reached) and returns the referral ids of every
// 302 received.
type load struct {
	mu   sync.Mutex
	refs []string
	n    atomic.Int64
	wg   sync.WaitGroup
	errs atomic.Int64 // responses other than a 302 while the server was up
}

func drive(t *testing.T, base, code string) *load {
	t.Helper()
	l := &load{}
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: visitors},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       2 * time.Minute,
	}
	deadline := time.Now().Add(maxLoad)
	for range visitors {
		l.wg.Go(func() {
			for l.n.Load() < maxClicks && time.Now().Before(deadline) {
				req, _ := http.NewRequestWithContext(context.Background(), "GET", base+"/r/"+code, nil)
				req.Header.Set("User-Agent", browserUA)
				res, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				res.Body.Close()
				if res.StatusCode != http.StatusFound {
					l.errs.Add(1)
					continue
				}
				loc, err := url.Parse(res.Header.Get("Location"))
				if err != nil {
					l.errs.Add(1)
					continue
				}
				l.mu.Lock()
				l.refs = append(l.refs, loc.Query().Get("ref"))
				l.mu.Unlock()
				l.n.Add(1)
			}
		})
	}
	return l
}

// waitFor waits until at least n redirects were received, bounded by maxLoad.
func (l *load) waitFor(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(maxLoad)
	for l.n.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d redirects in %v", l.n.Load(), maxLoad)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type click struct {
	ReferralID  string `json:"referral_id"`
	AffiliateID int64  `json:"affiliate_id"`
	IsBot       bool   `json:"is_bot"`
	IsUnique    bool   `json:"is_unique"`
}

// storedRefs reads every click of the affiliate through the API and
// counts them by referral id.
func storedRefs(s *server, affiliateID int64) map[string]int {
	s.t.Helper()
	out := map[string]int{}
	cursor := ""
	for {
		var page struct {
			Data       []click `json:"data"`
			NextCursor string  `json:"next_cursor"`
		}
		q := url.Values{"affiliate_id": {strconv.FormatInt(affiliateID, 10)}, "limit": {"1000"}, "cursor": {cursor}}
		s.api(http.StatusOK, "GET", "/api/v1/clicks?"+q.Encode(), nil, &page)
		for _, c := range page.Data {
			if c.IsBot || !c.IsUnique {
				s.t.Errorf("click %+v: want a human's first click", c)
			}
			out[c.ReferralID]++
		}
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
}

type affiliate struct {
	ID     int64 `json:"id"`
	Clicks int64 `json:"clicks"`
}

// setup creates a program and an affiliate with code "crash" through the API.
func setup(s *server) affiliate {
	var p struct{ ID int64 }
	s.api(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{
		"name": "Shop", "slug": "shop", "destination_url": "https://shop.example.com/",
	}, &p)
	var a affiliate
	s.api(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{
		"email": "crash@example.com", "code": "crash", "program_id": p.ID,
	}, &a)
	return a
}

// check restarts nothing: it verifies on a running server that every
// received redirect's click is stored, once, and that nothing else is,
// beyond the at most one request per visitor in flight at the stop.
func check(t *testing.T, s *server, a affiliate, l *load) {
	t.Helper()
	stored := storedRefs(s, a.ID)
	missing := 0
	for _, ref := range l.refs {
		if stored[ref] != 1 {
			missing++
			if missing <= 5 {
				t.Errorf("referral %s: its 302 was received, %d clicks stored", ref, stored[ref])
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged clicks are not stored exactly once", missing, len(l.refs))
	}
	if extra := len(stored) - len(l.refs); extra < 0 || extra > visitors {
		t.Errorf("%d clicks stored for %d redirects received: at most %d can have been in flight", len(stored), len(l.refs), visitors)
	}
	var got affiliate
	s.api(http.StatusOK, "GET", "/api/v1/affiliates/"+strconv.FormatInt(a.ID, 10), nil, &got)
	if got.Clicks != int64(len(stored)) {
		t.Errorf("rollup count %d, clicks stored %d: they commit together", got.Clicks, len(stored))
	}
	if n := l.errs.Load(); n > 0 {
		t.Errorf("%d answers other than 302 under load", n)
	}
	t.Logf("%d redirects received, %d clicks stored", len(l.refs), len(stored))
}

// TestCrash kills the server with SIGKILL under load, restarts it on the
// same database, and checks that every click whose 302 was received is
// there. The wait timeout is raised so that, on a slow machine, no 302 is
// ever sent before its commit: that is the promise under test (with the
// default 1s a redirect is answered anyway and its click stays queued).
func TestCrash(t *testing.T) {
	eachMode(t, func(t *testing.T, dsn string, journal []string) {
		token := createToken(t, dsn)
		first := append([]string{"--click-wait-timeout=5m"}, journal...)
		if journal[0] != "--click-journal=off" {
			// The loader never runs before the kill: every click is in the
			// journal only, and the restart must load them all.
			first = append(first, "--click-load-wait=1h", "--click-batch-size=100000")
		}
		s := start(t, dsn, token, first...)
		a := setup(s)
		l := drive(t, s.URL, "crash")
		l.waitFor(t, killAfter)
		_ = s.stop(syscall.SIGKILL)
		l.wg.Wait()

		again := start(t, dsn, token, journal...)
		check(t, again, a, l)
		if journal[0] != "--click-journal=off" && !strings.Contains(again.logText(), "loading clicks left by the last run") {
			t.Errorf("the restart did not load the journal:\n%s", again.logText())
		}
		// The restarted server serves and logs as before.
		var before affiliate
		again.api(http.StatusOK, "GET", "/api/v1/affiliates/"+strconv.FormatInt(a.ID, 10), nil, &before)
		l2 := drive(t, again.URL, "crash")
		l2.waitFor(t, 10)
		if err := again.stop(syscall.SIGTERM); err != nil {
			t.Errorf("graceful stop: %v\n%s", err, again.logText())
		}
		l2.wg.Wait()
		if len(l2.refs) == 0 {
			t.Fatal("no redirect after the restart")
		}
	})
}

// eachMode runs fn on every engine, with the click journal (in a directory
// that outlives the server, as a disk would) and without it (redirects
// wait for the database's commit).
func eachMode(t *testing.T, fn func(t *testing.T, dsn string, journal []string)) {
	for _, mode := range []string{"journal", "direct"} {
		t.Run(mode, func(t *testing.T) {
			for engine, dsn := range dbtest.DSNs(t) {
				t.Run(engine, func(t *testing.T) {
					flag := "--click-journal=off"
					dir := t.TempDir()
					if mode == "journal" {
						flag = "--click-journal=" + dir
					}
					fn(t, dsn, []string{flag})
					if _, err := os.Stat(filepath.Join(dir, "ID")); (err == nil) != (mode == "journal") {
						t.Errorf("%s: journal directory used: %v", flag, err == nil)
					}
				})
			}
		})
	}
}

// TestGracefulShutdown stops the server with SIGTERM under load: requests
// in flight finish, the queue is flushed, the process exits 0, and every
// 302 received is stored.
func TestGracefulShutdown(t *testing.T) {
	eachMode(t, func(t *testing.T, dsn string, journal []string) {
		token := createToken(t, dsn)
		s := start(t, dsn, token, append([]string{"--click-wait-timeout=5m"}, journal...)...)
		a := setup(s)
		l := drive(t, s.URL, "crash")
		l.waitFor(t, killAfter)
		if err := s.stop(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: exit %v\n%s", err, s.logText())
		}
		l.wg.Wait()
		again := start(t, dsn, token, journal...)
		check(t, again, a, l)
		// A graceful stop loads everything before it exits: nothing is
		// left for the next start.
		if strings.Contains(again.logText(), "loading clicks left by the last run") {
			t.Errorf("clicks were left in the journal by a graceful stop:\n%s", again.logText())
		}
	})
}
