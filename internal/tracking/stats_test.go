package tracking_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// commit logs clicks through a writer and waits until all are committed.
func commit(t *testing.T, d *db.DB, clicks ...tracking.Click) {
	t.Helper()
	w, _, _ := newWriter(t, d, tracking.WriterConfig{})
	var dones []<-chan error
	for _, c := range clicks {
		done, err := w.Add(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		dones = append(dones, done)
	}
	waitAll(t, dones)
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// point is what the tests compare of a tracking.Point.
type point struct {
	start                 string // RFC 3339 in the series' zone
	clicks, uniques, bots int64
}

func points(s *tracking.Series, loc *time.Location) []point {
	var out []point
	for _, p := range s.Points {
		out = append(out, point{p.Start.In(loc).Format(time.RFC3339), p.Clicks, p.Uniques, p.Bots})
	}
	return out
}

// checkTotals fails unless the totals are the sums of the points.
func checkTotals(t *testing.T, s *tracking.Series) {
	t.Helper()
	var c, u, b int64
	for _, p := range s.Points {
		c, u, b = c+p.Clicks, u+p.Uniques, b+p.Bots
	}
	if s.Totals.Clicks != c || s.Totals.Uniques != u || s.Totals.Bots != b {
		t.Errorf("totals %+v, sums of points %d %d %d", s.Totals, c, u, b)
	}
}

func TestSeries(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		human := f.click(f.ann, utc("2026-10-30T10:15:00Z"))
		returning := f.click(f.ann, utc("2026-10-30T10:45:00Z"))
		returning.IsUnique = false
		bot := f.click(f.ann, utc("2026-10-30T23:59:59Z"))
		bot.IsBot = true
		commit(t, d, human, returning, bot,
			f.click(f.ann, utc("2026-10-31T00:00:00Z")),
			f.click(f.ann, utc("2026-11-15T12:00:00Z")),
			f.click(f.ann, utc("2026-12-01T00:30:00Z")),
			f.click(f.bob, utc("2026-10-30T10:20:00Z")), // another affiliate, same program
		)
		s := &tracking.Stats{DB: d}
		cases := []struct {
			name string
			q    tracking.SeriesQuery
			from string // aligned
			to   string
			want []point
		}{
			{"hour, aligned outwards", tracking.SeriesQuery{AffiliateID: f.ann.ID, Interval: "hour",
				From: utc("2026-10-30T09:30:00Z"), To: utc("2026-10-30T11:10:00Z")},
				"2026-10-30T09:00:00Z", "2026-10-30T12:00:00Z",
				[]point{{"2026-10-30T09:00:00Z", 0, 0, 0}, {"2026-10-30T10:00:00Z", 2, 1, 0}, {"2026-10-30T11:00:00Z", 0, 0, 0}}},
			{"day", tracking.SeriesQuery{AffiliateID: f.ann.ID, Interval: "day",
				From: utc("2026-10-30T00:00:00Z"), To: utc("2026-11-01T00:00:00Z")},
				"2026-10-30T00:00:00Z", "2026-11-01T00:00:00Z",
				[]point{{"2026-10-30T00:00:00Z", 2, 1, 1}, {"2026-10-31T00:00:00Z", 1, 1, 0}}},
			{"default interval is day", tracking.SeriesQuery{AffiliateID: f.ann.ID,
				From: utc("2026-10-31T00:00:00Z"), To: utc("2026-11-01T00:00:00Z")},
				"2026-10-31T00:00:00Z", "2026-11-01T00:00:00Z",
				[]point{{"2026-10-31T00:00:00Z", 1, 1, 0}}},
			{"month", tracking.SeriesQuery{AffiliateID: f.ann.ID, Interval: "month",
				From: utc("2026-10-15T00:00:00Z"), To: utc("2026-12-02T00:00:00Z")},
				"2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z",
				[]point{{"2026-10-01T00:00:00Z", 3, 2, 1}, {"2026-11-01T00:00:00Z", 1, 1, 0}, {"2026-12-01T00:00:00Z", 1, 1, 0}}},
			{"by program", tracking.SeriesQuery{ProgramID: f.prog.ID, Interval: "month",
				From: utc("2026-10-01T00:00:00Z"), To: utc("2026-11-01T00:00:00Z")},
				"2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z",
				[]point{{"2026-10-01T00:00:00Z", 4, 3, 1}}},
			{"everything", tracking.SeriesQuery{Interval: "day",
				From: utc("2026-10-30T00:00:00Z"), To: utc("2026-10-31T00:00:00Z")},
				"2026-10-30T00:00:00Z", "2026-10-31T00:00:00Z",
				[]point{{"2026-10-30T00:00:00Z", 3, 2, 1}}},
			{"empty range", tracking.SeriesQuery{AffiliateID: f.bob.ID, Interval: "day",
				From: utc("2027-01-01T00:00:00Z"), To: utc("2027-01-03T00:00:00Z")},
				"2027-01-01T00:00:00Z", "2027-01-03T00:00:00Z",
				[]point{{"2027-01-01T00:00:00Z", 0, 0, 0}, {"2027-01-02T00:00:00Z", 0, 0, 0}}},
		}
		for _, tc := range cases {
			got, err := s.Series(ctx, tc.q)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if g := points(got, time.UTC); !slices.Equal(g, tc.want) {
				t.Errorf("%s: points\n%v\nwant\n%v", tc.name, g, tc.want)
			}
			if !got.From.Equal(utc(tc.from)) || !got.To.Equal(utc(tc.to)) || got.TZ != "UTC" {
				t.Errorf("%s: range %v – %v (%s), want %s – %s", tc.name, got.From, got.To, got.TZ, tc.from, tc.to)
			}
			checkTotals(t, got)
		}
	})
}

