package analytics_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"affiliated/internal/analytics"
	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/tracking"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// sums are the figures a report should show, computed from the raw tables.
type sums struct {
	clicks, uniques, bots, conversions, renewals int64
	money                                        map[string][3]int64 // gross, net, commission
}

func (s *sums) addClick(c rawClick) {
	switch {
	case c.bot:
		s.bots++
	case c.unique:
		s.clicks++
		s.uniques++
	default:
		s.clicks++
	}
}

func (s *sums) addOrder(o rawOrder) {
	if o.kind == "renewal" {
		s.renewals++
	} else {
		s.conversions++
	}
	if s.money == nil {
		s.money = map[string][3]int64{}
	}
	m := s.money[o.currency]
	m[0] += o.gross
	m[1] += o.net
	m[2] += o.commission
	s.money[o.currency] = m
}

// check compares reported stats with sums.
func (s *sums) check(t *testing.T, what string, got analytics.Stats) {
	t.Helper()
	if got.Clicks != s.clicks || got.Uniques != s.uniques || got.Bots != s.bots ||
		got.Conversions != s.conversions || got.Renewals != s.renewals {
		t.Errorf("%s: clicks/uniques/bots/conversions/renewals = %d/%d/%d/%d/%d, raw tables say %d/%d/%d/%d/%d", what,
			got.Clicks, got.Uniques, got.Bots, got.Conversions, got.Renewals,
			s.clicks, s.uniques, s.bots, s.conversions, s.renewals)
	}
	if len(got.Money) != len(s.money) {
		t.Errorf("%s: currencies %v, raw tables say %v", what, got.Money, s.money)
	}
	for cur, want := range s.money {
		m := got.Money[cur]
		if m == nil || m.Gross != want[0] || m.Net != want[1] || m.Commission != want[2] {
			t.Errorf("%s: %s = %+v, raw tables say gross/net/commission %v", what, cur, m, want)
			continue
		}
		if e := analytics.EPC(want[2], s.clicks, cur); m.EPC != e {
			t.Errorf("%s: %s EPC %s, want %s", what, cur, m.EPC, e)
		}
	}
}

// keyOf names the interval that holds t, by the calendar of loc.
func keyOf(t time.Time, interval string, loc *time.Location) string {
	switch interval {
	case analytics.Hour:
		return t.UTC().Truncate(time.Hour).Format(time.RFC3339)
	case analytics.Month:
		return t.In(loc).Format("2006-01")
	}
	return t.In(loc).Format("2006-01-02")
}

