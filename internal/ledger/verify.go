package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// Difference is one thing the ledger holds that a recomputation disagrees with.
type Difference struct {
	What   string `json:"what"` // commission, order
	ID     int64  `json:"id"`
	Field  string `json:"field"`
	Stored int64  `json:"stored"`
	Want   int64  `json:"recomputed"`
	Note   string `json:"note,omitempty"`
}

func (d Difference) String() string {
	s := fmt.Sprintf("%s %d: %s is %d, recomputed %d", d.What, d.ID, d.Field, d.Stored, d.Want)
	if d.Note != "" {
		s += " (" + d.Note + ")"
	}
	return s
}

// Verify recomputes every order's refunded totals from its refund rows and
// every commission from its order and rule, and checks that each
// commission's amount is the sum of its ledger entries.
func (l *Ledger) Verify(ctx context.Context) ([]Difference, error) {
	var diffs []Difference
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.Verify */ select `+orderCols+` from orders order by id`)
	if err != nil {
		return nil, err
	}
	var orders []*Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		orders = append(orders, o)
	}
	rows.Close()
	byID := map[int64]*Order{}
	for _, o := range orders {
		byID[o.ID] = o
		re := *o
		if err := l.recomputeRefunds(ctx, &re); err != nil {
			return nil, err
		}
		if re.RefundedGross != o.RefundedGross {
			diffs = append(diffs, Difference{"order", o.ID, "refunded_gross", o.RefundedGross, re.RefundedGross, ""})
		}
		if re.RefundedNet != o.RefundedNet {
			diffs = append(diffs, Difference{"order", o.ID, "refunded_net", o.RefundedNet, re.RefundedNet, ""})
		}
	}
	crows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.Verify */
		select c.id, c.order_id, c.rate_bps, c.flat_amount, c.amount, c.review,
			(select coalesce(sum(e.amount), 0) from ledger_entries e where e.commission_id = c.id)
		from commissions c order by c.id`)
	if err != nil {
		return nil, err
	}
	defer crows.Close()
	for crows.Next() {
		var id, orderID, rate, flat, amount, sum int64
		var review string
		if err := crows.Scan(&id, &orderID, &rate, &flat, &amount, &review, &sum); err != nil {
			return nil, err
		}
		if sum != amount {
			diffs = append(diffs, Difference{"commission", id, "amount", amount, sum, "sum of ledger entries"})
		}
		want := int64(0)
		if review != "rejected" {
			want = rule{rateBps: rate, flat: flat}.amount(byID[orderID])
		}
		if want != amount {
			diffs = append(diffs, Difference{"commission", id, "amount", amount, want, "rule applied to the order"})
		}
	}
	return diffs, crows.Err()
}

// storedEvent parses a stored delivery back into its event.
func storedEvent(platform, body string) (payments.Event, error) {
	switch platform {
	case payments.Paddle, payments.PaddleClassic, payments.LemonSqueezy, payments.Stripe, payments.Gumroad:
		return payments.Parse(platform, []byte(body))
	}
	var ev payments.Event
	err := json.Unmarshal([]byte(body), &ev) // conversions are stored normalized
	return ev, err
}

// Replay is what a full replay of the raw deliveries produced.
type Replay struct {
	Events      int          `json:"events"`
	Orders      int          `json:"orders"`
	Commissions int          `json:"commissions"`
	Differences []Difference `json:"differences"`
}

