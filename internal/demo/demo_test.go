package demo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/demo"
	"affiliated/internal/ledger"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

var now = time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)

func newLedger(d *db.DB) *ledger.Ledger {
	return &ledger.Ledger{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Programs: &program.Store{DB: d, Audit: &audit.Log{DB: d}}, Clicks: &tracking.Stats{DB: d},
		Now: func() time.Time { return now }}
}

func count(t *testing.T, d *db.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := d.R(context.Background()).QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestFill(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		sum, err := demo.Fill(ctx, d, demo.Options{Clicks: 4000, Orders: 150, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", sum)
		if sum.Programs != 2 || sum.Affiliates != 32 || sum.Clicks != 4000 {
			t.Errorf("summary %+v: want 2 programs, 32 affiliates, 4000 clicks", sum)
		}
		if sum.Orders < 120 || sum.Orders > 150 || sum.Refunds == 0 || sum.PayoutID == 0 {
			t.Errorf("summary %+v: want about 150 orders, some refunds and a payout", sum)
		}
		for query, want := range map[string]int64{
			`select count(*) from clicks`:                                                                         4000,
			`select count(*) from orders where has_sale`:                                                          int64(sum.Orders),
			`select count(*) from affiliates where status = 'pending'`:                                            2,
			`select count(*) from affiliates where status = 'suspended'`:                                          1,
			`select count(*) from payouts where status = 'paid'`:                                                  1,
			`select count(*) from commissions where review = 'held'`:                                              1,
			`select count(*) from clicks c join affiliates a on a.id = c.affiliate_id where a.status = 'pending'`: 0,
			`select count(*) from clicks where at > $1 or at < $2`:                                                0,
		} {
			args := []any{}
			if strings.Contains(query, "$1") {
				args = []any{now, now.AddDate(0, 0, -demo.Days)}
			}
			if got := count(t, d, query, args...); got != want {
				t.Errorf("%s = %d, want %d", query, got, want)
			}
		}
		for query, what := range map[string]string{
			`select count(*) from orders where platform = 'paddle' and affiliate_id is not null`:       "referred Paddle sales",
			`select count(*) from orders where platform = 'lemonsqueezy' and affiliate_id is not null`: "referred Lemon Squeezy sales",
			`select count(*) from orders where platform = 'bookings' and affiliate_id is not null`:     "referred bookings",
			`select count(*) from orders where kind = 'renewal' and attributed_by = 'subscription'`:    "renewals",
			`select count(*) from orders where attributed_by = 'coupon'`:                               "coupon sales",
			`select count(*) from orders where affiliate_id is null and has_sale`:                      "unattributed sales",
			`select count(*) from orders where currency = 'EUR'`:                                       "sales in euros",
			`select count(*) from refunds where kind = 'chargeback'`:                                   "a chargeback",
			`select count(*) from ledger_entries where kind in ('reversed', 'clawback')`:               "reversals",
			`select count(*) from clicks where is_bot`:                                                 "bot clicks",
			`select count(*) from clicks where not is_unique and not is_bot`:                           "returning visitors",
			`select count(*) from clicks c join affiliates a on a.id = c.affiliate_id where a.code = 'solare' and c.landing_url like 'https://casa-aurora.example/%utm_medium=partner%'`: "solare's clicks landing with UTM",
		} {
			if count(t, d, query) == 0 {
				t.Errorf("no %s: %s", what, query)
			}
		}

		// The ledger agrees with a recomputation and with a replay of the raw deliveries.
		l := newLedger(d)
		diffs, err := l.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, df := range diffs {
			t.Errorf("ledger verify: %s", df)
		}
		replay, err := l.RebuildDryRun(ctx, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(replay.Differences) != 0 || replay.Orders != int(count(t, d, `select count(*) from orders`)) {
			t.Errorf("replay: %d orders, differences %v", replay.Orders, replay.Differences)
		}

		// The rollups are the writer's: they match the raw log.
		for _, q := range []string{
			`select count(*) from (select affiliate_id, program_id, sum(case when is_bot then 0 else 1 end) n,
					sum(case when is_unique and not is_bot then 1 else 0 end) u, sum(case when is_bot then 1 else 0 end) b
				from clicks group by affiliate_id, program_id) c
				where n <> (select coalesce(sum(clicks), 0) from click_rollups r where r.affiliate_id = c.affiliate_id and r.program_id = c.program_id)
				or u <> (select coalesce(sum(uniques), 0) from click_rollups r where r.affiliate_id = c.affiliate_id)
				or b <> (select coalesce(sum(bots), 0) from click_rollups r where r.affiliate_id = c.affiliate_id)`,
			`select count(*) from click_rollups r where not exists (select 1 from clicks c where c.affiliate_id = r.affiliate_id
				and c.at >= r.hour and c.at < ` + hourLater(d) + `)`,
			`select count(*) from (select dim, sum(clicks) n from click_dims group by dim) x
				where n <> (select count(*) from clicks where not is_bot)`,
			`select count(*) from (select program_id, sum(clicks) n, sum(uniques) u, sum(bots) b from click_rollups group by program_id) r
				where n <> (select sum(clicks) from click_program_hours h where h.program_id = r.program_id)
				or u <> (select sum(uniques) from click_program_hours h where h.program_id = r.program_id)
				or b <> (select sum(bots) from click_days x where x.program_id = r.program_id)
				or n <> (select sum(clicks) from click_days x where x.program_id = r.program_id)`,
			`select count(*) from (select program_id, currency, sum(orders) n, sum(commission) c from sale_hours group by program_id, currency) s
				where n <> (select count(*) from orders o where o.program_id = s.program_id and o.currency = s.currency and o.has_sale)
				or c <> (select coalesce(sum(amount), 0) from commissions x where x.program_id = s.program_id and x.currency = s.currency)`,
		} {
			if n := count(t, d, q); n != 0 {
				t.Errorf("rollups disagree with the clicks (%d): %s", n, q)
			}
		}

		_, err = demo.Fill(ctx, d, demo.Options{Clicks: 10, Orders: 1, Now: now})
		if !errors.Is(err, demo.ErrNotEmpty) || !strings.Contains(err.Error(), "programs") {
			t.Errorf("second fill: %v, want ErrNotEmpty naming what is there", err)
		}
		if empty, err := demo.Empty(ctx, d); err != nil || empty {
			t.Errorf("Empty = %v, %v after a fill", empty, err)
		}
	})
}

// hourLater is r.hour plus an hour, in d's dialect.
func hourLater(d *db.DB) string {
	if d.Dialect() == db.Postgres {
		return "r.hour + interval '1 hour'"
	}
	return "datetime(r.hour, '+1 hour')"
}

// fingerprint summarizes what a fill produced.
func fingerprint(t *testing.T, d *db.DB) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, q := range []string{
		`select a.code || ':' || count(*) || ':' || sum(case when c.is_unique then 1 else 0 end) from clicks c join affiliates a on a.id = c.affiliate_id group by a.code order by a.code`,
		`select o.platform || ':' || o.order_ref || ':' || o.gross || ':' || o.refunded_gross || ':' || coalesce(a.code, '-') from orders o left join affiliates a on a.id = o.affiliate_id order by o.platform, o.order_ref`,
		`select c.amount || ':' || c.review from commissions c join orders o on o.id = c.order_id order by o.platform, o.order_ref`,
	} {
		rows, err := d.R(ctx).QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, s)
		}
		rows.Close()
	}
	return b.String()
}

func TestFillIsDeterministic(t *testing.T) {
	ctx := context.Background()
	var prints []string
	for range 2 {
		d := dbtest.SQLite(t)
		if _, err := demo.Fill(ctx, d, demo.Options{Clicks: 2000, Orders: 80, Now: now, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		prints = append(prints, fingerprint(t, d))
	}
	if prints[0] != prints[1] {
		t.Error("two fills with the same seed and time differ")
	}
	d := dbtest.SQLite(t)
	if _, err := demo.Fill(ctx, d, demo.Options{Clicks: 2000, Orders: 80, Now: now, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	if fingerprint(t, d) == prints[0] {
		t.Error("another seed gave the same data")
	}
}
