package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

const (
	insertToken = `/* db_test.insertToken */ insert into api_tokens (name, hash, prefix, created_at) values ($1, $2, $3, $4)`
	countTokens = `/* db_test.countTokens */ select count(*) from api_tokens where prefix = $1`
)

func insertTok(ctx context.Context, d *db.DB, name, prefix string) error {
	_, err := d.Q(ctx).ExecContext(ctx, insertToken, name, "h-"+name, prefix, db.Now())
	return err
}

func countTok(t *testing.T, ctx context.Context, q db.Querier, prefix string) int {
	t.Helper()
	var n int
	if err := q.QueryRowContext(ctx, countTokens, prefix).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantCached checks the number of prepared statements on SQLite (PostgreSQL
// caches in pgx: none here).
func wantCached(t *testing.T, d *db.DB, write, read int) {
	t.Helper()
	if d.Dialect() != db.SQLite {
		write, read = 0, 0
	}
	if w, r := db.CachedStatements(d); w != write || r != read {
		t.Fatalf("cached statements: write %d, read %d; want %d, %d", w, r, write, read)
	}
}

func TestStatementCacheReusedInTX(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w0, r0 := db.CachedStatements(d)
		// The first transaction runs the insert unprepared and only notes
		// it; the second notes it again and prepares it after its commit;
		// from the third on, every transaction uses that one statement.
		for i := range 20 {
			if err := d.TX(ctx, func(ctx context.Context) error {
				return insertTok(ctx, d, fmt.Sprintf("t%d", i), "reuse")
			}); err != nil {
				t.Fatal(err)
			}
			want := w0
			if i >= 1 {
				want++
			}
			wantCached(t, d, want, r0)
		}
		if n := countTok(t, ctx, d.R(ctx), "reuse"); n != 20 {
			t.Fatalf("rows = %d, want 20", n)
		}
		wantCached(t, d, w0+1, r0+1) // the reader prepares on first use
		for range 5 {
			countTok(t, ctx, d.R(ctx), "reuse")
		}
		wantCached(t, d, w0+1, r0+1)
	})
}