// RebuildDryRun replays every applied delivery, in the order received, into
// a scratch SQLite database holding a copy of the programs, affiliates,
// product rates and the clicks that orders refer to, and compares the
// orders and commissions it produces with the live ones. Nothing live is
// changed. Attributions and reviews made by hand are not in the raw events
// and show up as differences marked as such.
func (l *Ledger) RebuildDryRun(ctx context.Context, scratchDir string) (*Replay, error) {
	scratch, err := db.Open(ctx, filepath.Join(scratchDir, "replay.db"))
	if err != nil {
		return nil, err
	}
	defer scratch.Close()
	if _, err := scratch.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := copyTables(ctx, l.DB, scratch); err != nil {
		return nil, err
	}
	progs := &program.Store{DB: scratch, Audit: &audit.Log{DB: scratch}}
	replay := &Ledger{DB: scratch, Log: l.Log, Programs: progs, Clicks: &tracking.Stats{DB: scratch}}
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.RebuildDryRun */
		select platform, body, received_at from webhook_events where outcome = 'applied' order by id`)
	if err != nil {
		return nil, err
	}
	type raw struct {
		platform, body string
		at             sql.NullTime
	}
	var events []raw
	for rows.Next() {
		var r raw
		if err := rows.Scan(&r.platform, &r.body, &r.at); err != nil {
			rows.Close()
			return nil, err
		}
		events = append(events, r)
	}
	rows.Close()
	out := &Replay{Events: len(events)}
	for _, r := range events {
		ev, perr := storedEvent(r.platform, r.body)
		if _, err := replay.Ingest(ctx, r.platform, []byte(r.body), ev, perr); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
	}
	live, err := summary(ctx, l.DB)
	if err != nil {
		return nil, err
	}
	got, err := summary(ctx, scratch)
	if err != nil {
		return nil, err
	}
	out.Orders, out.Commissions = len(got.orders), len(got.commissions)
	keys := make([]string, 0, len(live.orders))
	for k := range live.orders {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lo, ro := live.orders[k], got.orders[k]
		if ro == nil {
			out.Differences = append(out.Differences, Difference{"order", lo.id, "exists", 1, 0, k + " not produced by the replay"})
			continue
		}
		if lo.refundedNet != ro.refundedNet {
			out.Differences = append(out.Differences, Difference{"order", lo.id, "refunded_net", lo.refundedNet, ro.refundedNet, k})
		}
		lc, rc := live.commissions[k], got.commissions[k]
		switch {
		case lc == nil && rc == nil:
		case lc == nil:
			out.Differences = append(out.Differences, Difference{"commission", 0, "amount", 0, rc.amount, k + " replay would pay a commission"})
		case rc == nil:
			note := k + " not produced by the replay"
			if lo.attributedBy == "manual" {
				note += " (attributed by hand)"
			}
			out.Differences = append(out.Differences, Difference{"commission", lc.id, "amount", lc.amount, 0, note})
		case lc.amount != rc.amount:
			note := k
			if lc.review != "" {
				note += " (reviewed: " + lc.review + ")"
			}
			out.Differences = append(out.Differences, Difference{"commission", lc.id, "amount", lc.amount, rc.amount, note})
		}
	}
	return out, nil
}

type orderSum struct {
	id, refundedNet int64
	attributedBy    string
}

type commissionSum struct {
	id, amount int64
	review     string
}

type ledgerSummary struct {
	orders      map[string]*orderSum
	commissions map[string]*commissionSum
}

func summary(ctx context.Context, d *db.DB) (*ledgerSummary, error) {
	s := &ledgerSummary{orders: map[string]*orderSum{}, commissions: map[string]*commissionSum{}}
	rows, err := d.R(ctx).QueryContext(ctx, `select o.id, o.platform, o.order_ref, o.refunded_net, o.attributed_by,
		c.id, c.amount, c.review from orders o left join commissions c on c.order_id = o.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var o orderSum
		var platform, ref string
		var cid, amount sql.NullInt64
		var review sql.NullString
		if err := rows.Scan(&o.id, &platform, &ref, &o.refundedNet, &o.attributedBy, &cid, &amount, &review); err != nil {
			return nil, err
		}
		k := platform + ":" + ref
		s.orders[k] = &o
		if cid.Valid {
			s.commissions[k] = &commissionSum{id: cid.Int64, amount: amount.Int64, review: review.String}
		}
	}
	return s, rows.Err()
}

// copyTables copies what attribution reads into the scratch database.
func copyTables(ctx context.Context, from, to *db.DB) error {
	tables := []struct{ name, query string }{
		{"programs", `select * from programs`},
		{"affiliates", `select * from affiliates`},
		{"product_rates", `select * from product_rates`},
		{"clicks", `select * from clicks where referral_id in (select referral from orders where referral <> '')`},
	}
	return to.TX(ctx, func(tctx context.Context) error {
		for _, t := range tables {
			rows, err := from.R(ctx).QueryContext(ctx, t.query)
			if err != nil {
				return err
			}
			cols, _ := rows.Columns()
			ph := ""
			for i := range cols {
				if i > 0 {
					ph += ","
				}
				ph += fmt.Sprintf("$%d", i+1)
			}
			ins := fmt.Sprintf("insert into %s (%s) values (%s)", t.name, joinCols(cols), ph)
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return err
				}
				if _, err := to.Q(tctx).ExecContext(tctx, ins, vals...); err != nil {
					rows.Close()
					return fmt.Errorf("copy %s: %w", t.name, err)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
}

func joinCols(cols []string) string {
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += c
	}
	return s
}