func TestOverviewMatchesRawTables(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		r := rand.New(rand.NewPCG(1, 2))
		// Around both autumn DST changes: Europe/Rome on 2026-10-25, America/New_York on 2026-11-01.
		clicks := w.writeClicks(r, 4000, time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC))
		w.writeSales(r, 300, clicks)
		rawClicks, rawOrders := w.raw()

		ny, rome, kolkata := zone(t, "America/New_York"), zone(t, "Europe/Rome"), zone(t, "Asia/Kolkata")
		p0, p1 := w.prog[0].ID, w.prog[1].ID
		cases := []struct {
			name     string
			q        analytics.Query
			points   int       // 0: not checked
			from, to time.Time // the aligned range expected
		}{
			{name: "NY days over the change, from mid-day", q: analytics.Query{Interval: "day", Loc: ny,
				From: time.Date(2026, 10, 28, 15, 0, 0, 0, ny), To: time.Date(2026, 11, 4, 0, 0, 0, 0, ny)},
				points: 7, from: time.Date(2026, 10, 28, 0, 0, 0, 0, ny), to: time.Date(2026, 11, 4, 0, 0, 0, 0, ny)},
			{name: "NY hours of the 25-hour day", q: analytics.Query{Interval: "hour", Loc: ny,
				From: time.Date(2026, 11, 1, 0, 0, 0, 0, ny), To: time.Date(2026, 11, 2, 0, 0, 0, 0, ny)}, points: 25},
			{name: "Rome hours of the 25-hour day, one program", q: analytics.Query{Interval: "hour", Loc: rome, ProgramID: p0,
				From: time.Date(2026, 10, 25, 0, 0, 0, 0, rome), To: time.Date(2026, 10, 26, 0, 0, 0, 0, rome)}, points: 25},
			{name: "Rome days, other program", q: analytics.Query{Loc: rome, ProgramID: p1,
				From: time.Date(2026, 10, 19, 0, 0, 0, 0, rome), To: time.Date(2026, 11, 6, 0, 0, 0, 0, rome)}, points: 18},
			{name: "Rome months, one affiliate", q: analytics.Query{Interval: "month", Loc: rome, AffiliateID: w.affs[1].ID,
				From: time.Date(2026, 10, 10, 0, 0, 0, 0, rome), To: time.Date(2026, 11, 2, 0, 0, 0, 0, rome)},
				points: 2, from: time.Date(2026, 10, 1, 0, 0, 0, 0, rome), to: time.Date(2026, 12, 1, 0, 0, 0, 0, rome)},
			{name: "NY days, affiliate and its program", q: analytics.Query{Interval: "day", Loc: ny, ProgramID: p0, AffiliateID: w.affs[3].ID,
				From: time.Date(2026, 10, 20, 0, 0, 0, 0, ny), To: time.Date(2026, 11, 5, 0, 0, 0, 0, ny)}},
			{name: "affiliate with the wrong program: nothing", q: analytics.Query{Interval: "day", Loc: ny, ProgramID: p1, AffiliateID: w.affs[3].ID,
				From: time.Date(2026, 10, 20, 0, 0, 0, 0, ny), To: time.Date(2026, 11, 5, 0, 0, 0, 0, ny)}},
			{name: "NY hours of the 25-hour day, one affiliate", q: analytics.Query{Interval: "hour", Loc: ny, AffiliateID: w.affs[0].ID,
				From: time.Date(2026, 11, 1, 0, 0, 0, 0, ny), To: time.Date(2026, 11, 2, 0, 0, 0, 0, ny)}, points: 25},
			{name: "Rome days over the change, one affiliate of the other program", q: analytics.Query{Loc: rome, AffiliateID: w.affs[5].ID,
				From: time.Date(2026, 10, 19, 0, 0, 0, 0, rome), To: time.Date(2026, 11, 6, 0, 0, 0, 0, rome)}, points: 18},
			{name: "Kolkata days, one affiliate", q: analytics.Query{Loc: kolkata, AffiliateID: w.affs[2].ID,
				From: time.Date(2026, 10, 21, 0, 0, 0, 0, kolkata), To: time.Date(2026, 11, 3, 0, 0, 0, 0, kolkata)}, points: 13},
			{name: "UTC, everything", q: analytics.Query{
				From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, points: 61},
			{name: "Kolkata days (half-hour offset)", q: analytics.Query{Loc: kolkata,
				From: time.Date(2026, 10, 21, 0, 0, 0, 0, kolkata), To: time.Date(2026, 11, 3, 0, 0, 0, 0, kolkata)}, points: 13},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				o, err := w.svc.Overview(context.Background(), tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if tc.points != 0 && len(o.Points) != tc.points {
					t.Errorf("%d points, want %d", len(o.Points), tc.points)
				}
				if !tc.from.IsZero() && (!o.From.Equal(tc.from) || !o.To.Equal(tc.to)) {
					t.Errorf("range [%s, %s), want [%s, %s)", o.From, o.To, tc.from, tc.to)
				}
				loc := tc.q.Loc
				if loc == nil {
					loc = time.UTC
				}
				interval := o.Interval
				// The hours summed: the range itself in whole-hour zones;
				// Kolkata's is documented to start at the next whole hour.
				start, end := o.From, o.To
				if loc == kolkata {
					start, end = start.Add(30*time.Minute), end.Add(30*time.Minute)
				}
				in := func(at time.Time, aff, prog int64) bool {
					return !at.Before(start) && at.Before(end) &&
						(tc.q.AffiliateID == 0 || aff == tc.q.AffiliateID) && (tc.q.ProgramID == 0 || prog == tc.q.ProgramID)
				}
				var total sums
				byKey := map[string]*sums{}
				at := func(t time.Time) *sums {
					k := keyOf(t, interval, loc)
					if loc == kolkata { // an hour counts in the day it starts in
						k = keyOf(t.Truncate(time.Hour), interval, loc)
					}
					if byKey[k] == nil {
						byKey[k] = &sums{}
					}
					return byKey[k]
				}
				for _, c := range rawClicks {
					if in(c.at, c.affiliate, c.program) {
						total.addClick(c)
						at(c.at).addClick(c)
					}
				}
				for _, ord := range rawOrders {
					if in(ord.at, ord.affiliate, ord.program) {
						total.addOrder(ord)
						at(ord.at).addOrder(ord)
					}
				}
				if total.clicks == 0 && tc.q.ProgramID != p1 {
					t.Fatal("the case selects no clicks: it tests nothing")
				}
				total.check(t, "totals", o.Totals)
				seen := 0
				for _, p := range o.Points {
					k := keyOf(p.Start, interval, loc)
					if s := byKey[k]; s != nil {
						s.check(t, k, p.Stats)
						seen++
					} else {
						(&sums{}).check(t, k, p.Stats)
					}
				}
				if seen != len(byKey) {
					t.Errorf("raw rows fall in %d intervals, the series shows %d of them", len(byKey), seen)
				}
			})
		}
	})
}

