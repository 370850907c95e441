package tracking_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// fixture is a program with two affiliates, ann and bob.
type fixture struct {
	store    *program.Store
	prog     *program.Program
	ann, bob *program.Affiliate
}

func newFixture(t testing.TB, d *db.DB) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{store: &program.Store{DB: d, Audit: &audit.Log{DB: d}}}
	f.prog = program.NewProgram()
	f.prog.Name, f.prog.Slug, f.prog.DestinationURL = "Shop", "shop", "https://shop.example.com/"
	if err := f.store.CreateProgram(ctx, f.prog); err != nil {
		t.Fatal(err)
	}
	for _, a := range []**program.Affiliate{&f.ann, &f.bob} {
		*a = program.NewAffiliate()
		(*a).ProgramID = f.prog.ID
		(*a).Code = map[bool]string{true: "ann", false: "bob"}[a == &f.ann]
		(*a).Email = (*a).Code + "@example.com"
		if err := f.store.CreateAffiliate(ctx, *a); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// click is a human click of a by a new visitor at at.
func (f fixture) click(a *program.Affiliate, at time.Time) tracking.Click {
	return tracking.Click{
		ReferralID: tracking.NewReferralID(), AffiliateID: a.ID, ProgramID: a.ProgramID, At: at,
		UserAgent: "Mozilla/5.0", LandingURL: "https://shop.example.com/?ref=x", IP: "192.0.2.0",
		Device: "desktop", IsUnique: true,
	}
}

// logHook is a slog handler that reports records whose message contains want.
type logHook struct {
	slog.Handler
	want string
	seen chan string
}

func (h *logHook) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.want) {
		select {
		case h.seen <- r.Message:
		default:
		}
	}
	return h.Handler.Handle(ctx, r)
}

// newWriter starts a writer with its own metrics registry; it is closed at
// the end of the test. Warnings go to the test log.
func newWriter(t *testing.T, d *db.DB, cfg tracking.WriterConfig) (*tracking.Writer, *prometheus.Registry, *logHook) {
	t.Helper()
	hook := &logHook{Handler: slog.NewTextHandler(io.Discard, nil), want: "click batch failed", seen: make(chan string, 1)}
	reg := prometheus.NewRegistry()
	w := tracking.NewWriter(d, slog.New(hook), cfg, reg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return w, reg, hook
}

// metric returns a counter's value or a histogram's sample count.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount())
		}
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// hold blocks the click writer's commits until release is called: on
// SQLite by holding the only write connection in a transaction, on
// PostgreSQL by locking the clicks table.
func hold(t *testing.T, d *db.DB) (release func()) {
	t.Helper()
	held, done, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		errc <- d.TX(context.Background(), func(ctx context.Context) error {
			if d.Dialect() == db.Postgres {
				if _, err := d.Q(ctx).ExecContext(ctx, "lock table clicks in exclusive mode"); err != nil {
					return err
				}
			}
			close(held)
			<-done
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-errc:
		t.Fatalf("hold: %v", err)
	}
	return func() {
		close(done)
		if err := <-errc; err != nil {
			t.Errorf("hold: %v", err)
		}
	}
}

// execSQL runs q on d and fails the test on an error.
func execSQL(t *testing.T, d *db.DB, q string) {
	t.Helper()
	ctx := context.Background()
	if _, err := d.Q(ctx).ExecContext(ctx, q); err != nil {
		t.Fatal(err)
	}
}

// waitAll waits for every done channel and fails on any error.
func waitAll(t *testing.T, dones []<-chan error) {
	t.Helper()
	for i, done := range dones {
		if err := <-done; err != nil {
			t.Fatalf("click %d: %v", i, err)
		}
	}
}

// tally returns the rows in clicks and the sums of the rollups.
func tally(t *testing.T, d *db.DB) (rows, clicks, uniques, bots int64) {
	t.Helper()
	ctx := context.Background()
	if err := d.R(ctx).QueryRowContext(ctx, "select count(*) from clicks").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	err := d.R(ctx).QueryRowContext(ctx, `select coalesce(sum(clicks), 0), coalesce(sum(uniques), 0), coalesce(sum(bots), 0)
		from click_rollups`).Scan(&clicks, &uniques, &bots)
	if err != nil {
		t.Fatal(err)
	}
	return rows, clicks, uniques, bots
}

func TestWriterGroupCommit(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, reg, _ := newWriter(t, d, tracking.WriterConfig{BatchSize: 1000, BatchWait: 2 * time.Millisecond, Queue: 10000})
		ctx := context.Background()
		const n = 300
		// A third are bots, half of the rest return with an existing id.
		var wantClicks, wantUniques, wantBots int64
		clicks := make([]tracking.Click, n)
		for i := range clicks {
			c := f.click(map[bool]*program.Affiliate{true: f.ann, false: f.bob}[i%2 == 0], db.Now())
			switch {
			case i%3 == 0:
				c.IsBot, wantBots = true, wantBots+1
			case i%4 == 1:
				c.IsUnique, wantClicks = false, wantClicks+1
			default:
				wantClicks, wantUniques = wantClicks+1, wantUniques+1
			}
			clicks[i] = c
		}
		// Free running, then with the database held so clicks pile up.
		for round, blocked := range []bool{false, true} {
			var release func()
			if blocked {
				release = hold(t, d)
			}
			batchesBefore := metric(t, reg, "affiliated_click_batch_size")
			dones := make([]<-chan error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					var err error
					if dones[i], err = w.Add(ctx, clicks[i]); err != nil {
						t.Errorf("Add: %v", err)
					}
				})
			}
			wg.Wait()
			if blocked {
				release()
			}
			waitAll(t, dones)
			k := int64(round + 1)
			rows, c, u, b := tally(t, d)
			if rows != k*n || c != k*wantClicks || u != k*wantUniques || b != k*wantBots {
				t.Errorf("round %d: rows=%d clicks=%d uniques=%d bots=%d, want %d %d %d %d",
					round, rows, c, u, b, k*n, k*wantClicks, k*wantUniques, k*wantBots)
			}
			if got := metric(t, reg, "affiliated_clicks_committed_total"); got != float64(k*n) {
				t.Errorf("round %d: committed metric %v, want %d", round, got, k*n)
			}
			batches := metric(t, reg, "affiliated_click_batch_size") - batchesBefore
			if batches < 1 || batches > n {
				t.Errorf("round %d: %v batches for %d clicks", round, batches, n)
			}
			// Held, the writer had at most one batch in hand; the rest
			// queued and went in the next one.
			if blocked && batches > 2 {
				t.Errorf("%d clicks queued behind a held database took %v batches, want at most 2", n, batches)
			}
		}
		if metric(t, reg, "affiliated_click_batch_failures_total") != 0 || metric(t, reg, "affiliated_clicks_lost_total") != 0 {
			t.Errorf("failures or losses without a failure")
		}
	})
}

