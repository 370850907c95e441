package tracking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"affiliated/internal/db"
	"affiliated/internal/journal"
)

// JournalConfig tunes a ClickJournal.
type JournalConfig struct {
	Dir         string        // the journal's directory, on a local disk
	BatchSize   int           // most clicks loaded in one transaction (1000)
	LoadWait    time.Duration // how long the loader lets clicks gather before a load (0: none; serve: 10ms)
	SegmentSize int64         // journal segment size (16 MiB)
}

// ClickJournal logs clicks with one append to a local journal (package
// journal) and loads them into the database in the background, in large
// batches. A redirect waits only for the append: its click is then as
// durable as a commit of SQLite at synchronous=NORMAL, which the database
// itself uses, and costs a copy into a mapped file under a lock (on Linux;
// a write(2) elsewhere) instead of a share of a transaction.
//
// Each load inserts its clicks, their rollups and the journal's new loaded
// offset (table click_journals) in one transaction, so a restart replays
// exactly the records after it: no click is loaded twice or skipped.
// Readers of clicks call Sync first and see every click appended before
// they asked.
type ClickJournal struct {
	j   *journal.Journal
	w   *Writer // commits batches and reports them (Changed, metrics); its db is the journal's
	log *slog.Logger
	cfg JournalConfig

	loaded atomic.Int64 // journal offset of the first record not in the database
	kick   chan struct{}
	urgent chan struct{}
	rushed atomic.Int32 // readers waiting in Sync

	mu      sync.Mutex
	waiters []syncWaiter

	stopOnce sync.Once
	stopping chan struct{}      // Close was called: load what is left, then stop
	ctx      context.Context    // the loader's; cancelled when Close's deadline passes
	abort    context.CancelFunc //
	stopped  chan struct{}

	appended, skipped, appendFailures prometheus.Counter
	backlog                           prometheus.GaugeFunc
}

type syncWaiter struct {
	off  int64
	done chan struct{}
}

// ErrJournalForeign reports a journal whose records belong to another database.
var ErrJournalForeign = errors.New("click journal belongs to another database")

// OpenClickJournal opens the journal in cfg.Dir, loads whatever a previous
// run left in it (waiting at most until ctx is done), and starts the
// loader. w commits the loads; it must outlive the journal.
func OpenClickJournal(ctx context.Context, w *Writer, log *slog.Logger, cfg JournalConfig, reg prometheus.Registerer) (*ClickJournal, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.LoadWait < 0 {
		cfg.LoadWait = 0
	}
	j, err := journal.Open(cfg.Dir, journal.Options{SegmentSize: cfg.SegmentSize})
	if err != nil {
		return nil, fmt.Errorf("click journal %s: %w", cfg.Dir, err)
	}
	if j.Truncated > 0 {
		log.Warn("click journal: cut off a torn record at its end (the machine stopped mid-write; its redirect was never answered)",
			"dir", cfg.Dir, "bytes", j.Truncated)
	}
	cj := &ClickJournal{j: j, w: w, log: log, cfg: cfg,
		kick: make(chan struct{}, 1), urgent: make(chan struct{}, 1),
		stopping: make(chan struct{}), stopped: make(chan struct{})}
	cj.ctx, cj.abort = context.WithCancel(context.Background())
	loaded, err := cj.start(ctx)
	if err != nil {
		cj.abort()
		j.Close()
		return nil, err
	}
	cj.loaded.Store(loaded)
	cj.appended = prometheus.NewCounter(prometheus.CounterOpts{Name: "affiliated_click_journal_appends_total", Help: "Clicks appended to the click journal."})
	cj.appendFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "affiliated_click_journal_append_failures_total", Help: "Clicks the journal could not take (committed to the database directly instead)."})
	cj.skipped = prometheus.NewCounter(prometheus.CounterOpts{Name: "affiliated_click_journal_skipped_total", Help: "Journal records that could not be read as clicks and were skipped."})
	cj.backlog = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "affiliated_click_journal_backlog_bytes", Help: "Bytes of clicks in the journal not yet loaded into the database.",
	}, func() float64 { return float64(cj.Backlog()) })
	if reg != nil {
		reg.MustRegister(cj.appended, cj.appendFailures, cj.skipped, cj.backlog)
	}
	j.OnAppend(cj.poke)
	go cj.run()
	if b := cj.Backlog(); b > 0 {
		log.Info("click journal: loading clicks left by the last run", "dir", cfg.Dir, "bytes", b)
		if err := cj.Sync(ctx); err != nil {
			log.Warn("click journal: still loading in the background", "err", err)
		}
	}
	return cj, nil
}

