package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

func TestMigrateIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		applied, err := d.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second migrate applied %v", applied)
		}
	})
}

func TestTXCommitRollbackAndTime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := db.Now()
		insert := func(ctx context.Context, name string) error {
			_, err := d.Q(ctx).ExecContext(ctx, `insert into api_tokens (name, hash, prefix, created_at) values ($1, $2, $3, $4)`,
				name, "h-"+name, "p", now)
			return err
		}
		boom := errors.New("boom")
		err := d.TX(ctx, func(ctx context.Context) error {
			if err := insert(ctx, "a"); err != nil {
				return err
			}
			// A nested TX joins the outer one, so the rollback undoes it too.
			if err := d.TX(ctx, func(ctx context.Context) error { return insert(ctx, "b") }); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("TX error = %v", err)
		}
		if err := d.TX(ctx, func(ctx context.Context) error { return insert(ctx, "c") }); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.R(ctx).QueryRowContext(ctx, `select count(*) from api_tokens`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("rows = %d, want 1 (rollback must undo the nested insert)", n)
		}
		var got time.Time
		if err := d.R(ctx).QueryRowContext(ctx, `select created_at from api_tokens where name = $1`, "c").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(now) {
			t.Fatalf("time round trip: wrote %v, read %v (%v)", now, got, got.Location())
		}
		var m int
		if err := d.R(ctx).QueryRowContext(ctx, `select count(*) from api_tokens where created_at >= $1 and created_at < $2`,
			now.Add(-time.Microsecond), now.Add(time.Microsecond)).Scan(&m); err != nil || m != 1 {
			t.Fatalf("time range compare: n=%d err=%v", m, err)
		}
		_, err = d.Q(ctx).ExecContext(ctx, `insert into api_tokens (name, hash, prefix, created_at) values ($1, $2, $3, $4)`,
			"c", "other-hash", "p", now)
		if !db.IsUnique(err) {
			t.Fatalf("duplicate insert: %v, want unique violation", err)
		}
		if col := db.UniqueColumn(err); col != "api_tokens_name" && col != "name" {
			t.Fatalf("UniqueColumn = %q", col)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := db.Open(ctx, ""); err == nil {
		t.Fatal("empty DSN accepted")
	}
	if _, err := db.Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("unreachable PostgreSQL accepted")
	}
	if _, err := db.Open(ctx, "/nonexistent-dir/x/y.db"); err == nil {
		t.Fatal("SQLite in a missing directory accepted")
	}
}
