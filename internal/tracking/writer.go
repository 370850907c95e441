package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"affiliated/internal/db"
	"affiliated/internal/ratelog"
)

// Click is one logged click on a referral link.
type Click struct {
	ID          int64     `json:"id"`
	ReferralID  string    `json:"referral_id"`
	AffiliateID int64     `json:"affiliate_id"`
	ProgramID   int64     `json:"program_id"`
	At          time.Time `json:"at"`
	Referrer    string    `json:"referrer"`
	UserAgent   string    `json:"user_agent"`
	LandingURL  string    `json:"landing_url"`
	IP          string    `json:"ip"`
	Device      string    `json:"device"`
	IsBot       bool      `json:"is_bot"`
	IsUnique    bool      `json:"is_unique"`
}

// Errors returned by Add.
var (
	ErrQueueFull = errors.New("click queue full")    // no room freed up in time
	ErrClosed    = errors.New("click writer closed") // Close was called
)

// WriterConfig tunes the group commit.
type WriterConfig struct {
	BatchSize int           // most clicks in one transaction
	BatchWait time.Duration // longest the first click of a batch waits for company
	Queue     int           // clicks held in memory
}

type pending struct {
	c    Click
	done chan error // receives nil once committed
}

// Writer logs clicks durably with group commit: callers hand over a click
// and wait until the transaction holding it commits, while many clicks
// share each transaction. A batch that fails is retried, never dropped.
type Writer struct {
	db  *db.DB
	log *slog.Logger
	cfg WriterConfig
	in  chan pending

	stopOnce sync.Once
	stopping chan struct{}
	stopped  chan struct{}

	// Changed is called after each committed batch (e.g. to drop cached counts).
	Changed func()

	backlog   prometheus.GaugeFunc
	committed prometheus.Counter
	batches   prometheus.Histogram
	failures  prometheus.Counter
	lost      prometheus.Counter
	// One line per 10 s while clicks are lost; lost counts each.
	closedLog, fullLog ratelog.Limiter
}

// NewWriter starts a writer. Stop it with Close, which flushes the queue.
func NewWriter(d *db.DB, log *slog.Logger, cfg WriterConfig, reg prometheus.Registerer) *Writer {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 100000
	}
	w := &Writer{db: d, log: log, cfg: cfg, in: make(chan pending, cfg.Queue),
		stopping: make(chan struct{}), stopped: make(chan struct{})}
	w.backlog = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "affiliated_click_queue", Help: "Clicks waiting to be committed.",
	}, func() float64 { return float64(len(w.in)) })
	w.committed = prometheus.NewCounter(prometheus.CounterOpts{Name: "affiliated_clicks_committed_total", Help: "Clicks committed to the database."})
	w.batches = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "affiliated_click_batch_size", Help: "Clicks per committed batch.",
		Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000}})
	w.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "affiliated_click_batch_failures_total", Help: "Click batches that failed and were retried."})
	w.lost = prometheus.NewCounter(prometheus.CounterOpts{Name: "affiliated_clicks_lost_total", Help: "Clicks that could not be queued or committed before shutdown."})
	if reg != nil {
		reg.MustRegister(w.backlog, w.committed, w.batches, w.failures, w.lost)
	}
	go w.run()
	return w
}

// Add queues c and returns a channel that receives nil when c is committed.
// When the queue is full it waits for room until ctx is done, then gives up
// with ErrQueueFull (the caller still answers the visitor; the loss is
// counted and logged). After Close it returns ErrClosed at once.
//
// Text that no engine could store (invalid UTF-8, NUL, which PostgreSQL
// refuses) is repaired here: one such click would otherwise fail its batch
// on every retry and hold up every click queued behind it.
func (w *Writer) Add(ctx context.Context, c Click) (<-chan error, error) {
	select {
	case <-w.stopping:
		w.lost.Inc()
		w.closedLog.Log(ctx, w.log, slog.LevelError, "click not logged: writer closed", "affiliate_id", c.AffiliateID)
		return nil, ErrClosed
	default:
	}
	p := pending{c: storableClick(c), done: make(chan error, 1)}
	select {
	case w.in <- p:
		return p.done, nil
	default:
	}
	select {
	case w.in <- p:
		return p.done, nil
	case <-w.stopping:
	case <-ctx.Done():
	}
	w.lost.Inc()
	w.fullLog.Log(ctx, w.log, slog.LevelError, "click not logged: queue full", "affiliate_id", c.AffiliateID, "queue", cap(w.in))
	return nil, ErrQueueFull
}

