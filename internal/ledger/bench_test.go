package ledger

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"affiliated/internal/db/dbtest"
)

// BenchmarkReads times the console's ledger reads on a filled database
// (AFFILIATED_BENCH_DB: a copy of an `affiliated demo` database, which
// is migrated first), each next to the query it replaced: the balances
// of the largest affiliate and of a page of affiliates, and pages of its
// commissions.
func BenchmarkReads(b *testing.B) {
	d := dbtest.Filled(b)
	ctx := context.Background()
	l := &Ledger{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var ids []int64
	rows, err := d.R(ctx).QueryContext(ctx, `select id from affiliates order by id limit 50`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	month := CommissionFilter{AffiliateID: 1, From: time.Now().AddDate(0, 0, -30), To: time.Now().AddDate(0, 0, 1), Limit: 20}
	for _, bm := range []struct {
		name string
		fn   func() error
	}{
		{"balances", func() error { _, err := l.Balances(ctx, 1); return err }},
		{"balances-old", func() error { _, err := oracleBalances(ctx, l, 1); return err }},
		{"balances-page", func() error { _, err := l.BalancesOf(ctx, ids); return err }},
		{"balances-page-old", func() error {
			for _, id := range ids {
				if _, err := oracleBalances(ctx, l, id); err != nil {
					return err
				}
			}
			return nil
		}},
		{"commissions-100", func() error {
			_, _, err := l.Commissions(ctx, CommissionFilter{AffiliateID: 1, Limit: 100})
			return err
		}},
		{"commissions-100-old", func() error {
			_, _, err := oracleCommissions(ctx, l, CommissionFilter{AffiliateID: 1, Limit: 100})
			return err
		}},
		{"commissions-30d", func() error { _, _, err := l.Commissions(ctx, month); return err }},
		{"commissions-30d-old", func() error { _, _, err := oracleCommissions(ctx, l, month); return err }},
		{"commissions-pending", func() error {
			_, _, err := l.Commissions(ctx, CommissionFilter{AffiliateID: 1, Status: StatusPending, Limit: 100})
			return err
		}},
		{"commissions-pending-old", func() error {
			_, _, err := oracleCommissions(ctx, l, CommissionFilter{AffiliateID: 1, Status: StatusPending, Limit: 100})
			return err
		}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				if err := bm.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
