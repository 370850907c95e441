package admin_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

// BenchmarkPages renders the console's heaviest pages, signed in, on a
// database filled by `affiliated demo` (AFFILIATED_BENCH_DB, a DSN; the
// benchmark is skipped without it). For a CPU profile of the pages
// without HTTP load tools:
//
//	AFFILIATED_BENCH_DB=/tmp/demo.db go test -run '^$' -bench Pages -cpuprofile cpu.out ./internal/ui/admin/
//
// scripts/bench-dashboard.sh measures the same pages' latency over HTTP.
func BenchmarkPages(b *testing.B) {
	d := dbtest.Filled(b)
	ctx := context.Background()
	// servertest.Start creates a token named "test": revoke an earlier run's.
	if _, err := d.Q(ctx).ExecContext(ctx, `update api_tokens set revoked_at = $1 where name = 'test' and revoked_at is null`, db.Time(time.Now())); err != nil {
		b.Fatal(err)
	}
	app := servertest.Start(b, d, "--workers=false")
	owners := &auth.Owners{DB: d, Audit: app.Audit}
	list, err := owners.List(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var owner *auth.Owner
	if len(list) > 0 {
		owner = &list[0]
	} else if owner, err = owners.Add(ctx, "bench@example.com"); err != nil {
		b.Fatal(err)
	}
	token, _, err := (&auth.Sessions{DB: d}).Create(ctx, auth.KindOwner, owner.ID, "bench", "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct{ name, path string }{
		{"overview-30d", "/admin/?range=30&tz=America/New_York"},
		{"overview-90d", "/admin/?range=90&tz=America/New_York"},
		{"affiliate-30d", "/admin/affiliates/1?range=30&tz=America/New_York"},
		{"affiliate-90d", "/admin/affiliates/1?range=90&tz=America/New_York"},
		{"affiliates-30d", "/admin/affiliates?range=30&tz=America/New_York"},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				req, err := http.NewRequest("GET", app.URL+p.path, nil)
				if err != nil {
					b.Fatal(err)
				}
				req.AddCookie(&http.Cookie{Name: "aff_admin", Value: token})
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d", p.path, res.StatusCode)
				}
			}
		})
	}
}
