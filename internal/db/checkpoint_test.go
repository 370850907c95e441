package db_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

// TestBackgroundCheckpoint: on SQLite the WAL is copied back into the
// database file by the checkpointer's own connection, while the writer only
// checkpoints past its large bound.
func TestBackgroundCheckpoint(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	write, _ := d.Pools()
	var bound int
	if err := write.QueryRowContext(ctx, "pragma wal_autocheckpoint").Scan(&bound); err != nil {
		t.Fatal(err)
	}
	if bound != 10000 {
		t.Errorf("writer's wal_autocheckpoint %d, want 10000", bound)
	}
	for i := range 50 {
		if _, err := d.Q(ctx).ExecContext(ctx, `insert into api_tokens (name, hash, prefix, created_at) values ($1, $2, $3, $4)`,
			fmt.Sprint("t", i), fmt.Sprint("hash", i), "p", db.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// A liveness check, not a timing one: the checkpointer ticks every
	// 200 ms; 10 s means it is not running.
	deadline := time.Now().Add(10 * time.Second)
	for db.CheckpointedPages(d) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no background checkpoint in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var n int
	if err := d.R(ctx).QueryRowContext(ctx, `select count(*) from api_tokens`).Scan(&n); err != nil || n != 50 {
		t.Fatalf("%d tokens, %v", n, err)
	}
}