// start returns the journal's loaded offset, recorded in the database, and
// registers a new journal there.
func (cj *ClickJournal) start(ctx context.Context) (int64, error) {
	var loaded int64
	err := cj.w.db.R(ctx).QueryRowContext(ctx, `/* tracking.ClickJournal.start */
		select loaded from click_journals where id = $1`, cj.j.ID()).Scan(&loaded)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if cj.j.End() > cj.j.Start() {
			return 0, fmt.Errorf("%w: %s holds %d bytes of clicks that this database has no record of (was --db changed?); "+
				"start with the database it belongs to, or move the directory aside", ErrJournalForeign, cj.cfg.Dir, cj.j.End()-cj.j.Start())
		}
		_, err := cj.w.db.Q(ctx).ExecContext(ctx, `/* tracking.ClickJournal.start */
			insert into click_journals (id, loaded, updated_at) values ($1, $2, $3)`, cj.j.ID(), cj.j.End(), db.Now())
		return cj.j.End(), err
	case err != nil:
		return 0, err
	}
	if loaded > cj.j.End() {
		return 0, fmt.Errorf("%w: the database has loaded %s up to offset %d, past its end %d (was the directory replaced?)",
			ErrJournalForeign, cj.cfg.Dir, loaded, cj.j.End())
	}
	if loaded < cj.j.Start() {
		// Segments are released only after their load commits: the
		// database is older than the journal (restored from a backup).
		cj.log.Error("click journal: clicks loaded by a later state of the database are gone from the journal; loading what is left",
			"dir", cj.cfg.Dir, "loaded", loaded, "oldest", cj.j.Start())
		loaded = cj.j.Start()
	}
	return loaded, nil
}

// Append makes c durable in the journal; the loader takes it to the
// database soon after. Text no engine could store is repaired first (see
// Writer.Add).
func (cj *ClickJournal) Append(c Click) error {
	buf := recordBufs.Get().(*[]byte)
	*buf = appendRecord((*buf)[:0], storableClick(c))
	_, err := cj.j.Append(*buf)
	recordBufs.Put(buf)
	if err != nil {
		cj.appendFailures.Inc()
		return err
	}
	cj.appended.Inc()
	return nil
}

var recordBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Backlog returns the bytes of clicks appended but not yet loaded.
func (cj *ClickJournal) Backlog() int64 { return cj.j.End() - cj.loaded.Load() }

// Sync waits until every click appended before the call is in the
// database, or ctx is done.
func (cj *ClickJournal) Sync(ctx context.Context) error {
	off := cj.j.End()
	if cj.loaded.Load() >= off {
		return nil
	}
	w := syncWaiter{off: off, done: make(chan struct{})}
	cj.mu.Lock()
	cj.waiters = append(cj.waiters, w)
	cj.mu.Unlock()
	cj.rushed.Add(1)
	defer cj.rushed.Add(-1)
	select {
	case cj.urgent <- struct{}{}:
	default:
	}
	// The load may have finished between the check and the registration.
	cj.wake(cj.loaded.Load())
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
	}
	cj.mu.Lock()
	cj.waiters = slices.DeleteFunc(cj.waiters, func(o syncWaiter) bool { return o.done == w.done })
	cj.mu.Unlock()
	return fmt.Errorf("clicks not yet loaded from the journal: %w", ctx.Err())
}

// wake releases the Sync callers whose clicks are loaded.
func (cj *ClickJournal) wake(loaded int64) {
	cj.mu.Lock()
	defer cj.mu.Unlock()
	kept := cj.waiters[:0]
	for _, w := range cj.waiters {
		if w.off <= loaded {
			close(w.done)
		} else {
			kept = append(kept, w)
		}
	}
	clear(cj.waiters[len(kept):])
	cj.waiters = kept
}

func (cj *ClickJournal) poke() {
	select {
	case cj.kick <- struct{}{}:
	default:
	}
}

// run is the loader.
func (cj *ClickJournal) run() {
	defer close(cj.stopped)
	r := cj.j.NewReader(cj.loaded.Load())
	defer r.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]Click, 0, cj.cfg.BatchSize)
	for {
		if cj.Backlog() == 0 {
			select {
			case <-cj.kick:
			case <-cj.urgent:
			case <-cj.stopping:
				return
			}
		}
		// Let clicks gather unless a reader waits or the backlog already
		// fills a batch: a load costs about the same for 1 click or 300.
		if cj.cfg.LoadWait > 0 && cj.rushed.Load() == 0 && cj.Backlog() < int64(cj.cfg.BatchSize)*minRecord {
			timer.Reset(cj.cfg.LoadWait)
			select {
			case <-timer.C:
			case <-cj.urgent:
				timer.Stop()
			case <-cj.stopping:
				timer.Stop()
			}
		}
		var ok bool
		if batch, ok = cj.load(r, batch); !ok {
			return
		}
	}
}

