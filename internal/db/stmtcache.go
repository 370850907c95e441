package db

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite parses a statement every time it is run unless it is prepared, and
// parsing was the largest single cost of a webhook's transaction. So on
// SQLite, Q and R prepare each statement once per pool and reuse it: a
// *sql.Stmt per query string, used inside a transaction through
// tx.StmtContext (which reuses the statement already prepared on the
// writer's one connection). PostgreSQL needs none of this: pgx caches
// prepared statements per connection itself.
//
// A *sql.Stmt can only be prepared through a pool, which needs a free
// connection, and the writer has one, held by the transaction that runs
// the statement. So a statement first seen inside a transaction runs
// unprepared there and is prepared when the transaction has ended, if it
// has been seen before (a migration runs once: never prepared).
//
// Inside a transaction, multi-row queries (QueryContext) are not cached:
// one connection runs one result set per prepared statement, and a caller
// may run the same query again while iterating its rows. On a pool each
// use gets its own connection, so everything is cached there.

// maxCached bounds the statements cached per pool. Queries are constant
// strings in this code base, a few hundred at most; a query built with a
// varying number of arguments could otherwise grow the cache forever.
// Past the bound, new statements simply run unprepared.
const maxCached = 1000

type stmtCache struct {
	pool *sql.DB

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
	seen  map[string]bool // run unprepared once inside a transaction
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}, seen: map[string]bool{}}
}

// get returns the prepared statement for query, nil if there is none.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.RLock()
	s := c.stmts[query]
	c.mu.RUnlock()
	return s
}

// prepare returns the statement for query, preparing it on the pool if it
// is not cached yet (this takes a connection from the pool: never call it
// while holding the writer's connection). nil means query runs unprepared:
// it does not prepare (the caller's plain call reports the error), or the
// cache is full.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	if s := c.get(query); s != nil {
		return s
	}
	c.mu.RLock()
	full := len(c.stmts) >= maxCached
	c.mu.RUnlock()
	if full {
		return nil
	}
	s, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.stmts[query]; old != nil { // prepared meanwhile by another caller
		s.Close()
		return old
	}
	if len(c.stmts) >= maxCached {
		s.Close()
		return nil
	}
	c.stmts[query] = s
	delete(c.seen, query)
	return s
}

// missedInTX records that query ran unprepared in a transaction and
// reports whether it should be prepared once the transaction has ended
// (it was seen before).
func (c *stmtCache) missedInTX(query string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[query] {
		return true
	}
	if len(c.seen) < maxCached {
		c.seen[query] = true
	}
	return false
}

// len is the number of prepared statements, for tests.
func (c *stmtCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.stmts)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		s.Close()
		delete(c.stmts, q)
	}
}

// poolQuerier runs statements on a pool, prepared once through its cache.
type poolQuerier struct{ c *stmtCache }

func (p poolQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.c.prepare(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.c.pool.ExecContext(ctx, query, args...)
}

func (p poolQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.c.prepare(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.c.pool.QueryContext(ctx, query, args...)
}

func (p poolQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.c.prepare(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.c.pool.QueryRowContext(ctx, query, args...)
}

// txQuerier runs statements in a transaction, with the writer's prepared
// statements when there are some (SQLite); it is what ctx carries.
type txQuerier struct {
	tx    *sql.Tx
	cache *stmtCache // nil: no caching (PostgreSQL)

	mu      sync.Mutex
	prepare []string // to prepare once the transaction has ended
}

func (t *txQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.cache == nil {
		return nil
	}
	if s := t.cache.get(query); s != nil {
		return t.tx.StmtContext(ctx, s)
	}
	if t.cache.missedInTX(query) {
		t.mu.Lock()
		t.prepare = append(t.prepare, query)
		t.mu.Unlock()
	}
	return nil
}

func (t *txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext never uses a cached statement: see the comment at the top.
func (t *txQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext uses the cached statement: its row must be scanned (as
// every caller does at once) before the same query runs again in the
// transaction.
func (t *txQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// prepareMissed prepares the statements that ran unprepared in the
// transaction just ended, for the next ones.
func (t *txQuerier) prepareMissed(ctx context.Context) {
	t.mu.Lock()
	todo := t.prepare
	t.prepare = nil
	t.mu.Unlock()
	for _, q := range todo {
		t.cache.prepare(ctx, q)
	}
}
