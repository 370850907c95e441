package analytics_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/tracking"
)

// An affiliate's stats (GET /api/v1/affiliates/{id}/stats, the portal's
// home) are its click series with ledger.AddSales: their sales must be
// the raw orders', each in the interval that holds it, after refunds,
// re-attributions and changed commissions, across DST changes and in a
// half-hour zone (where the orders themselves are read).
func TestAffiliateSalesSeriesMatchesRawOrders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		r := rand.New(rand.NewPCG(7, 8))
		clicks := w.writeClicks(r, 2000, time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC))
		w.writeSales(r, 300, clicks)
		_, rawOrders := w.raw()
		ny, rome, kolkata := zone(t, "America/New_York"), zone(t, "Europe/Rome"), zone(t, "Asia/Kolkata")
		stats := &tracking.Stats{DB: d}
		cases := []struct {
			name     string
			aff      int
			interval string
			loc      *time.Location
			from, to time.Time
		}{
			{"NY days over the change", 0, "day", ny, time.Date(2026, 10, 20, 0, 0, 0, 0, ny), time.Date(2026, 11, 6, 0, 0, 0, 0, ny)},
			{"NY hours of the 25-hour day", 1, "hour", ny, time.Date(2026, 11, 1, 0, 0, 0, 0, ny), time.Date(2026, 11, 2, 0, 0, 0, 0, ny)},
			{"Rome months", 3, "month", rome, time.Date(2026, 10, 10, 0, 0, 0, 0, rome), time.Date(2026, 11, 20, 0, 0, 0, 0, rome)},
			{"UTC days from mid-day", 4, "day", time.UTC, time.Date(2026, 10, 22, 13, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 7, 0, 0, 0, time.UTC)},
			{"Kolkata days (half-hour offset)", 5, "day", kolkata, time.Date(2026, 10, 21, 0, 0, 0, 0, kolkata), time.Date(2026, 11, 4, 0, 0, 0, 0, kolkata)},
			{"Kolkata hours", 0, "hour", kolkata, time.Date(2026, 10, 25, 0, 0, 0, 0, kolkata), time.Date(2026, 10, 27, 0, 0, 0, 0, kolkata)},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				aff := w.affs[tc.aff].ID
				s, err := stats.Series(ctx, tracking.SeriesQuery{AffiliateID: aff, From: tc.from, To: tc.to, Interval: tc.interval, Loc: tc.loc})
				if err != nil {
					t.Fatal(err)
				}
				if err := w.l.AddSales(ctx, s, aff, tc.loc); err != nil {
					t.Fatal(err)
				}
				type figures struct {
					conversions int64
					money       map[string][3]int64
				}
				add := func(f *figures, o rawOrder) {
					f.conversions++
					if f.money == nil {
						f.money = map[string][3]int64{}
					}
					m := f.money[o.currency]
					m[0], m[1], m[2] = m[0]+o.gross, m[1]+o.net, m[2]+o.commission
					f.money[o.currency] = m
				}
				var total figures
				byStart := map[int64]*figures{}
				for _, o := range rawOrders {
					if o.affiliate != aff || o.at.Before(s.From) || !o.at.Before(s.To) {
						continue
					}
					add(&total, o)
					k := tracking.Bucket(o.at, tc.interval, tc.loc).Unix()
					if byStart[k] == nil {
						byStart[k] = &figures{}
					}
					add(byStart[k], o)
				}
				if total.conversions == 0 {
					t.Fatal("the case selects no orders: it tests nothing")
				}
				check := func(what string, conversions int64, money map[string]*tracking.Amount, want *figures) {
					t.Helper()
					if want == nil {
						want = &figures{}
					}
					if conversions != want.conversions || len(money) != len(want.money) {
						t.Errorf("%s: %d conversions in %d currencies, raw orders say %d in %v", what, conversions, len(money), want.conversions, want.money)
						return
					}
					for cur, v := range want.money {
						if m := money[cur]; m == nil || [3]int64{m.Gross, m.Net, m.Commission} != v {
							t.Errorf("%s: %s = %+v, raw orders say gross/net/commission %v", what, cur, m, v)
						}
					}
				}
				check("totals", s.Totals.Conversions, s.Totals.Money, &total)
				seen := 0
				for _, p := range s.Points {
					if byStart[p.Start.Unix()] != nil {
						seen++
					}
					check(p.Start.String(), p.Conversions, p.Money, byStart[p.Start.Unix()])
				}
				if seen != len(byStart) {
					t.Errorf("raw orders fall in %d intervals, the series shows %d of them", len(byStart), seen)
				}
			})
		}
	})
}