// TestWriterBigBatch: a batch larger than one statement may carry
// (parameters are capped per statement) still commits.
func TestWriterBigBatch(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, reg, _ := newWriter(t, d, tracking.WriterConfig{BatchSize: 10000, Queue: 10000})
		const n = 6500
		release := hold(t, d)
		dones := make([]<-chan error, n)
		for i := range dones {
			var err error
			if dones[i], err = w.Add(context.Background(), f.click(f.ann, db.Now())); err != nil {
				t.Fatal(err)
			}
		}
		release()
		waitAll(t, dones)
		if rows, c, _, _ := tally(t, d); rows != n || c != n {
			t.Errorf("rows=%d rollup clicks=%d, want %d", rows, c, n)
		}
		if got := metric(t, reg, "affiliated_click_batch_failures_total"); got != 0 {
			t.Errorf("%v failed batches", got)
		}
	})
}

func TestWriterRetriesFailedBatches(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, reg, hook := newWriter(t, d, tracking.WriterConfig{BatchSize: 100, Queue: 1000})
		ctx := context.Background()
		// The table the writer needs is gone: every attempt fails until it is back.
		execSQL(t, d, "alter table clicks rename to clicks_away")
		var dones []<-chan error
		for range 5 {
			done, err := w.Add(ctx, f.click(f.ann, db.Now()))
			if err != nil {
				t.Fatal(err)
			}
			dones = append(dones, done)
		}
		<-hook.seen // a batch failed and is being retried
		for _, done := range dones {
			select {
			case err := <-done:
				t.Fatalf("a click was reported done (%v) while its table is missing", err)
			default:
			}
		}
		execSQL(t, d, "alter table clicks_away rename to clicks")
		waitAll(t, dones)
		if rows, c, _, _ := tally(t, d); rows != 5 || c != 5 {
			t.Errorf("after recovery: rows=%d rollup clicks=%d, want 5", rows, c)
		}
		if metric(t, reg, "affiliated_click_batch_failures_total") < 1 || metric(t, reg, "affiliated_clicks_lost_total") != 0 {
			t.Errorf("failures %v lost %v, want ≥ 1 and 0",
				metric(t, reg, "affiliated_click_batch_failures_total"), metric(t, reg, "affiliated_clicks_lost_total"))
		}
	})
}

func TestWriterCloseFlushes(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, reg, _ := newWriter(t, d, tracking.WriterConfig{BatchSize: 50, BatchWait: time.Hour, Queue: 1000})
		ctx := context.Background()
		release := hold(t, d)
		const n = 120
		dones := make([]<-chan error, n)
		for i := range dones {
			var err error
			if dones[i], err = w.Add(ctx, f.click(f.bob, db.Now())); err != nil {
				t.Fatal(err)
			}
		}
		closed := make(chan error, 1)
		go func() { closed <- w.Close(ctx) }()
		release()
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		waitAll(t, dones)
		if rows, _, _, _ := tally(t, d); rows != n {
			t.Errorf("after Close: %d rows, want %d", rows, n)
		}
		if _, err := w.Add(ctx, f.click(f.bob, db.Now())); !errors.Is(err, tracking.ErrClosed) {
			t.Errorf("Add after Close: %v, want ErrClosed", err)
		}
		if got := metric(t, reg, "affiliated_clicks_lost_total"); got != 1 {
			t.Errorf("lost metric %v, want 1 (the click added after Close)", got)
		}
	})
}