func TestStatementCacheRollback(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// Prepare both statements on the writer first.
		for i := range 3 {
			if err := d.TX(ctx, func(ctx context.Context) error {
				if err := insertTok(ctx, d, fmt.Sprintf("k%d", i), "keep"); err != nil {
					return err
				}
				countTok(t, ctx, d.Q(ctx), "keep")
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		w, _ := db.CachedStatements(d)
		if d.Dialect() == db.SQLite && w < 2 {
			t.Fatalf("writer statements = %d, want the insert and the count", w)
		}
		// A cached statement runs inside the transaction: it sees the
		// transaction's own rows, and the rollback undoes them.
		boom := errors.New("boom")
		err := d.TX(ctx, func(ctx context.Context) error {
			for i := range 3 {
				if err := insertTok(ctx, d, fmt.Sprintf("g%d", i), "gone"); err != nil {
					return err
				}
			}
			// A nested TX joins and uses the same statements.
			if err := d.TX(ctx, func(ctx context.Context) error { return insertTok(ctx, d, "g-nested", "gone") }); err != nil {
				return err
			}
			if n := countTok(t, ctx, d.Q(ctx), "gone"); n != 4 {
				t.Errorf("inside the transaction: %d rows, want 4", n)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("TX error = %v", err)
		}
		if n := countTok(t, ctx, d.R(ctx), "gone"); n != 0 {
			t.Fatalf("after rollback: %d rows, want 0", n)
		}
		if n := countTok(t, ctx, d.Q(ctx), "keep"); n != 3 {
			t.Fatalf("kept rows = %d, want 3", n)
		}
		// Errors from a cached statement are the statement's (here a
		// unique violation) and leave the cache usable.
		err = d.TX(ctx, func(ctx context.Context) error { return insertTok(ctx, d, "k0", "keep") })
		if !db.IsUnique(err) {
			t.Fatalf("duplicate through a cached statement: %v, want a unique violation", err)
		}
		if err := d.TX(ctx, func(ctx context.Context) error { return insertTok(ctx, d, "k3", "keep") }); err != nil {
			t.Fatal(err)
		}
	})
}

// Outside a transaction Q prepares on the writer pool at once.
func TestStatementCacheWriterPool(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w0, r0 := db.CachedStatements(d)
		for i := range 5 {
			if err := insertTok(ctx, d, fmt.Sprintf("p%d", i), "pool"); err != nil {
				t.Fatal(err)
			}
		}
		wantCached(t, d, w0+1, r0)
		// Then a transaction uses the statement prepared by the pool.
		if err := d.TX(ctx, func(ctx context.Context) error { return insertTok(ctx, d, "p-tx", "pool") }); err != nil {
			t.Fatal(err)
		}
		wantCached(t, d, w0+1, r0)
		if n := countTok(t, ctx, d.Q(ctx), "pool"); n != 6 {
			t.Fatalf("rows = %d, want 6", n)
		}
	})
}

// A statement run once in a transaction (a migration) is never prepared; a
// statement that does not compile is never cached and reports its error
// every time.
func TestStatementCacheOneOffsAndErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w0, r0 := db.CachedStatements(d)
		if err := d.TX(ctx, func(ctx context.Context) error {
			_, err := d.Q(ctx).ExecContext(ctx, `create table stmtcache_once (x integer)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		wantCached(t, d, w0, r0)
		for range 3 {
			if _, err := d.Q(ctx).ExecContext(ctx, `select nosuchcolumn from api_tokens`); err == nil {
				t.Fatal("a bad statement ran on the pool")
			}
			err := d.TX(ctx, func(ctx context.Context) error {
				_, err := d.Q(ctx).ExecContext(ctx, `select nosuchcolumn from api_tokens`)
				return err
			})
			if err == nil {
				t.Fatal("a bad statement ran in a transaction")
			}
			if _, err := d.R(ctx).QueryContext(ctx, `select nosuchcolumn from api_tokens`); err == nil {
				t.Fatal("a bad statement ran on the reader")
			}
		}
		wantCached(t, d, w0, r0)
	})
}

// The same multi-row query can run again while its rows are being read,
// inside a transaction (SQLite: pgx allows one result set per connection
// at a time) and outside.
func TestStatementCacheNestedQuery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const list = `/* db_test.list */ select name from api_tokens where prefix = $1 order by name`
		for i := range 3 {
			if err := insertTok(ctx, d, fmt.Sprintf("n%d", i), "nest"); err != nil {
				t.Fatal(err)
			}
		}
		walk := func(ctx context.Context, q db.Querier) (int, error) {
			rows, err := q.QueryContext(ctx, list, "nest")
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			total := 0
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					return 0, err
				}
				inner, err := q.QueryContext(ctx, list, "nest")
				if err != nil {
					return 0, err
				}
				for inner.Next() {
					total++
				}
				if err := inner.Close(); err != nil {
					return 0, err
				}
			}
			return total, rows.Err()
		}
		for i := range 4 { // the query gets prepared on the way
			if d.Dialect() == db.SQLite {
				if err := d.TX(ctx, func(ctx context.Context) error {
					n, err := walk(ctx, d.Q(ctx))
					if err == nil && n != 9 {
						err = fmt.Errorf("in TX %d: %d inner rows, want 9", i, n)
					}
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := walk(ctx, d.R(ctx)); err != nil || n != 9 {
				t.Fatalf("on the reader: %d inner rows, %v; want 9", n, err)
			}
		}
	})
}

// Many goroutines share the cached statements: transactions on the
// writer, reads on the reader pool, at once. Run with -race.
func TestStatementCacheConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const workers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := d.TX(ctx, func(ctx context.Context) error {
						if err := insertTok(ctx, d, fmt.Sprintf("c%d-%d", w, i), "conc"); err != nil {
							return err
						}
						var n int
						return d.Q(ctx).QueryRowContext(ctx, countTokens, "conc").Scan(&n)
					})
					if err == nil {
						var n int
						err = d.R(ctx).QueryRowContext(ctx, countTokens, "conc").Scan(&n)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := countTok(t, ctx, d.R(ctx), "conc"); n != workers*each {
			t.Fatalf("rows = %d, want %d", n, workers*each)
		}
	})
}

// Closing a database closes its cached statements, and neither hangs nor fails.
func TestStatementCacheClose(t *testing.T) {
	d, err := db.Open(context.Background(), t.TempDir()+"/close.db")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := insertTok(ctx, d, fmt.Sprintf("x%d", i), "close"); err != nil {
			t.Fatal(err)
		}
		countTok(t, ctx, d.R(ctx), "close")
	}
	if w, r := db.CachedStatements(d); w == 0 || r == 0 {
		t.Fatalf("nothing cached: write %d, read %d", w, r)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if w, r := db.CachedStatements(d); w != 0 || r != 0 {
		t.Fatalf("after Close: write %d, read %d cached", w, r)
	}
}
