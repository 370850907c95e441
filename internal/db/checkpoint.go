package db

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite appends every commit to the WAL, and the WAL's pages are copied
// back into the database file by a checkpoint. By default the connection
// whose commit takes the WAL past 1000 pages runs that checkpoint inside its
// commit, and ends it with an fsync of the database file: on the single
// writer connection that is a pause of several milliseconds every few dozen
// click batches, which the redirects waiting for those batches feel (their
// p99). The checkpointer runs the same passive checkpoint on a connection of
// its own, so the writer only appends; SQLite restarts the WAL from its
// beginning at the first write after a checkpoint that copied everything.
// The writer keeps its own checkpoint for a WAL past writerCheckpointPages,
// a bound if the checkpointer falls behind.
const (
	checkpointEvery       = 200 * time.Millisecond
	writerCheckpointPages = 10000 // 40 MB of 4 KiB pages
)

type checkpointer struct {
	conn    *sql.DB
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started bool
	copied  atomic.Int64 // sum of the pages each background checkpoint reported copied (for tests: > 0 once one has run)
}

func newCheckpointer(conn *sql.DB) *checkpointer {
	return &checkpointer{conn: conn, stop: make(chan struct{}), done: make(chan struct{})}
}

// start runs the checkpoints; Open calls it once the file is in WAL mode.
func (c *checkpointer) start() {
	c.started = true
	go c.run()
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// An error (SQLITE_BUSY while another checkpoint runs, or a
			// closed file) leaves the WAL for the next tick or the writer.
			if _, copied, err := c.checkpoint(context.Background()); err == nil {
				c.copied.Add(int64(copied))
			}
		}
	}
}

// checkpoint copies what it can of the WAL into the database file without
// waiting for readers or the writer, and returns the WAL's size in pages and
// how many of them are in the database file now.
func (c *checkpointer) checkpoint(ctx context.Context) (walPages, copied int, err error) {
	var busy int
	err = c.conn.QueryRowContext(ctx, "pragma wal_checkpoint(PASSIVE)").Scan(&busy, &walPages, &copied)
	return walPages, copied, err
}

func (c *checkpointer) close() error {
	c.once.Do(func() { close(c.stop) })
	if c.started {
		<-c.done
	}
	return c.conn.Close()
}
