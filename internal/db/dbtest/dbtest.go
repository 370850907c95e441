// Package dbtest gives each test a fresh, migrated database: always SQLite,
// and PostgreSQL too when AFFILIATED_TEST_POSTGRES holds a DSN. The
// PostgreSQL database is created with a unique name and dropped afterwards.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"affiliated/internal/db"
)

// EnvPostgres names the variable holding the PostgreSQL DSN for tests.
const EnvPostgres = "AFFILIATED_TEST_POSTGRES"

// Each runs fn as a subtest per engine: "sqlite", and "postgres" when
// AFFILIATED_TEST_POSTGRES is set. A PostgreSQL that is configured but
// unreachable fails the test: it never turns into a skip.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	if os.Getenv(EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	}
}

// EachReplicas is Each with two handles on one fresh database, as two
// servers sharing it would hold: each has its own pools and its own
// GroupTX queue, so their transactions really run at the same time.
func EachReplicas(t *testing.T, fn func(t *testing.T, a, b *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "test.db")
		a := open(t, path)
		fn(t, a, open(t, path))
	})
	if os.Getenv(EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) {
			dsn := newPostgresDB(t)
			a := open(t, dsn)
			fn(t, a, open(t, dsn))
		})
	}
}

// DSNs returns a fresh, empty database DSN per engine (not migrated: the
// binary under test does that; PostgreSQL ones are dropped at cleanup), for
// tests that start the real binary.
func DSNs(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{"sqlite": filepath.Join(t.TempDir(), "affiliated.db")}
	if os.Getenv(EnvPostgres) != "" {
		out["postgres"] = newPostgresDB(t)
	}
	return out
}

// SQLite returns a migrated SQLite database in a temporary directory.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "test.db"))
}

// Postgres returns a migrated, freshly created PostgreSQL database.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	return open(t, newPostgresDB(t))
}

func open(t testing.TB, dsn string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}

func newPostgresDB(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Fatalf("%s is not set", EnvPostgres)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx := context.Background()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("%s is set but PostgreSQL cannot be reached: %v", EnvPostgres, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "aff_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "create database "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "drop database if exists "+name+" with (force)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// EnvBench names the variable holding the DSN of a filled database (a
// copy of an `affiliated demo` database) for benchmarks of reads at scale.
const EnvBench = "AFFILIATED_BENCH_DB"

// Filled opens and migrates the database AFFILIATED_BENCH_DB names, closed
// when b ends, or skips b when it is not set.
func Filled(b testing.TB) *db.DB {
	b.Helper()
	dsn := os.Getenv(EnvBench)
	if dsn == "" {
		b.Skip(EnvBench + " is not set")
	}
	return open(b, dsn)
}