// storableClick returns c as every engine stores it: its time in UTC to the
// microsecond, its text repaired by storable.
func storableClick(c Click) Click {
	c.At = db.Time(c.At)
	for _, s := range []*string{&c.ReferralID, &c.Referrer, &c.UserAgent, &c.LandingURL, &c.IP, &c.Device} {
		*s = storable(*s)
	}
	return c
}

// storable returns s as text every engine accepts: valid UTF-8 without NUL.
func storable(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Backlog returns the number of queued clicks.
func (w *Writer) Backlog() int { return len(w.in) }

func (w *Writer) run() {
	defer close(w.stopped)
	batch := make([]pending, 0, w.cfg.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch = batch[:0]
		select {
		case p := <-w.in:
			batch = append(batch, p)
		case <-w.stopping:
			w.drain()
			return
		}
		if w.cfg.BatchWait > 0 {
			timer.Reset(w.cfg.BatchWait)
		}
	fill:
		for len(batch) < w.cfg.BatchSize {
			select {
			case p := <-w.in:
				batch = append(batch, p)
			default:
				if w.cfg.BatchWait <= 0 {
					break fill
				}
				select {
				case p := <-w.in:
					batch = append(batch, p)
				case <-timer.C:
					break fill
				case <-w.stopping: // Close flushes now, not after the wait
					break fill
				}
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		w.commitRetrying(batch)
	}
}

// commitRetrying writes batch until it commits. During shutdown it keeps
// trying; Close bounds how long.
func (w *Writer) commitRetrying(batch []pending) {
	clicks := clicksOf(batch)
	w.retry(context.Background(), "click batch", len(clicks), w.pause, func(ctx context.Context) error {
		return w.commit(ctx, clicks, nil)
	})
	for _, p := range batch {
		p.done <- nil
	}
	w.observe(len(batch))
}

// pause waits d, also while stopping: the writer never gives up a batch.
func (w *Writer) pause(d time.Duration) bool {
	select {
	case <-time.After(d):
	case <-w.stopping:
		time.Sleep(d)
	}
	return true
}

// retry runs commit, each attempt bounded to 30 s, until it returns nil,
// counting and logging each failure of what (n clicks) and waiting between
// attempts with pause, from 10 ms doubling to 2 s. It reports false when
// pause does (the caller gives up).
func (w *Writer) retry(base context.Context, what string, n int, pause func(time.Duration) bool, commit func(ctx context.Context) error) bool {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(base, 30*time.Second)
		err := commit(ctx)
		cancel()
		if err == nil {
			return true
		}
		w.failures.Inc()
		w.log.Warn(what+" failed; retrying", "clicks", n, "attempt", attempt, "err", err)
		if !pause(backoff) {
			return false
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// observe counts a committed batch of n clicks and reports the change.
func (w *Writer) observe(n int) {
	w.committed.Add(float64(n))
	w.batches.Observe(float64(n))
	if w.Changed != nil {
		w.Changed()
	}
}

// drain commits whatever is queued when the writer stops.
func (w *Writer) drain() {
	for {
		batch := make([]pending, 0, w.cfg.BatchSize)
	collect:
		for len(batch) < w.cfg.BatchSize {
			select {
			case p := <-w.in:
				batch = append(batch, p)
			default:
				break collect
			}
		}
		if len(batch) == 0 {
			return
		}
		w.commitRetrying(batch)
	}
}

// Close stops accepting clicks and commits everything queued, waiting at
// most until ctx is done; clicks still queued then are counted as lost.
func (w *Writer) Close(ctx context.Context) error {
	w.stopOnce.Do(func() { close(w.stopping) })
	select {
	case <-w.stopped:
		return w.closed()
	case <-ctx.Done():
	}
	// The deadline may have passed before Close was called: a writer that
	// has finished meanwhile lost nothing.
	select {
	case <-w.stopped:
		return w.closed()
	default:
	}
	n := len(w.in)
	w.lost.Add(float64(n))
	w.log.Error("shutdown: clicks not committed", "lost", n, "batch_in_flight", true)
	return fmt.Errorf("click writer: %d queued clicks (and the batch in flight) not committed before shutdown", n)
}

// closed reports clicks that an Add racing with Close queued after the final drain.
func (w *Writer) closed() error {
	if n := len(w.in); n > 0 {
		w.lost.Add(float64(n))
		w.log.Error("shutdown: clicks queued after the final flush", "lost", n)
		return fmt.Errorf("click writer: %d clicks queued after the final flush", n)
	}
	return nil
}

// rollupSums is a batch's increments of click_rollups, per affiliate and hour.
type rollupSums map[rollupKey]*rollup

type rollupKey struct {
	affiliate int64
	hour      time.Time
}

type rollup struct {
	program int64
	Counts
}

// clicksOf returns the clicks of a batch.
func clicksOf(batch []pending) []Click {
	cs := make([]Click, len(batch))
	for i, p := range batch {
		cs[i] = p.c
	}
	return cs
}

func sumRollups(batch []Click) rollupSums {
	sums := rollupSums{}
	for _, c := range batch {
		k := rollupKey{c.AffiliateID, c.At.Truncate(time.Hour)}
		r := sums[k]
		if r == nil {
			r = &rollup{program: c.ProgramID}
			sums[k] = r
		}
		r.add(c)
	}
	return sums
}

// rows returns the rows of click_rollups, in key order: replicas upserting
// the same rows in the same order never deadlock.
func (s rollupSums) rows() []countRow {
	rows := make([]countRow, 0, len(s))
	for k, r := range s {
		rows = append(rows, countRow{key: []any{k.affiliate, k.hour, r.program}, counts: []int64{r.Clicks, r.Uniques, r.Bots}})
	}
	return sortRows(rows)
}

const clickCols = 11

// maxRowsPerInsert bounds one multi-row insert on SQLite. It is small so
// that the writer yields often (see commit); it must stay far below the
// 32766 parameters SQLite takes in a statement, or a large batch could
// never be inserted and would be retried forever.
const maxRowsPerInsert = 16

// clickInserts holds the insert statement for each power-of-two number of
// rows up to maxRowsPerInsert. A batch is inserted in chunks of those sizes
// (300 clicks: 18 × 16 + 8 + 4), so the statement texts are few and stay
// prepared (db's statement cache) instead of being parsed with each batch:
// parsing a 500-row insert was a quarter of a journal load's time. The
// chunks are small so that the writer yields often (see commit).
var clickInserts = func() map[int]string {
	m := map[int]string{}
	for n := 1; n <= maxRowsPerInsert; n *= 2 {
		var sb strings.Builder
		sb.WriteString(`/* tracking.Writer.commit */ insert into clicks (referral_id, affiliate_id, program_id, at, referrer,
			user_agent, landing_url, ip, device, is_bot, is_unique) values `)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			// Anonymous parameters: SQLite resolves each "$N" by a linear
			// search of the names, so a statement with n of them takes
			// O(n²) to prepare (300 ms for 500 clicks).
			sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
		}
		m[n] = sb.String()
	}
	return m
}()

// insertChunk returns the size of the next chunk of a batch with n clicks
// left: the largest power of two not above n, at most maxRowsPerInsert.
func insertChunk(n int) int {
	size := maxRowsPerInsert
	for size > n {
		size /= 2
	}
	return size
}

// commit writes one batch of clicks and their rollup increments in one
// transaction (on PostgreSQL, one statement: see commitPostgres), with
// also, when not nil, in the same transaction.
func (w *Writer) commit(ctx context.Context, batch []Click, also func(ctx context.Context) error) error {
	if w.db.Dialect() == db.Postgres {
		if also == nil {
			return w.commitPostgres(ctx, batch)
		}
		return w.db.TX(ctx, func(ctx context.Context) error {
			if err := w.commitPostgres(ctx, batch); err != nil {
				return err
			}
			return also(ctx)
		})
	}
	return w.db.TX(ctx, func(ctx context.Context) error {
		args := make([]any, 0, min(len(batch), maxRowsPerInsert)*clickCols)
		for rest := batch; len(rest) > 0; {
			rows := rest[:insertChunk(len(rest))]
			rest = rest[len(rows):]
			args = args[:0]
			for _, c := range rows {
				args = append(args, c.ReferralID, c.AffiliateID, c.ProgramID, c.At, c.Referrer,
					c.UserAgent, c.LandingURL, c.IP, c.Device, c.IsBot, c.IsUnique)
			}
			if _, err := w.db.Q(ctx).ExecContext(ctx, clickInserts[len(rows)], args...); err != nil {
				return fmt.Errorf("insert clicks: %w", err)
			}
			// A load of 400 clicks is ~4 ms of CPU on one of two cores:
			// let the redirects waiting for a core in between.
			runtime.Gosched()
		}
		if err := upsertCounts(ctx, w.db, "click_rollups", []string{"affiliate_id", "hour", "program_id"}, 2,
			[]string{"clicks", "uniques", "bots"}, sumRollups(batch).rows()); err != nil {
			return err
		}
		if err := w.commitDims(ctx, batch); err != nil {
			return err
		}
		if also != nil {
			return also(ctx)
		}
		return nil
	})
}
