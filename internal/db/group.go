package db

import (
	"context"
	"fmt"
	"sync"
)

// GroupTX is TX for many small, independent writes arriving at once (a
// webhook each): fn's effects are committed when GroupTX returns nil, and
// undone when fn fails, as with TX. Calls made while one is running share
// a transaction, each in its own savepoint: the one running takes them in
// before it commits (up to maxGroup calls), so they share its commit (on
// SQLite one WAL write of the pages they all touch, the largest cost of a
// small transaction; on PostgreSQL one WAL flush, and the rollup rows
// that every sale updates are locked once per batch rather than passed
// from one transaction to the next). A failing fn rolls back to its
// savepoint alone, and every call returns only after the shared commit,
// with its error if that commit fails. Inside a transaction it is TX.
//
// Once started, fn runs to its end even if ctx is cancelled (SQLite rolls
// back the whole transaction when a write is interrupted); a call whose
// ctx ends while it waits is not started. fn must not keep the ctx it is
// given beyond its return, nor expect the transaction to be its own (what
// another call wrote before it in the batch is visible to it, as if
// committed just before).
func (d *DB) GroupTX(ctx context.Context, fn func(ctx context.Context) error) error {
	if d.group == nil || InTX(ctx) {
		return d.TX(ctx, fn)
	}
	j := &groupJob{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	d.group.mu.Lock()
	d.group.queue = append(d.group.queue, j)
	if !d.group.running {
		d.group.running = true
		go d.groupLoop()
	}
	d.group.mu.Unlock()
	// Always wait: once started, fn's effects may commit, and the caller
	// must not answer before knowing.
	r := <-j.done
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// maxGroup bounds the calls sharing one transaction, which bounds the
// wait of the first one in it.
const maxGroup = 64

type groupJob struct {
	ctx  context.Context
	fn   func(ctx context.Context) error
	done chan groupResult
}

type groupResult struct {
	err      error
	panicked bool
	panicVal any
}

type groupQueue struct {
	mu      sync.Mutex
	queue   []*groupJob
	running bool // a groupLoop is draining the queue
	batches int  // transactions run, for tests
}

// groupLoop runs batches until the queue is empty, then ends: no goroutine
// outlives the calls it serves.
func (d *DB) groupLoop() {
	for {
		d.group.mu.Lock()
		batch := d.group.take(maxGroup)
		if len(batch) == 0 {
			d.group.running = false
			d.group.mu.Unlock()
			return
		}
		d.group.batches++
		d.group.mu.Unlock()
		d.runGroup(batch)
	}
}

// runGroup runs batch in one transaction, a savepoint per call, and tells
// each call its outcome once the transaction has ended.
func (d *DB) runGroup(batch []*groupJob) {
	results := make([]groupResult, len(batch))
	finish := func(commitErr error) {
		for i, j := range batch {
			r := results[i]
			if r.err == nil && !r.panicked {
				r.err = commitErr
			}
			j.done <- r
		}
	}
	// Not a caller's ctx: one caller giving up must not roll back the others.
	bg := context.Background()
	tx, err := d.write.BeginTx(bg, nil)
	if err != nil {
		finish(fmt.Errorf("begin: %w", err))
		return
	}
	t := &txQuerier{tx: tx, cache: d.wstmts}
	defer t.prepareMissed(bg)
	for i := 0; ; i++ {
		if i == len(batch) {
			batch, results = d.extend(batch, results)
			if i == len(batch) {
				break
			}
		}
		j := batch[i]
		if err := j.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if _, err := tx.ExecContext(bg, `savepoint grouptx`); err != nil {
			results[i].err = err
			continue
		}
		// Without the caller's cancellation: SQLite rolls back the whole
		// transaction when a write is interrupted, the others' effects too.
		results[i] = runJob(context.WithValue(context.WithoutCancel(j.ctx), txKey{}, t), j.fn)
		if results[i].err == nil && !results[i].panicked {
			if _, err := tx.ExecContext(bg, `release grouptx`); err != nil {
				_ = tx.Rollback()
				finish(fmt.Errorf("release savepoint: %w", err))
				return
			}
			continue
		}
		if _, err := tx.ExecContext(bg, `rollback to grouptx`); err != nil {
			_ = tx.Rollback()
			finish(fmt.Errorf("rollback to savepoint: %w", err))
			return
		}
		if _, err := tx.ExecContext(bg, `release grouptx`); err != nil {
			_ = tx.Rollback()
			finish(fmt.Errorf("release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		finish(fmt.Errorf("commit: %w", err))
		return
	}
	finish(nil)
}

// extend adds to batch, once all its calls have run, the calls
// that queued meanwhile, up to maxGroup: they join the open transaction
// rather than wait for its commit and then pay for one of their own. The
// calls already run wait a little longer; the commit, the largest cost of
// a small transaction, is shared by more of them.
func (d *DB) extend(batch []*groupJob, results []groupResult) ([]*groupJob, []groupResult) {
	d.group.mu.Lock()
	more := d.group.take(maxGroup - len(batch))
	d.group.mu.Unlock()
	return append(batch, more...), append(results, make([]groupResult, len(more))...)
}

// take removes up to n calls from the front of the queue; mu must be held.
func (q *groupQueue) take(n int) []*groupJob {
	n = max(0, min(len(q.queue), n))
	jobs := q.queue[:n:n]
	q.queue = q.queue[n:]
	if len(q.queue) == 0 {
		q.queue = nil // let the backing array go
	}
	return jobs
}

// runJob runs fn, turning a panic into a result for its caller to re-panic.
func runJob(ctx context.Context, fn func(ctx context.Context) error) (r groupResult) {
	defer func() {
		if p := recover(); p != nil {
			r = groupResult{panicked: true, panicVal: p}
		}
	}()
	return groupResult{err: fn(ctx)}
}