// TestSeriesTimeZone: days and months follow the owner's zone across both
// daylight-saving changes of 2026 in New York (8 March: a 23-hour day;
// 1 November: a 25-hour day whose 1 AM hour happens twice).
func TestSeriesTimeZone(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	local := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02T15:04", s, ny)
		if err != nil {
			panic(err)
		}
		return tm
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		var clicks []tracking.Click
		for _, at := range []string{
			"2026-03-09T03:30:00Z", // 8 March 23:30 EDT
			"2026-03-09T04:30:00Z", // 9 March 00:30 EDT
			"2026-11-01T03:30:00Z", // 31 October 23:30 EDT
			"2026-11-01T04:30:00Z", // 1 November 00:30 EDT
			"2026-11-01T05:30:00Z", // 1 November 01:30 EDT
			"2026-11-01T06:30:00Z", // 1 November 01:30 EST, the second time
			"2026-11-02T04:30:00Z", // 1 November 23:30 EST
			"2026-11-02T05:30:00Z", // 2 November 00:30 EST
		} {
			clicks = append(clicks, f.click(f.ann, utc(at)))
		}
		commit(t, d, clicks...)
		s := &tracking.Stats{DB: d}
		cases := []struct {
			name string
			q    tracking.SeriesQuery
			want []point
		}{
			{"spring forward", tracking.SeriesQuery{Interval: "day", From: local("2026-03-08T00:00"), To: local("2026-03-10T00:00")},
				[]point{{"2026-03-08T00:00:00-05:00", 1, 1, 0}, {"2026-03-09T00:00:00-04:00", 1, 1, 0}}},
			{"fall back", tracking.SeriesQuery{Interval: "day", From: local("2026-10-31T00:00"), To: local("2026-11-03T00:00")},
				[]point{{"2026-10-31T00:00:00-04:00", 1, 1, 0}, {"2026-11-01T00:00:00-04:00", 4, 4, 0}, {"2026-11-02T00:00:00-05:00", 1, 1, 0}}},
			{"the night of fall back by hour", tracking.SeriesQuery{Interval: "hour", From: local("2026-11-01T00:00"), To: utc("2026-11-01T08:00:00Z")},
				[]point{{"2026-11-01T00:00:00-04:00", 1, 1, 0}, {"2026-11-01T01:00:00-04:00", 1, 1, 0},
					{"2026-11-01T01:00:00-05:00", 1, 1, 0}, {"2026-11-01T02:00:00-05:00", 0, 0, 0}}},
			{"months", tracking.SeriesQuery{Interval: "month", From: local("2026-10-01T00:00"), To: local("2026-12-01T00:00")},
				[]point{{"2026-10-01T00:00:00-04:00", 1, 1, 0}, {"2026-11-01T00:00:00-04:00", 5, 5, 0}}},
		}
		for _, tc := range cases {
			tc.q.AffiliateID, tc.q.Loc = f.ann.ID, ny
			got, err := s.Series(context.Background(), tc.q)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if g := points(got, ny); !slices.Equal(g, tc.want) {
				t.Errorf("%s: points\n%v\nwant\n%v", tc.name, g, tc.want)
			}
			if got.TZ != "America/New_York" {
				t.Errorf("%s: tz %q", tc.name, got.TZ)
			}
			checkTotals(t, got)
		}
	})
}

func TestSeriesValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	s := &tracking.Stats{DB: d}
	from := utc("2026-01-01T00:00:00Z")
	for _, tc := range []struct {
		q     tracking.SeriesQuery
		field string
	}{
		{tracking.SeriesQuery{Interval: "week", From: from, To: from.AddDate(0, 1, 0)}, "interval"},
		{tracking.SeriesQuery{Interval: "day", From: from, To: from}, "to"},
		{tracking.SeriesQuery{Interval: "day", From: from, To: from.Add(-time.Second)}, "to"},
		{tracking.SeriesQuery{Interval: "hour", From: from, To: from.AddDate(2, 0, 0)}, "interval"}, // 17520 points
	} {
		_, err := s.Series(context.Background(), tc.q)
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindInvalid || e.Field != tc.field {
			t.Errorf("%+v: err %v, want invalid %s", tc.q, err, tc.field)
		}
	}
}

func TestClicksPagination(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		base := utc("2026-11-20T10:00:00Z")
		var clicks []tracking.Click
		for i := range 30 {
			// Three clicks share each instant, so the cursor must break ties by id.
			at := base.Add(time.Duration(i/3) * time.Minute).Add(123456 * time.Nanosecond)
			c := f.click(map[bool]*program.Affiliate{true: f.ann, false: f.bob}[i%2 == 0], at)
			clicks = append(clicks, c)
		}
		// Out of time order across batches: the log is ordered by time, not by insertion.
		commit(t, d, clicks[15:]...)
		commit(t, d, clicks[:15]...)
		s := &tracking.Stats{DB: d}

		all := func(q tracking.ClickQuery) []tracking.Click {
			t.Helper()
			var out []tracking.Click
			for pages := 0; ; pages++ {
				page, next, err := s.Clicks(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > q.Limit {
					t.Fatalf("page of %d, limit %d", len(page), q.Limit)
				}
				out = append(out, page...)
				if next == "" || pages > 100 {
					return out
				}
				q.Cursor = next
			}
		}
		check := func(name string, got []tracking.Click, want func(tracking.Click) bool) {
			t.Helper()
			var refs, wantRefs []string
			for _, c := range got {
				refs = append(refs, c.ReferralID)
			}
			for _, c := range clicks {
				if want(c) {
					wantRefs = append(wantRefs, c.ReferralID)
				}
			}
			if !slices.Equal(refs, wantRefs) {
				t.Errorf("%s: %d clicks %v\nwant %d %v", name, len(refs), refs, len(wantRefs), wantRefs)
			}
			for i := 1; i < len(got); i++ {
				a, b := got[i-1], got[i]
				if b.At.Before(a.At) || b.At.Equal(a.At) && b.ID < a.ID {
					t.Errorf("%s: out of order at %d", name, i)
				}
			}
		}
		// clicks[i] within a minute were added in index order within a batch;
		// ids follow insertion, and the batch of clicks[15:] went first, so
		// sort the expectation the way the log must: by time, then id.
		byID := map[string]int64{}
		for _, c := range all(tracking.ClickQuery{Limit: 1000}) {
			byID[c.ReferralID] = c.ID
		}
		slices.SortStableFunc(clicks, func(a, b tracking.Click) int {
			if c := a.At.Compare(b.At); c != 0 {
				return c
			}
			return int(byID[a.ReferralID] - byID[b.ReferralID])
		})
		for _, limit := range []int{1, 2, 3, 7, 30, 1000} {
			check("limit "+strconv.Itoa(limit), all(tracking.ClickQuery{Limit: limit}), func(tracking.Click) bool { return true })
		}
		check("ann", all(tracking.ClickQuery{AffiliateID: f.ann.ID, Limit: 4}), func(c tracking.Click) bool { return c.AffiliateID == f.ann.ID })
		check("program", all(tracking.ClickQuery{ProgramID: f.prog.ID, Limit: 4}), func(tracking.Click) bool { return true })
		from, to := base.Add(2*time.Minute), base.Add(5*time.Minute)
		check("from–to", all(tracking.ClickQuery{From: from, To: to, Limit: 4}), func(c tracking.Click) bool {
			return !c.At.Before(from) && c.At.Before(to)
		})
		if page, _, err := s.Clicks(ctx, tracking.ClickQuery{}); err != nil || len(page) != 30 {
			t.Errorf("default limit: %d clicks, %v", len(page), err)
		}
		for _, bad := range []string{"x", "1-", "-1", "12"} {
			if _, _, err := s.Clicks(ctx, tracking.ClickQuery{Cursor: bad}); !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("cursor %q: %v, want invalid", bad, err)
			}
		}
	})
}

