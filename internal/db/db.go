// Package db opens the database (an embedded SQLite file or PostgreSQL),
// applies migrations, and runs transactions. It knows nothing of the domain:
// domain packages own their tables and their SQL, and reach the database
// through Q(ctx), which returns the transaction in ctx if there is one.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier is what both *sql.DB and *sql.Tx offer; domain code writes its
// queries against it so they run inside or outside a transaction alike.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open database. On SQLite, writes go through a single connection
// (SQLite allows one writer at a time; queueing in Go is cheaper than
// SQLITE_BUSY retries) and reads use a pool. On PostgreSQL both are the same pool.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	dsn     string

	// Prepared statements per pool on SQLite (see stmtcache.go); nil on PostgreSQL.
	wstmts, rstmts *stmtCache
	// Calls of GroupTX waiting for the writer on SQLite; nil on PostgreSQL.
	group *groupQueue
	// The WAL checkpointer on SQLite (see checkpoint.go); nil on PostgreSQL.
	ckpt *checkpointer
}

// Open connects to dsn: "postgres://…" or "postgresql://…" selects PostgreSQL;
// "sqlite:PATH", "file:PATH" or a plain file path selects SQLite.
// It checks that the database answers before returning.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("empty database DSN")
	}
	var d *DB
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return nil, fmt.Errorf("invalid PostgreSQL DSN: %w", err)
		}
		pool, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		pool.SetMaxOpenConns(max(8, 4*runtime.GOMAXPROCS(0)))
		pool.SetMaxIdleConns(max(8, 4*runtime.GOMAXPROCS(0)))
		pool.SetConnMaxIdleTime(5 * time.Minute)
		// GroupTX batches on PostgreSQL too: concurrent webhook sales
		// would otherwise queue for the same rollup rows' locks, each
		// holding them through its own WAL flush.
		d = &DB{dialect: Postgres, write: pool, read: pool, dsn: dsn, group: &groupQueue{}}
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i] // our pragmas are the ones that count
		}
		if path == "" {
			return nil, errors.New("empty SQLite path")
		}
		base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_time_format=sqlite"
		// temp_store(MEMORY): the writer's statement and savepoint journals
		// (see GroupTX) stay in memory instead of spilling to temporary files.
		// wal_autocheckpoint: the checkpointer copies the WAL back in the
		// background; the writer checkpoints only if the WAL grows past
		// 40 MB regardless (see checkpoint.go).
		w, err := sql.Open("sqlite", base+"&_txlock=immediate&_pragma=temp_store(2)"+
			"&_pragma=wal_autocheckpoint("+strconv.Itoa(writerCheckpointPages)+")")
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, err
		}
		n := max(4, runtime.GOMAXPROCS(0)*2)
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		c, err := sql.Open("sqlite", base)
		if err != nil {
			w.Close()
			r.Close()
			return nil, err
		}
		c.SetMaxOpenConns(1)
		d = &DB{dialect: SQLite, write: w, read: r, dsn: path, wstmts: newStmtCache(w), rstmts: newStmtCache(r),
			group: &groupQueue{}, ckpt: newCheckpointer(c)}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.write.PingContext(pctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("cannot reach database: %w", err)
	}
	if d.dialect == SQLite {
		// The first write connection creates the file and switches it to WAL
		// before any reader (query_only) opens it.
		if _, err := d.write.ExecContext(pctx, "select 1"); err != nil {
			d.Close()
			return nil, err
		}
		d.ckpt.start()
	}
	return d, nil
}

// Path returns the SQLite database file, or "" on PostgreSQL and for an
// in-memory SQLite database.
func (d *DB) Path() string {
	if d.dialect != SQLite || strings.Contains(d.dsn, ":memory:") {
		return ""
	}
	return d.dsn
}

// Dialect tells which engine this is, for the few queries that differ.
func (d *DB) Dialect() Dialect { return d.dialect }

// Close closes every pool.
func (d *DB) Close() error {
	var err error
	if d.ckpt != nil {
		err = d.ckpt.close()
	}
	if d.wstmts != nil {
		d.wstmts.close()
		d.rstmts.close()
	}
	err = errors.Join(err, d.write.Close())
	if d.read != d.write {
		err = errors.Join(err, d.read.Close())
	}
	return err
}

// Ping checks that the database answers (for /readyz).
func (d *DB) Ping(ctx context.Context) error {
	if err := d.read.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return d.read.QueryRowContext(ctx, "select 1").Scan(&one)
}

// Pools returns the underlying pools for metrics (write first; the same pool
// twice on PostgreSQL).
func (d *DB) Pools() (write, read *sql.DB) { return d.write, d.read }

type txKey struct{}

// Q returns the transaction carried by ctx, or the writer pool when there is none.
// Reads that need no transaction should use R.
func (d *DB) Q(ctx context.Context) Querier {
	if t, ok := ctx.Value(txKey{}).(*txQuerier); ok {
		return t
	}
	if d.wstmts != nil {
		return poolQuerier{d.wstmts}
	}
	return d.write
}

// R returns the transaction carried by ctx, or the reader pool.
func (d *DB) R(ctx context.Context) Querier {
	if t, ok := ctx.Value(txKey{}).(*txQuerier); ok {
		return t
	}
	if d.rstmts != nil {
		return poolQuerier{d.rstmts}
	}
	return d.read
}

// InTX reports whether ctx carries a transaction.
func InTX(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*txQuerier)
	return ok
}

// TX runs fn in a transaction carried by the ctx it receives; it commits when
// fn returns nil and rolls back otherwise. A TX inside a TX joins the outer one.
func (d *DB) TX(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if InTX(ctx) {
		return fn(ctx)
	}
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &txQuerier{tx: tx, cache: d.wstmts}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
		if t.cache != nil {
			// The writer's connection is free again: prepare what this
			// transaction ran unprepared.
			t.prepareMissed(ctx)
		}
	}()
	if err = fn(context.WithValue(ctx, txKey{}, t)); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsUnique reports whether err is a unique-constraint violation, on either engine.
func IsUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || // SQLite
		strings.Contains(s, "SQLSTATE 23505") // PostgreSQL
}

// UniqueColumn returns, for a unique violation, a best guess at the column or
// constraint involved ("" when unknown) so the API can name the field.
func UniqueColumn(err error) string {
	s := err.Error()
	if i := strings.Index(s, "UNIQUE constraint failed: "); i >= 0 {
		rest := s[i+len("UNIQUE constraint failed: "):]
		if strings.HasPrefix(rest, "index '") { // an expression index names itself
			rest = strings.TrimPrefix(rest, "index '")
			if j := strings.IndexByte(rest, '\''); j >= 0 {
				return rest[:j]
			}
		}
		if j := strings.IndexAny(rest, " ,)"); j >= 0 {
			rest = rest[:j]
		}
		if k := strings.LastIndexByte(rest, '.'); k >= 0 {
			rest = rest[k+1:]
		}
		return rest
	}
	if i := strings.Index(s, "constraint \""); i >= 0 {
		rest := s[i+len("constraint \""):]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			return rest[:j]
		}
	}
	return ""
}

// Now is the current time as the database stores it: UTC, microseconds
// (PostgreSQL's precision), so a value read back equals the value written.
func Now() time.Time { return Time(time.Now()) }

// Time normalizes t for storage: UTC, truncated to microseconds.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
