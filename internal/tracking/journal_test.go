package tracking_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/tracking"
)

// openJournal opens a click journal in dir, loading through w; it is
// closed at the end of the test.
func openJournal(t *testing.T, w *tracking.Writer, cfg tracking.JournalConfig) (*tracking.ClickJournal, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cj, err := tracking.OpenClickJournal(context.Background(), w, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cj.Close(context.Background()) })
	return cj, reg
}

func syncJournal(t *testing.T, cj *tracking.ClickJournal) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cj.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// storedClicks returns every stored click by referral id.
func storedClicks(t *testing.T, d *db.DB) map[string]tracking.Click {
	t.Helper()
	ctx := context.Background()
	rows, err := d.R(ctx).QueryContext(ctx, `select referral_id, affiliate_id, program_id, at, referrer, user_agent,
		landing_url, ip, device, is_bot, is_unique from clicks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]tracking.Click{}
	for rows.Next() {
		var c tracking.Click
		if err := rows.Scan(&c.ReferralID, &c.AffiliateID, &c.ProgramID, &c.At, &c.Referrer, &c.UserAgent,
			&c.LandingURL, &c.IP, &c.Device, &c.IsBot, &c.IsUnique); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[c.ReferralID]; dup {
			t.Errorf("click %s stored twice", c.ReferralID)
		}
		c.At = c.At.UTC()
		out[c.ReferralID] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestJournalLoadsEveryClickOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, wreg, _ := newWriter(t, d, tracking.WriterConfig{})
		dir := t.TempDir()
		cj, reg := openJournal(t, w, tracking.JournalConfig{Dir: dir, BatchSize: 50, LoadWait: 2 * time.Millisecond, SegmentSize: 8 << 10})
		const goroutines, each = 8, 100
		var mu sync.Mutex
		want := map[string]tracking.Click{}
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					a := f.ann
					if i%2 == 1 {
						a = f.bob
					}
					c := f.click(a, db.Now().Add(-time.Duration(g*i)*time.Minute))
					c.IsBot, c.IsUnique = i%5 == 0, i%3 == 0
					c.Referrer = fmt.Sprintf("https://ref%d.example/%d", g, i)
					if err := cj.Append(c); err != nil {
						t.Error(err)
						return
					}
					c.At = db.Time(c.At)
					mu.Lock()
					want[c.ReferralID] = c
					mu.Unlock()
				}
			})
		}
		// Text no engine can store is repaired, as by the writer.
		odd := f.click(f.ann, db.Now())
		odd.UserAgent, odd.Referrer = "bad \xff\xfe utf-8", "nul\x00byte"
		if err := cj.Append(odd); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		odd.At, odd.UserAgent, odd.Referrer = db.Time(odd.At), "bad \uFFFD utf-8", "nulbyte"
		want[odd.ReferralID] = odd
		syncJournal(t, cj)

		got := storedClicks(t, d)
		if len(got) != len(want) {
			t.Fatalf("%d clicks stored, %d appended", len(got), len(want))
		}
		var humans, uniques, bots int64
		for ref, c := range want {
			if got[ref] != c {
				t.Fatalf("stored %+v\nappended %+v", got[ref], c)
			}
			switch {
			case c.IsBot:
				bots++
			default:
				humans++
				if c.IsUnique {
					uniques++
				}
			}
		}
		if _, clicks, u, b := tally(t, d); clicks != humans || u != uniques || b != bots {
			t.Errorf("rollups %d clicks %d uniques %d bots, want %d %d %d", clicks, u, b, humans, uniques, bots)
		}
		if cj.Backlog() != 0 {
			t.Errorf("backlog %d after Sync", cj.Backlog())
		}
		// Loads came in batches, and loaded segments were deleted.
		if n := metric(t, wreg, "affiliated_click_batch_size"); n < 2 || n > float64(len(want))/5 {
			t.Errorf("%v batches for %d clicks", n, len(want))
		}
		if got := metric(t, reg, "affiliated_click_journal_appends_total"); got != float64(len(want)) {
			t.Errorf("appends metric %v, want %d", got, len(want))
		}
		segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		if len(segs) > 2 {
			t.Errorf("%d segments left after everything was loaded", len(segs))
		}
	})
}

// TestJournalReplaysWhatWasNotLoaded stops a journal while the database
// refuses its load: the clicks stay in the journal and the next start
// loads them, once, with the ones loaded before not loaded again.
func TestJournalReplaysWhatWasNotLoaded(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, _, _ := newWriter(t, d, tracking.WriterConfig{})
		dir := t.TempDir()
		cfg := tracking.JournalConfig{Dir: dir, LoadWait: time.Hour}
		cj, _ := openJournal(t, w, cfg)
		for range 10 {
			if err := cj.Append(f.click(f.ann, db.Now())); err != nil {
				t.Fatal(err)
			}
		}
		syncJournal(t, cj)
		release := hold(t, d)
		for range 5 {
			if err := cj.Append(f.click(f.bob, db.Now())); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := cj.Close(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if cj.Backlog() == 0 {
			t.Fatal("the load went through while the database was held")
		}
		if err := cj.Append(f.click(f.bob, db.Now())); err == nil {
			t.Error("append after Close succeeded")
		}
		release()
		if rows, _, _, _ := tally(t, d); rows != 10 {
			t.Fatalf("%d clicks stored before the restart, want 10", rows)
		}
		again, _ := openJournal(t, w, cfg) // loads what is left before returning
		if rows, clicks, _, _ := tally(t, d); rows != 15 || clicks != 15 || again.Backlog() != 0 {
			t.Fatalf("after the restart: %d clicks, rollups %d, backlog %d; want 15, 15, 0", rows, clicks, again.Backlog())
		}
	})
}

func TestJournalRetriesFailedLoads(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, wreg, _ := newWriter(t, d, tracking.WriterConfig{})
		cj, _ := openJournal(t, w, tracking.JournalConfig{Dir: t.TempDir()})
		ctx := context.Background()
		execSQL(t, d, "alter table clicks rename to clicks_away")
		for range 5 {
			if err := cj.Append(f.click(f.ann, db.Now())); err != nil {
				t.Fatal(err)
			}
		}
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := cj.Sync(short)
		cancel()
		if err == nil {
			t.Fatal("Sync returned while the clicks table was missing")
		}
		execSQL(t, d, "alter table clicks_away rename to clicks")
		syncJournal(t, cj)
		if rows, c, _, _ := tally(t, d); rows != 5 || c != 5 {
			t.Errorf("after recovery: rows=%d rollup clicks=%d, want 5", rows, c)
		}
		if metric(t, wreg, "affiliated_click_batch_failures_total") < 1 {
			t.Error("no failed load counted")
		}
	})
}

// TestJournalOfAnotherDatabase refuses to load a journal the database has
// no record of: its clicks belong elsewhere, and loading them here would
// mix two shops' clicks.
func TestJournalOfAnotherDatabase(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, _, _ := newWriter(t, d, tracking.WriterConfig{})
		dir := t.TempDir()
		cfg := tracking.JournalConfig{Dir: dir}
		cj, _ := openJournal(t, w, cfg)
		if err := cj.Append(f.click(f.ann, db.Now())); err != nil {
			t.Fatal(err)
		}
		syncJournal(t, cj)
		if err := cj.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := d.Q(ctx).ExecContext(ctx, "delete from click_journals"); err != nil {
			t.Fatal(err)
		}
		_, err := tracking.OpenClickJournal(ctx, w, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg, nil)
		if !errors.Is(err, tracking.ErrJournalForeign) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("open: %v, want ErrJournalForeign naming %s", err, dir)
		}
		// An empty journal directory is fine: nothing of it is lost.
		empty := t.TempDir()
		if err := os.WriteFile(filepath.Join(empty, "ID"), []byte("fresh"), 0o640); err != nil {
			t.Fatal(err)
		}
		openJournal(t, w, tracking.JournalConfig{Dir: empty})
		var ids []string
		rows, err := d.R(ctx).QueryContext(ctx, "select id from click_journals")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if !slices.Equal(ids, []string{"fresh"}) {
			t.Errorf("journals registered: %v", ids)
		}
	})
}