func TestCountsAndReferralClick(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		t0 := utc("2026-11-20T10:00:00Z")
		ref := tracking.NewReferralID()
		bot := f.click(f.bob, t0)
		bot.IsBot, bot.ReferralID = true, ref
		first := f.click(f.ann, t0.Add(time.Minute))
		first.ReferralID = ref
		second := f.click(f.bob, t0.Add(2*time.Minute))
		second.ReferralID, second.IsUnique = ref, false
		commit(t, d, bot, first, second, f.click(f.ann, t0))
		s := &tracking.Stats{DB: d}
		for _, tc := range []struct {
			id            int64
			clicks, uniqs int64
		}{{f.ann.ID, 2, 2}, {f.bob.ID, 1, 0}, {f.bob.ID + 100, 0, 0}} {
			c, u, err := s.Counts(ctx, tc.id)
			if err != nil || c != tc.clicks || u != tc.uniqs {
				t.Errorf("Counts(%d) = %d, %d, %v; want %d, %d", tc.id, c, u, err, tc.clicks, tc.uniqs)
			}
		}
		for _, tc := range []struct {
			name   string
			before time.Time
			last   bool
			want   int64 // affiliate; 0: none
		}{
			{"first touch", t0.Add(time.Hour), false, f.ann.ID},
			{"last touch", t0.Add(time.Hour), true, f.bob.ID},
			{"last touch before the second click", t0.Add(90 * time.Second), true, f.ann.ID},
			{"only the bot before", t0.Add(30 * time.Second), false, 0},
		} {
			c, ok, err := s.ReferralClick(ctx, ref, tc.before, tc.last)
			if err != nil || ok != (tc.want != 0) || ok && c.AffiliateID != tc.want {
				t.Errorf("%s: %+v %v %v, want affiliate %d", tc.name, c, ok, err, tc.want)
			}
		}
		if _, ok, err := s.ReferralClick(ctx, tracking.NewReferralID(), t0.Add(time.Hour), false); ok || err != nil {
			t.Errorf("unknown referral: ok %v err %v", ok, err)
		}
	})
}

// TestClicksMergedAcrossPrograms: without an affiliate or program filter
// the log merges each program's pages; paged at any limit it must be the
// whole table in (at, id) order, as a query of clicks says.
func TestClicksMergedAcrossPrograms(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		affs := []*program.Affiliate{f.ann, f.bob}
		for _, slug := range []string{"second", "third"} {
			p := program.NewProgram()
			p.Name, p.Slug, p.DestinationURL = slug, slug, "https://"+slug+".example.com/"
			if err := f.store.CreateProgram(ctx, p); err != nil {
				t.Fatal(err)
			}
			a := program.NewAffiliate()
			a.ProgramID, a.Code, a.Email = p.ID, slug+"-aff", slug+"@example.com"
			if err := f.store.CreateAffiliate(ctx, a); err != nil {
				t.Fatal(err)
			}
			affs = append(affs, a)
		}
		rng := rand.New(rand.NewPCG(3, 7))
		base := utc("2026-11-20T10:00:00Z")
		var clicks []tracking.Click
		for range 120 {
			// Few distinct instants: ties across programs are ordered by id.
			at := base.Add(time.Duration(rng.IntN(20)) * time.Second)
			clicks = append(clicks, f.click(affs[rng.IntN(len(affs))], at))
		}
		for len(clicks) > 0 {
			n := min(len(clicks), 1+rng.IntN(30))
			commit(t, d, clicks[:n]...)
			clicks = clicks[n:]
		}
		from, to := base.Add(5*time.Second), base.Add(15*time.Second)
		want := func(ranged bool) []int64 {
			q := `select id from clicks order by at, id`
			var args []any
			if ranged {
				q = `select id from clicks where at >= $1 and at < $2 order by at, id`
				args = []any{from, to}
			}
			rows, err := d.R(ctx).QueryContext(ctx, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			return ids
		}
		s := &tracking.Stats{DB: d}
		for _, ranged := range []bool{false, true} {
			for _, limit := range []int{1, 4, 17, 1000} {
				q := tracking.ClickQuery{Limit: limit}
				if ranged {
					q.From, q.To = from, to
				}
				var got []int64
				for pages := 0; pages < 200; pages++ {
					page, next, err := s.Clicks(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) > limit {
						t.Fatalf("page of %d, limit %d", len(page), limit)
					}
					for _, c := range page {
						got = append(got, c.ID)
					}
					if next == "" {
						break
					}
					q.Cursor = next
				}
				if w := want(ranged); !slices.Equal(got, w) {
					t.Errorf("ranged %v, limit %d: %d clicks %v\nwant %d %v", ranged, limit, len(got), got, len(w), w)
				}
			}
		}
	})
}
