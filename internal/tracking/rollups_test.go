package tracking_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// TestWriterRollupsMatchClicks writes random clicks (two programs, bots,
// returning visitors, referrers, landing pages, devices, over several
// hours and days) through the writer in batches of random sizes, then
// checks every rollup the writer keeps against a plain aggregate of the
// clicks table.
func TestWriterRollupsMatchClicks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		other := program.NewProgram()
		other.Name, other.Slug, other.DestinationURL = "Course", "course", "https://course.example.com/"
		if err := f.store.CreateProgram(ctx, other); err != nil {
			t.Fatal(err)
		}
		cat := program.NewAffiliate()
		cat.ProgramID, cat.Code, cat.Email = other.ID, "cat", "cat@example.com"
		if err := f.store.CreateAffiliate(ctx, cat); err != nil {
			t.Fatal(err)
		}
		affs := []*program.Affiliate{f.ann, f.bob, cat}
		rng := rand.New(rand.NewPCG(1, 2))
		base := time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)
		referrers := []string{"", "https://www.news.example/a", "https://blog.example:8443/x?y", "not a url", "android-app://com.x"}
		landings := []string{"https://shop.example.com/", "https://shop.example.com/p?q=1", "https://Course.example.com/a/b", ""}
		devices := []string{"desktop", "mobile", "tablet", ""}
		for round := range 6 {
			w, _, _ := newWriter(t, d, tracking.WriterConfig{BatchSize: 1 + rng.IntN(80), BatchWait: time.Millisecond, Queue: 1000})
			dones := make([]<-chan error, 0, 300)
			for range 100 + rng.IntN(200) {
				a := affs[rng.IntN(len(affs))]
				c := tracking.Click{
					ReferralID: tracking.NewReferralID(), AffiliateID: a.ID, ProgramID: a.ProgramID,
					At:       base.Add(time.Duration(rng.Int64N(int64(50 * time.Hour)))),
					Referrer: referrers[rng.IntN(len(referrers))], LandingURL: landings[rng.IntN(len(landings))],
					Device: devices[rng.IntN(len(devices))], IsBot: rng.IntN(4) == 0, IsUnique: rng.IntN(2) == 0,
				}
				done, err := w.Add(ctx, c)
				if err != nil {
					t.Fatal(err)
				}
				dones = append(dones, done)
			}
			waitAll(t, dones)
			checkRollups(t, d, fmt.Sprintf("round %d", round))
		}
	})
}

// checkRollups compares each rollup table with the clicks table.
func checkRollups(t *testing.T, d *db.DB, label string) {
	t.Helper()
	ctx := context.Background()
	rows, err := d.R(ctx).QueryContext(ctx, `select affiliate_id, program_id, at, referrer, landing_url, device, is_bot, is_unique from clicks`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int64{}
	add := func(table, key string, n int64) {
		if want[table] == nil {
			want[table] = map[string]int64{}
		}
		want[table][key] += n
	}
	for rows.Next() {
		var c tracking.Click
		if err := rows.Scan(&c.AffiliateID, &c.ProgramID, &c.At, &c.Referrer, &c.LandingURL, &c.Device, &c.IsBot, &c.IsUnique); err != nil {
			t.Fatal(err)
		}
		hour := c.At.UTC().Truncate(time.Hour).Format(time.RFC3339)
		day := c.At.UTC().Format("2006-01-02")
		var human, unique, bot int64
		switch {
		case c.IsBot:
			bot = 1
		case c.IsUnique:
			human, unique = 1, 1
		default:
			human = 1
		}
		for _, k := range []struct{ table, key string }{
			{"click_rollups", fmt.Sprint(c.AffiliateID, c.ProgramID, hour)},
			{"click_program_hours", fmt.Sprint(c.ProgramID, hour)},
			{"click_days", fmt.Sprint(c.AffiliateID, c.ProgramID, day)},
		} {
			add(k.table, k.key+" clicks", human)
			add(k.table, k.key+" uniques", unique)
			add(k.table, k.key+" bots", bot)
		}
		if !c.IsBot {
			ref, landing, device := tracking.ClickDims(c)
			for _, dv := range [][2]string{{tracking.DimReferrerHost, ref}, {tracking.DimLandingPath, landing}, {tracking.DimDevice, device}} {
				add("click_dims", fmt.Sprint(c.AffiliateID, c.ProgramID, day, dv[0], dv[1]), 1)
				add("click_program_dims", fmt.Sprint(c.ProgramID, day, dv[0], dv[1]), 1)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	got := map[string]map[string]int64{}
	read := func(table, query string, scan func(s func(...any) error) (key string, counts map[string]int64)) {
		rows, err := d.R(ctx).QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got[table] = map[string]int64{}
		for rows.Next() {
			key, counts := scan(rows.Scan)
			for name, n := range counts {
				k := key
				if name != "" {
					k += " " + name
				}
				if n != 0 { // a counter at zero is as good as none
					got[table][k] += n
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	var aff, prog, clicks, uniques, bots int64
	var at time.Time
	var dim, value string
	scan3 := func(key func() string, dest ...any) func(s func(...any) error) (string, map[string]int64) {
		return func(s func(...any) error) (string, map[string]int64) {
			if err := s(append(dest, &clicks, &uniques, &bots)...); err != nil {
				t.Fatal(err)
			}
			return key(), map[string]int64{"clicks": clicks, "uniques": uniques, "bots": bots}
		}
	}
	read("click_rollups", "select affiliate_id, program_id, hour, clicks, uniques, bots from click_rollups",
		scan3(func() string { return fmt.Sprint(aff, prog, at.UTC().Format(time.RFC3339)) }, &aff, &prog, &at))
	read("click_program_hours", "select program_id, hour, clicks, uniques, bots from click_program_hours",
		scan3(func() string { return fmt.Sprint(prog, at.UTC().Format(time.RFC3339)) }, &prog, &at))
	read("click_days", "select affiliate_id, program_id, day, clicks, uniques, bots from click_days",
		scan3(func() string { return fmt.Sprint(aff, prog, at.UTC().Format("2006-01-02")) }, &aff, &prog, &at))
	read("click_dims", "select affiliate_id, program_id, day, dim, value, clicks from click_dims",
		func(s func(...any) error) (string, map[string]int64) {
			if err := s(&aff, &prog, &at, &dim, &value, &clicks); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(aff, prog, at.UTC().Format("2006-01-02"), dim, value), map[string]int64{"": clicks}
		})
	read("click_program_dims", "select program_id, day, dim, value, clicks from click_program_dims",
		func(s func(...any) error) (string, map[string]int64) {
			if err := s(&prog, &at, &dim, &value, &clicks); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(prog, at.UTC().Format("2006-01-02"), dim, value), map[string]int64{"": clicks}
		})
	for _, table := range []string{"click_rollups", "click_program_hours", "click_days", "click_dims", "click_program_dims"} {
		w := want[table]
		maps.DeleteFunc(w, func(_ string, n int64) bool { return n == 0 })
		if len(w) == 0 {
			t.Fatalf("%s: %s: nothing expected; the test is broken", label, table)
		}
		g := got[table]
		for _, k := range slices.Sorted(maps.Keys(w)) {
			if g[k] != w[k] {
				t.Errorf("%s: %s[%s] = %d, clicks say %d", label, table, k, g[k], w[k])
			}
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				t.Errorf("%s: %s[%s] = %d, clicks say 0", label, table, k, g[k])
			}
		}
	}
}