// minRecord is a lower bound of a click record's size on disk.
const minRecord = 64

// load reads up to a batch of clicks from r and commits them with the new
// loaded offset, retrying until the commit succeeds. It reports false when
// the journal is stopping and the load could not complete.
func (cj *ClickJournal) load(r *journal.Reader, batch []Click) ([]Click, bool) {
	batch = batch[:0]
	_, err := r.Read(cj.j.End(), cj.cfg.BatchSize, func(p []byte) error {
		c, err := parseRecord(p)
		if err != nil {
			cj.skipped.Inc()
			cj.log.Error("click journal: record skipped", "offset", r.Offset(), "err", err)
			return nil
		}
		batch = append(batch, c)
		return nil
	})
	from, to := cj.loaded.Load(), r.Offset()
	if err != nil && to == from {
		var bad *journal.CorruptError
		if next, ok := r.NextSegment(); errors.As(err, &bad) && ok {
			// A damaged record in a closed segment (a power loss before its
			// sync) would stop every load after it: skip to the next one.
			cj.skipped.Inc()
			cj.log.Error("click journal: damaged segment; skipping the rest of it", "offset", to, "next", next, "err", err)
			to = next
		} else {
			cj.log.Error("click journal: cannot read; clicks wait in the journal", "offset", to, "err", err)
			return batch, cj.pause(time.Second)
		}
	}
	if to == from {
		return batch, true
	}
	loaded := cj.w.retry(cj.ctx, "click journal: load", len(batch), cj.pause, func(ctx context.Context) error {
		err := cj.w.commit(ctx, batch, func(ctx context.Context) error {
			res, err := cj.w.db.Q(ctx).ExecContext(ctx, `/* tracking.ClickJournal.load */
				update click_journals set loaded = $1, updated_at = $2 where id = $3 and loaded = $4`, to, db.Now(), cj.j.ID(), from)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return errOffsetMoved
			}
			return nil
		})
		if errors.Is(err, errOffsetMoved) && cj.committed(to) {
			// The previous attempt's commit went through though it reported
			// an error (a connection lost during COMMIT); this attempt
			// rolled back.
			return nil
		}
		return err
	})
	if !loaded {
		return batch, false
	}
	cj.loaded.Store(to)
	cj.w.observe(len(batch))
	cj.wake(to)
	if err := cj.j.Release(to); err != nil {
		cj.log.Warn("click journal: cannot delete a loaded segment", "err", err)
	}
	return batch, true
}

var errOffsetMoved = errors.New("click journal: the loaded offset in the database is not the loader's (another server loading this journal?)")

// committed reports whether the database has the journal loaded up to to.
func (cj *ClickJournal) committed(to int64) bool {
	ctx, cancel := context.WithTimeout(cj.ctx, 5*time.Second)
	defer cancel()
	var loaded int64
	err := cj.w.db.Q(ctx).QueryRowContext(ctx, `/* tracking.ClickJournal.committed */
		select loaded from click_journals where id = $1`, cj.j.ID()).Scan(&loaded)
	return err == nil && loaded == to
}

// pause waits d; during shutdown it reports false once the stop deadline
// has passed (see Close).
func (cj *ClickJournal) pause(d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-cj.stopping:
	}
	select {
	case <-time.After(d):
		return true
	case <-cj.ctx.Done():
		return false
	}
}

// Close stops the loader once it has loaded every click appended so far,
// waiting at most until ctx is done, then closes the journal. Clicks not
// loaded by then are not lost: they stay in the journal for the next start.
func (cj *ClickJournal) Close(ctx context.Context) error {
	cj.stopOnce.Do(func() { close(cj.stopping) })
	select {
	case <-cj.stopped:
	case <-ctx.Done():
		cj.abort()
		<-cj.stopped
	}
	cj.abort()
	err := cj.j.Close()
	if b := cj.Backlog(); b > 0 {
		cj.log.Warn("click journal: clicks left to load at the next start", "dir", cj.cfg.Dir, "bytes", b)
	}
	return err
}