func TestTopAffiliatesAndBreakdowns(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		r := rand.New(rand.NewPCG(3, 4))
		clicks := w.writeClicks(r, 2000, time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC))
		w.writeSales(r, 150, clicks)
		rawClicks, rawOrders := w.raw()
		ny := zone(t, "America/New_York")
		q := analytics.Query{Loc: ny, From: time.Date(2026, 10, 24, 0, 0, 0, 0, ny), To: time.Date(2026, 11, 2, 0, 0, 0, 0, ny)}
		ctx := context.Background()

		top, err := w.svc.TopAffiliates(ctx, analytics.TopQuery{Query: q, By: analytics.ByRevenue, Currency: "usd", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if top.Currency != "USD" {
			t.Errorf("ranked by %q, want USD", top.Currency)
		}
		by := map[int64]*sums{}
		for _, c := range rawClicks {
			if !c.at.Before(top.From) && c.at.Before(top.To) {
				if by[c.affiliate] == nil {
					by[c.affiliate] = &sums{}
				}
				by[c.affiliate].addClick(c)
			}
		}
		for _, o := range rawOrders {
			if !o.at.Before(top.From) && o.at.Before(top.To) {
				if by[o.affiliate] == nil {
					by[o.affiliate] = &sums{}
				}
				by[o.affiliate].addOrder(o)
			}
		}
		if len(top.Data) != len(by) {
			t.Fatalf("%d affiliates listed, %d have clicks or sales", len(top.Data), len(by))
		}
		for i, a := range top.Data {
			by[a.AffiliateID].check(t, a.Name, a.Stats)
			if a.Code == "" || a.Email == "" {
				t.Errorf("affiliate %d listed without its code or email", a.AffiliateID)
			}
			if i > 0 {
				prev, cur := top.Data[i-1].Money["USD"], a.Money["USD"]
				if prev != nil && cur != nil && prev.Net < cur.Net {
					t.Errorf("not ranked by USD revenue: %d before %d", prev.Net, cur.Net)
				}
			}
		}
		byClicks, err := w.svc.TopAffiliates(ctx, analytics.TopQuery{Query: q, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if byClicks.By != analytics.ByClicks || len(byClicks.Data) != 2 {
			t.Fatalf("top 2 by clicks: %+v", byClicks)
		}
		for _, a := range byClicks.Data {
			for id, s := range by {
				if s.clicks > a.Clicks && id != byClicks.Data[0].AffiliateID {
					t.Errorf("affiliate %d (%d clicks) is missing from the top 2 by clicks %+v", id, s.clicks, byClicks.Data)
				}
			}
		}

		// Breakdowns cover whole UTC days; their rows add up to the human
		// clicks of those days, computed here from the raw log.
		for _, dim := range []string{analytics.DimReferrerHost, analytics.DimLandingPath, analytics.DimDevice} {
			rep, err := w.svc.Breakdown(ctx, q, dim, analytics.MaxLimit)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.From.Equal(time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC)) || !rep.To.Equal(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("%s: days [%s, %s), want the UTC days covering the range", dim, rep.From, rep.To)
			}
			want := map[string]int64{}
			var total int64
			for _, c := range rawClicks {
				if c.bot || c.at.Before(rep.From) || !c.at.Before(rep.To) {
					continue
				}
				ref, landing, device := tracking.ClickDims(c.c)
				v := map[string]string{analytics.DimReferrerHost: ref, analytics.DimLandingPath: landing, analytics.DimDevice: device}[dim]
				want[v]++
				total++
			}
			if rep.Total != total || rep.Other != 0 || len(rep.Data) != len(want) {
				t.Errorf("%s: total %d other %d with %d values, raw log says %d with %d values", dim, rep.Total, rep.Other, len(rep.Data), total, len(want))
			}
			for i, row := range rep.Data {
				if row.Clicks != want[row.Value] {
					t.Errorf("%s %q: %d clicks, raw log says %d", dim, row.Value, row.Clicks, want[row.Value])
				}
				if i > 0 && rep.Data[i-1].Clicks < row.Clicks {
					t.Errorf("%s: not sorted by clicks", dim)
				}
			}
			small, err := w.svc.Breakdown(ctx, q, dim, 2)
			if err != nil {
				t.Fatal(err)
			}
			sum := small.Other
			for i, row := range small.Data {
				sum += row.Clicks
				if row != rep.Data[i] {
					t.Errorf("%s limit 2: row %d is %+v, the full report's is %+v", dim, i, row, rep.Data[i])
				}
			}
			if len(small.Data) != min(2, len(want)) || sum != total || small.Total != total {
				t.Errorf("%s limit 2: %d rows adding up with other to %d, want %d rows and %d", dim, len(small.Data), sum, min(2, len(want)), total)
			}
		}
	})
}