func TestWriterQueueFull(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, reg, _ := newWriter(t, d, tracking.WriterConfig{BatchSize: 1, Queue: 1})
		ctx := context.Background()
		release := hold(t, d)
		first, err := w.Add(ctx, f.click(f.ann, db.Now()))
		if err != nil {
			t.Fatal(err)
		}
		for w.Backlog() != 0 { // the writer takes it and blocks on the database
			time.Sleep(time.Millisecond)
		}
		second, err := w.Add(ctx, f.click(f.ann, db.Now())) // fills the queue
		if err != nil {
			t.Fatal(err)
		}
		gone, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := w.Add(gone, f.click(f.ann, db.Now())); !errors.Is(err, tracking.ErrQueueFull) {
			t.Errorf("Add to a full queue: %v, want ErrQueueFull", err)
		}
		if got := metric(t, reg, "affiliated_clicks_lost_total"); got != 1 {
			t.Errorf("lost metric %v, want 1", got)
		}
		if got := metric(t, reg, "affiliated_click_queue"); got != 1 {
			t.Errorf("queue gauge %v, want 1", got)
		}
		release()
		waitAll(t, []<-chan error{first, second})
		if rows, _, _, _ := tally(t, d); rows != 2 {
			t.Errorf("%d rows, want the 2 queued clicks", rows)
		}
	})
}

// TestWriterStoresWhatItGets: a click's fields come back as written; text
// no engine can store is repaired rather than failing the batch forever;
// a time in any zone is stored as UTC.
func TestWriterStoresWhatItGets(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, _, _ := newWriter(t, d, tracking.WriterConfig{})
		ctx := context.Background()
		ny, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 20, 9, 30, 0, 123456789, ny)
		c := tracking.Click{
			ReferralID: tracking.NewReferralID(), AffiliateID: f.bob.ID, ProgramID: f.prog.ID, At: at,
			Referrer: "https://news.example/\xff\xfe", UserAgent: "Mozilla/5.0 \x00(X11)", LandingURL: "https://shop.example.com/é",
			IP: "2001:db8::", Device: "mobile", IsBot: false, IsUnique: true,
		}
		done, err := w.Add(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		waitAll(t, []<-chan error{done})
		got, _, err := (&tracking.Stats{DB: d}).Clicks(ctx, tracking.ClickQuery{AffiliateID: f.bob.ID})
		if err != nil || len(got) != 1 {
			t.Fatalf("Clicks: %v, %v", got, err)
		}
		g := got[0]
		want := c
		want.ID, want.At = g.ID, at.UTC().Truncate(time.Microsecond)
		want.Referrer, want.UserAgent = "https://news.example/\uFFFD", "Mozilla/5.0 (X11)"
		if g != want {
			t.Errorf("stored\n%+v\nwant\n%+v", g, want)
		}
		if !utf8.ValidString(g.Referrer) || g.At.Location() != time.UTC {
			t.Errorf("stored referrer %q at %v", g.Referrer, g.At)
		}
		s, err := (&tracking.Stats{DB: d}).Series(ctx, tracking.SeriesQuery{AffiliateID: f.bob.ID,
			From: at.Add(-time.Hour), To: at.Add(time.Hour), Interval: "hour"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range s.Points {
			if want := int64(0); p.Start.Equal(time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)) {
				want = 1
				if p.Clicks != want {
					t.Errorf("hour %v: %d clicks, want 1", p.Start, p.Clicks)
				}
			} else if p.Clicks != want {
				t.Errorf("hour %v: %d clicks, want 0", p.Start, p.Clicks)
			}
		}
	})
}

// BenchmarkWriterBatch measures committing batches of n clicks: the
// writer waits until it holds exactly n, then commits them in one
// transaction.
func BenchmarkWriterBatch(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		if engine == "postgres" && os.Getenv(dbtest.EnvPostgres) == "" {
			continue
		}
		for _, n := range []int{1, 64, 500, 1000} {
			b.Run(engine+"/"+strconv.Itoa(n), func(b *testing.B) {
				d := dbtest.SQLite(b)
				if engine == "postgres" {
					d = dbtest.Postgres(b)
				}
				f := newFixture(b, d)
				w := tracking.NewWriter(d, slog.New(slog.NewTextHandler(io.Discard, nil)),
					tracking.WriterConfig{BatchSize: n, BatchWait: time.Minute, Queue: n}, nil)
				defer w.Close(context.Background())
				dones := make([]<-chan error, n)
				for b.Loop() {
					for i := range dones {
						dones[i], _ = w.Add(context.Background(), f.click(f.ann, db.Now()))
					}
					for _, done := range dones {
						if err := <-done; err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/click")
			})
		}
	}
}
