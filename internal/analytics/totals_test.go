package analytics_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"affiliated/internal/analytics"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

// TestAffiliateTotalsMatchRawTables: the per-affiliate figures of a list
// page equal sums over the raw tables, for ranges that start and end
// inside UTC days (edge hours), over the DST change, in a half-hour zone,
// within a single day, and narrowed to a program.
func TestAffiliateTotalsMatchRawTables(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		r := rand.New(rand.NewPCG(5, 6))
		clicks := w.writeClicks(r, 2000, time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC))
		w.writeSales(r, 150, clicks)
		rawClicks, rawOrders := w.raw()
		ny, kolkata := zone(t, "America/New_York"), zone(t, "Asia/Kolkata")
		var ids []int64
		for _, a := range w.affs {
			ids = append(ids, a.ID)
		}
		ids = append(ids, 987654) // no such affiliate: zeros
		ctx := context.Background()
		for _, tc := range []struct {
			name string
			q    analytics.Query
		}{
			{"NY days over the change", analytics.Query{Loc: ny,
				From: time.Date(2026, 10, 24, 0, 0, 0, 0, ny), To: time.Date(2026, 11, 3, 0, 0, 0, 0, ny)}},
			{"Kolkata days", analytics.Query{Loc: kolkata,
				From: time.Date(2026, 10, 22, 0, 0, 0, 0, kolkata), To: time.Date(2026, 10, 30, 0, 0, 0, 0, kolkata)}},
			{"one NY day, no whole UTC day inside", analytics.Query{Loc: ny,
				From: time.Date(2026, 10, 27, 0, 0, 0, 0, ny), To: time.Date(2026, 10, 28, 0, 0, 0, 0, ny)}},
			{"UTC, one program", analytics.Query{Loc: time.UTC, ProgramID: w.prog[1].ID,
				From: time.Date(2026, 10, 18, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)}},
		} {
			got, err := w.svc.AffiliateTotals(ctx, tc.q, ids)
			if err != nil {
				t.Fatal(err)
			}
			// The range is whole days in the zone (the requested one here:
			// midnight to midnight), summed over whole UTC hours: in a
			// half-hour zone, its ends move up to the next hour (see the
			// package documentation).
			ceil := func(t time.Time) time.Time {
				if h := t.Truncate(time.Hour); !h.Equal(t) {
					return h.Add(time.Hour)
				}
				return t
			}
			from, to := ceil(tc.q.From), ceil(tc.q.To)
			want := map[int64]*sums{}
			for _, id := range ids {
				want[id] = &sums{}
			}
			for _, c := range rawClicks {
				if !c.at.Before(from) && c.at.Before(to) && (tc.q.ProgramID == 0 || c.program == tc.q.ProgramID) {
					want[c.affiliate].addClick(c)
				}
			}
			for _, o := range rawOrders {
				if !o.at.Before(from) && o.at.Before(to) && (tc.q.ProgramID == 0 || o.program == tc.q.ProgramID) {
					want[o.affiliate].addOrder(o)
				}
			}
			if len(got) != len(ids) {
				t.Errorf("%s: %d affiliates answered, want %d", tc.name, len(got), len(ids))
			}
			for _, id := range ids {
				s, ok := got[id]
				if !ok {
					t.Errorf("%s: affiliate %d missing", tc.name, id)
					continue
				}
				want[id].check(t, tc.name, s)
			}
		}
	})
}