func TestQueryValidation(t *testing.T) {
	d := dbtest.SQLite(t)
	svc := &analytics.Service{DB: d}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		q     analytics.Query
		field string
	}{
		{"unknown interval", analytics.Query{From: from, To: from.Add(time.Hour), Interval: "week"}, "interval"},
		{"empty range", analytics.Query{From: from, To: from}, "to"},
		{"backwards", analytics.Query{From: from, To: from.Add(-time.Hour)}, "to"},
		{"no from", analytics.Query{To: from}, "from"},
		{"too many points", analytics.Query{From: from, To: from.AddDate(2, 0, 0), Interval: "hour"}, "interval"},
	}
	for _, tc := range cases {
		_, err := svc.Overview(context.Background(), tc.q)
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindInvalid || e.Field != tc.field {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	if _, err := svc.Breakdown(context.Background(), analytics.Query{From: from, To: from.Add(time.Hour)}, "browser", 0); !apperr.Is(err, apperr.KindInvalid) {
		t.Errorf("unknown dimension: %v", err)
	}
	if _, err := svc.TopAffiliates(context.Background(), analytics.TopQuery{Query: analytics.Query{From: from, To: from.Add(time.Hour)}, By: "mood"}); !apperr.Is(err, apperr.KindInvalid) {
		t.Errorf("unknown order: %v", err)
	}
	// A long range is fine for a report without a series.
	if _, err := svc.TopAffiliates(context.Background(), analytics.TopQuery{Query: analytics.Query{From: from, To: from.AddDate(5, 0, 0), Interval: "hour"}}); err != nil {
		t.Errorf("five years of top affiliates: %v", err)
	}
}

func TestEPC(t *testing.T) {
	cases := []struct {
		commission, clicks int64
		currency, want     string
	}{
		{1234, 100, "USD", "0.1234"},
		{1, 3, "USD", "0.0033"},
		{2, 3, "USD", "0.0067"},
		{1, 200, "USD", "0.0001"}, // 0.00005 rounds half up
		{1, 201, "USD", "0.0000"},
		{-2, 3, "USD", "-0.0067"},
		{-1, 201, "USD", "0.0000"},
		{1000, 3, "JPY", "333.3333"},
		{1000, 1, "BHD", "1.0000"},
		{5, 0, "USD", "0.0000"},
		{9_000_000_000_000_000_000, 1, "USD", "90000000000000000.0000"},
	}
	for _, tc := range cases {
		if got := analytics.EPC(tc.commission, tc.clicks, tc.currency); got != tc.want {
			t.Errorf("EPC(%d, %d, %s) = %s, want %s", tc.commission, tc.clicks, tc.currency, got, tc.want)
		}
	}
}

// TestRollupsMatchRawTables checks the rollups kept by the click writer and
// by the triggers on orders and commissions against the raw tables, row by
// row, after sales, refunds, renewals, a refund before its sale (the order
// moves), an attribution by hand and a rejected commission.
func TestRollupsMatchRawTables(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		r := rand.New(rand.NewPCG(5, 6))
		clicks := w.writeClicks(r, 1500, time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC))
		w.writeSales(r, 200, clicks)
		rawClicks, rawOrders := w.raw()
		ctx := context.Background()
		var late int64
		if err := d.R(ctx).QueryRowContext(ctx, `select count(*) from orders where order_ref in ('late', 'manual') and affiliate_id is not null`).Scan(&late); err != nil || late != 2 {
			t.Fatalf("the moved and the hand-attributed orders are not attributed: %d, %v", late, err)
		}
		day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
		week := func(t time.Time) time.Time { // its Monday
			d := day(t)
			return d.AddDate(0, 0, -(int(d.Weekday())+6)%7)
		}
		type sk struct {
			a, p           int64
			t              time.Time
			currency, kind string
		}
		want := map[string]map[sk][4]int64{"sale_hours": {}, "sale_days": {}, "sale_affiliate_hours": {},
			"sale_program_days": {}, "sale_affiliate_weeks": {}, "click_program_hours": {}, "click_days": {}, "click_program_dims": {}}
		add := func(table string, k sk, v [4]int64) {
			cur := want[table][k]
			for i := range v {
				cur[i] += v[i]
			}
			want[table][k] = cur
		}
		for _, o := range rawOrders {
			v := [4]int64{1, o.gross, o.net, o.commission}
			add("sale_hours", sk{0, o.program, o.at.Truncate(time.Hour), o.currency, o.kind}, v)
			add("sale_days", sk{o.affiliate, o.program, day(o.at), o.currency, o.kind}, v)
			add("sale_affiliate_hours", sk{o.affiliate, o.program, o.at.Truncate(time.Hour), o.currency, o.kind}, v)
			add("sale_program_days", sk{0, o.program, day(o.at), o.currency, o.kind}, v)
			add("sale_affiliate_weeks", sk{o.affiliate, o.program, week(o.at), o.currency, o.kind}, v)
		}
		for _, c := range rawClicks {
			var s sums
			s.addClick(c)
			v := [4]int64{s.clicks, s.uniques, s.bots, 0}
			add("click_program_hours", sk{0, c.program, c.at.Truncate(time.Hour), "", ""}, v)
			add("click_days", sk{c.affiliate, c.program, day(c.at), "", ""}, v)
			if !c.bot { // dimensions count human clicks: currency and kind hold the dimension and its value
				ref, landing, device := tracking.ClickDims(c.c)
				for _, dv := range [][2]string{{analytics.DimReferrerHost, ref}, {analytics.DimLandingPath, landing}, {analytics.DimDevice, device}} {
					add("click_program_dims", sk{0, c.program, day(c.at), dv[0], dv[1]}, [4]int64{1, 0, 0, 0})
				}
			}
		}
		queries := map[string]string{
			"sale_hours": `select 0, program_id, hour, currency, kind, orders, gross, net, commission from sale_hours`,
			"sale_days":  `select affiliate_id, program_id, day, currency, kind, orders, gross, net, commission from sale_days`,
			"sale_affiliate_hours": `select affiliate_id, program_id, hour, currency, kind, orders, gross, net, commission
				from sale_affiliate_hours`,
			"sale_program_days": `select 0, program_id, day, currency, kind, orders, gross, net, commission from sale_program_days`,
			"sale_affiliate_weeks": `select affiliate_id, program_id, week, currency, kind, orders, gross, net, commission
				from sale_affiliate_weeks`,
			"click_program_hours": `select 0, program_id, hour, '', '', clicks, uniques, bots, 0 from click_program_hours`,
			"click_days":          `select affiliate_id, program_id, day, '', '', clicks, uniques, bots, 0 from click_days`,
			"click_program_dims":  `select 0, program_id, day, dim, value, clicks, 0, 0, 0 from click_program_dims`,
		}
		for table, q := range queries {
			rows, err := d.R(ctx).QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got := map[sk][4]int64{}
			for rows.Next() {
				var k sk
				var v [4]int64
				if err := rows.Scan(&k.a, &k.p, &k.t, &k.currency, &k.kind, &v[0], &v[1], &v[2], &v[3]); err != nil {
					t.Fatal(err)
				}
				k.t = k.t.UTC()
				if v != ([4]int64{}) { // rows that orders moved away from stay at zero
					got[k] = v
				}
			}
			rows.Close()
			if len(got) != len(want[table]) {
				t.Errorf("%s: %d rows, the raw tables make %d", table, len(got), len(want[table]))
			}
			for k, v := range want[table] {
				if got[k] != v {
					t.Errorf("%s %+v: %v, the raw tables say %v", table, k, got[k], v)
				}
			}
		}
	})
}
