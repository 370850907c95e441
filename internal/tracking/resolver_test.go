package tracking_test

import (
	"context"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

func TestResolver(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.prog.Attribution, f.prog.CookieDays, f.prog.FallbackURL = "last", 7, "https://shop.example.com/closed"
		f.prog.AllowedHosts = []string{"blog.example.com"}
		if err := f.store.UpdateProgram(ctx, f.prog); err != nil {
			t.Fatal(err)
		}
		r := &tracking.Resolver{Programs: f.store, TTL: time.Hour}
		f.store.Changed = r.Invalidate

		got, err := r.Resolve(ctx, "ann")
		if err != nil || got == nil {
			t.Fatalf("Resolve(ann) = %v, %v", got, err)
		}
		if got.AffiliateID != f.ann.ID || got.ProgramID != f.prog.ID || !got.Active || !got.LastTouch ||
			got.CookieDays != 7 || got.FallbackURL != "https://shop.example.com/closed" ||
			got.Link.Destination != "https://shop.example.com/" || got.Link.Code != "ann" || got.Link.Program != "shop" ||
			len(got.Link.AllowedHosts) != 2 || got.Link.AllowedHosts[1] != "blog.example.com" {
			t.Errorf("target %+v", got)
		}
		if miss, err := r.Resolve(ctx, "nobody"); miss != nil || err != nil {
			t.Errorf("unknown code: %v, %v; want nil, nil", miss, err)
		}

		// Cached: a change behind the store's back is not seen until Invalidate.
		if _, err := d.Q(ctx).ExecContext(ctx, "update affiliates set status = 'suspended' where id = $1", f.ann.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := r.Resolve(ctx, "ann"); got == nil || !got.Active {
			t.Errorf("within the TTL, the cached target changed: %+v", got)
		}
		r.Invalidate()
		if got, _ := r.Resolve(ctx, "ann"); got == nil || got.Active {
			t.Errorf("after Invalidate: %+v, want the suspended affiliate", got)
		}
		// A change through the store invalidates by itself.
		f.ann.Status = program.StatusActive
		if err := f.store.UpdateAffiliate(ctx, f.ann); err != nil {
			t.Fatal(err)
		}
		if got, _ := r.Resolve(ctx, "ann"); got == nil || !got.Active {
			t.Errorf("after UpdateAffiliate: %+v, want active", got)
		}
	})
}

// TestResolverServesStale: a link that was resolved once keeps working
// when the database cannot answer, even past its TTL.
func TestResolverServesStale(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		// TTL 0: every entry is already stale, so each Resolve asks the database.
		r := &tracking.Resolver{Programs: f.store, TTL: 0, Timeout: 5 * time.Second}
		before, err := r.Resolve(ctx, "ann")
		if err != nil || before == nil {
			t.Fatalf("Resolve: %v, %v", before, err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		after, err := r.Resolve(ctx, "ann")
		if err != nil || after == nil || after.AffiliateID != before.AffiliateID || !after.Active {
			t.Errorf("database closed: %+v, %v; want the cached target", after, err)
		}
		if got, err := r.Resolve(ctx, "bob"); err == nil {
			t.Errorf("never-resolved code with the database closed: %+v, want an error", got)
		}
	})
}
