package main

import (
	"context"
	"strings"
	"testing"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

func TestAdminCommand(t *testing.T) {
	for engine, dsn := range dbtest.DSNs(t) {
		t.Run(engine, func(t *testing.T) {
			env := map[string]string{"AFFILIATED_DB": dsn}
			r := runCmd(t, env, "admin", "add", "Boss@Example.com")
			if r.code != 0 || !strings.Contains(r.stdout, "owner boss@example.com added") {
				t.Fatalf("admin add: %+v", r)
			}
			// Flags before or after the address.
			if r := runCmd(t, nil, "admin", "add", "partner@example.com", "--db", dsn); r.code != 0 {
				t.Fatalf("admin add EMAIL --db: %+v", r)
			}
			if r := runCmd(t, env, "admin", "add", "boss@example.com"); r.code != 1 || !strings.Contains(r.stderr, "already an owner") {
				t.Fatalf("duplicate owner: %+v", r)
			}
			if r := runCmd(t, env, "admin", "add", "not-an-email"); r.code != 1 || !strings.Contains(r.stderr, "email") {
				t.Fatalf("bad email: %+v", r)
			}
			r = runCmd(t, env, "admin", "list")
			if r.code != 0 || !strings.Contains(r.stdout, "boss@example.com") || !strings.Contains(r.stdout, "partner@example.com") {
				t.Fatalf("admin list: %+v", r)
			}
			for _, args := range [][]string{{"admin"}, {"admin", "add"}, {"admin", "remove", "x@example.com"}, {"admin", "list", "extra"}} {
				wantUsageError(t, runCmd(t, env, args...), "admin add EMAIL")
			}
			// The owner can sign in: the console's lookup finds them, and
			// the audit log says who created them.
			d, err := db.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			owners := &auth.Owners{DB: d, Audit: &audit.Log{DB: d}}
			if _, ok, err := owners.Lookup(context.Background(), "BOSS@example.com"); !ok || err != nil {
				t.Fatalf("Lookup = %v, %v", ok, err)
			}
			entries, err := (&audit.Log{DB: d}).List(context.Background(), 0, 10)
			if err != nil || len(entries) != 2 || entries[0].Actor != "cli" || entries[0].Action != "owner.create" {
				t.Fatalf("audit: %+v, %v", entries, err)
			}
		})
	}
}
