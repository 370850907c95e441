package db_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

// holdGroup starts a GroupTX call that keeps its transaction open until
// release is called, so that the calls made meanwhile queue behind it and
// its transaction takes them in (on either engine). It returns once the
// call is running. Its outcome is the shared commit's, which each test
// checks through the calls it queued.
func holdGroup(d *db.DB) (release func()) {
	started, stop, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		ended <- d.GroupTX(context.Background(), func(ctx context.Context) error {
			close(started)
			<-stop
			return nil
		})
	}()
	<-started
	return func() {
		close(stop)
		<-ended
	}
}

// waitQueued waits until n GroupTX calls wait in the queue.
func waitQueued(d *db.DB, n int) {
	for {
		if w, _ := db.GroupState(d); w >= n {
			return
		}
		runtime.Gosched()
	}
}

type outcome struct {
	name     string
	err      error
	panicked any
}

// TestGroupTXBatch: calls made while the writer is busy share one
// transaction; one that fails or panics is undone alone, the others commit,
// and each caller gets its own outcome.
func TestGroupTXBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		calls := map[string]func(ctx context.Context) error{
			"ok1": func(ctx context.Context) error { return insertTok(ctx, d, "ok1", "batch") },
			"fails": func(ctx context.Context) error {
				if err := insertTok(ctx, d, "fails", "batch"); err != nil {
					return err
				}
				return boom
			},
			"dup": func(ctx context.Context) error { return insertTok(ctx, d, "ok1", "batch") }, // unique violation
			"panics": func(ctx context.Context) error {
				if err := insertTok(ctx, d, "panics", "batch"); err != nil {
					return err
				}
				panic("kaboom")
			},
			"nested": func(ctx context.Context) error {
				// A TX inside joins the call's savepoint.
				return d.TX(ctx, func(ctx context.Context) error { return insertTok(ctx, d, "nested", "batch") })
			},
			"ok2": func(ctx context.Context) error { return insertTok(ctx, d, "ok2", "batch") },
		}
		order := []string{"ok1", "fails", "dup", "panics", "nested", "ok2"}
		_, batches0 := db.GroupState(d)
		release := holdGroup(d)
		results := make(chan outcome, len(order))
		var wg sync.WaitGroup
		for i, name := range order {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := outcome{name: name}
				defer func() {
					o.panicked = recover()
					results <- o
				}()
				o.err = d.GroupTX(ctx, calls[name])
			}()
			// In order ("dup" after "ok1"), in the queue behind the held
			// call, whose transaction takes them all in once released.
			waitQueued(d, i+1)
		}
		release()
		wg.Wait()
		close(results)
		got := map[string]outcome{}
		for o := range results {
			got[o.name] = o
		}
		first, second := got["ok1"], got["dup"]
		for _, o := range []outcome{first, got["nested"], got["ok2"]} {
			if o.err != nil || o.panicked != nil {
				t.Errorf("%s: err %v, panic %v", o.name, o.err, o.panicked)
			}
		}
		if o := got["fails"]; !errors.Is(o.err, boom) {
			t.Errorf("fails: err %v, want boom", o.err)
		}
		if !db.IsUnique(second.err) {
			t.Errorf("%s: err %v, want a unique violation", second.name, second.err)
		}
		if o := got["panics"]; o.panicked != "kaboom" {
			t.Errorf("panics: panic %v, err %v; want the panic in its caller", o.panicked, o.err)
		}
		var names []string
		rows, err := d.R(ctx).QueryContext(ctx, `select name from api_tokens where prefix = 'batch' order by name`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		rows.Close()
		if fmt.Sprint(names) != "[nested ok1 ok2]" {
			t.Fatalf("committed %v, want [nested ok1 ok2]", names)
		}
		// The held call's transaction takes in the six queued while it
		// ran: one commit for all.
		if _, batches := db.GroupState(d); batches-batches0 != 1 {
			t.Fatalf("%d batches for %d calls queued together, want 1", batches-batches0, len(order))
		}
	})
}

// TestGroupTXCommitFails: when the shared commit fails, every call in the
// batch gets the error and none of their effects remain. A deferred
// foreign key is checked at commit only.
func TestGroupTXCommitFails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, q := range []string{
			`create table gt_parent (id integer primary key)`,
			`create table gt_child (id integer primary key, parent integer references gt_parent (id) deferrable initially deferred)`,
		} {
			if _, err := d.Q(ctx).ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		release := holdGroup(d)
		errs := make(chan error, 3)
		for i := range 3 {
			go func() {
				errs <- d.GroupTX(ctx, func(ctx context.Context) error {
					parent := i + 1
					if i == 1 {
						parent = 999 // no such parent: fails at commit
					}
					if i != 1 {
						if _, err := d.Q(ctx).ExecContext(ctx, `insert into gt_parent (id) values ($1)`, parent); err != nil {
							return err
						}
					}
					_, err := d.Q(ctx).ExecContext(ctx, `insert into gt_child (id, parent) values ($1, $2)`, i+1, parent)
					return err
				})
			}()
			waitQueued(d, i+1)
		}
		release()
		failed := 0
		for range 3 {
			if err := <-errs; err != nil {
				failed++
			}
		}
		var n int
		if err := d.R(ctx).QueryRowContext(ctx, `select count(*) from gt_child`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		// The held call's transaction takes in all three and fails at
		// commit: each gets the error, and none of the good ones' rows
		// remain.
		if failed != 3 || n != 0 {
			t.Fatalf("%d calls failed, %d rows remain; want 3 and 0", failed, n)
		}
	})
}

// A call whose context has ended before its turn in a batch is not run.
func TestGroupTXCancelledWhileWaiting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		release := holdGroup(d)
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			first <- d.GroupTX(context.Background(), func(ctx context.Context) error { return insertTok(ctx, d, "first", "cancel") })
		}()
		waitQueued(d, 1)
		ran := false
		errc := make(chan error, 1)
		go func() {
			errc <- d.GroupTX(ctx, func(ctx context.Context) error {
				ran = true
				return insertTok(ctx, d, "cancelled", "cancel")
			})
		}()
		waitQueued(d, 2)
		cancel()
		release()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if ran {
			t.Fatal("a call cancelled while waiting ran")
		}
		if n := countTok(t, context.Background(), d.R(context.Background()), "cancel"); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})
}

// Many concurrent calls: every one committed exactly once. Run with -race.
func TestGroupTXConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const workers, each = 8, 30
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					errs <- d.GroupTX(ctx, func(ctx context.Context) error {
						return insertTok(ctx, d, fmt.Sprintf("g%d-%d", w, i), "gconc")
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := countTok(t, ctx, d.R(ctx), "gconc"); n != workers*each {
			t.Fatalf("rows = %d, want %d", n, workers*each)
		}
	})
}
