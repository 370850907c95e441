package analytics

import (
	"context"
	"database/sql"
	"time"

	"affiliated/internal/tracking"
)

// Point is one interval of a series.
type Point struct {
	Start time.Time `json:"start"` // in the owner's zone
	Stats
}

// Overview is a range's totals and its series.
type Overview struct {
	From        time.Time `json:"from"` // the range, aligned to whole intervals
	To          time.Time `json:"to"`
	Interval    string    `json:"interval"`
	TZ          string    `json:"tz"`
	ProgramID   int64     `json:"program_id,omitempty"`
	AffiliateID int64     `json:"affiliate_id,omitempty"`
	Totals      Stats     `json:"totals"`
	Points      []Point   `json:"points"` // every interval, zeros included
}

// Overview returns the figures of q's range, in total and per interval.
// The totals are the sums of the points.
func (s *Service) Overview(ctx context.Context, q Query) (*Overview, error) {
	tracking.Await(ctx, s.Sync)
	if err := q.normalize(); err != nil {
		return nil, err
	}
	out := &Overview{From: q.From, To: q.To, Interval: q.Interval, TZ: q.Loc.String(),
		ProgramID: q.ProgramID, AffiliateID: q.AffiliateID, Points: []Point{}}
	index := map[int64]int{}
	for t := q.From.In(q.Loc); t.Before(q.To); t = next(t, q.Interval, q.Loc) {
		index[t.Unix()] = len(out.Points)
		out.Points = append(out.Points, Point{Start: t})
	}
	at := func(hour time.Time) *Stats {
		if i, ok := index[bucket(hour, q.Interval, q.Loc).Unix()]; ok {
			return &out.Points[i].Stats
		}
		return nil // not reached: every hour of [start, end) starts inside the range
	}
	err := s.clicks(ctx, &q, func(hour time.Time, clicks, uniques, bots int64) {
		if p := at(hour); p != nil {
			p.Clicks += clicks
			p.Uniques += uniques
			p.Bots += bots
		}
	})
	if err != nil {
		return nil, err
	}
	err = s.sales(ctx, &q, func(hour time.Time, r salesRow) {
		if p := at(hour); p != nil {
			r.addTo(p)
		}
	})
	if err != nil {
		return nil, err
	}
	for i := range out.Points {
		p := &out.Points[i].Stats
		p.finish()
		out.Totals.add(p)
	}
	out.Totals.finish()
	return out, nil
}

// clicks calls fn with the click counters of each part of q's range
// that has any, keyed by the start of the hour or local day they count in
// (see part): from the per-program hourly and per-affiliate daily
// rollups, or, for one affiliate, from its hourly one.
func (s *Service) clicks(ctx context.Context, q *Query, fn func(at time.Time, clicks, uniques, bots int64)) error {
	// click_days is per affiliate: summed over them.
	tables := rollups{programHours: "click_program_hours", programDays: "click_days", affiliateHours: "click_rollups"}
	return s.readParts(ctx, q, "clicks", tables, "sum(clicks), sum(uniques), sum(bots)", "1", func(p part, rows *sql.Rows) error {
		var key string
		var c, u, b int64
		if err := rows.Scan(&key, &c, &u, &b); err != nil {
			return err
		}
		return p.each(key, q.Loc, func(at time.Time, sign int64) { fn(at, sign*c, sign*u, sign*b) })
	})
}

// rollups names the tables a series reads: hourly and daily for every
// affiliate of a program, hourly for one affiliate.
type rollups struct{ programHours, programDays, affiliateHours string }

// readParts reads each part of q's range from its rollup in t, with the
// part's key (see part.key) first, then cols, grouped by groupBy, and
// calls row for each row read.
func (s *Service) readParts(ctx context.Context, q *Query, name string, t rollups, cols, groupBy string,
	row func(p part, rows *sql.Rows) error) error {
	for _, p := range q.parts(q.AffiliateID == 0) {
		table, col := t.programHours, "hour"
		switch {
		case q.AffiliateID != 0:
			table = t.affiliateHours
		case p.daily:
			table, col = t.programDays, "day"
		}
		var args []any
		query := `/* analytics.Service.` + name + ` */ select ` + p.key(s.DB.Dialect(), col) + `, ` + cols +
			` from ` + table + ` where ` + q.scope("", &args) + p.where(s.DB.Dialect(), col, &args) + ` group by ` + groupBy
		rows, err := s.DB.R(ctx).QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := row(p, rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// salesRow is the sum of a group of attributed orders of one currency and kind.
type salesRow struct {
	currency, kind         string
	orders                 int64
	gross, net, commission int64
}

// empty reports a rollup row that orders moved away from left at zero.
func (r *salesRow) empty() bool {
	return r.orders == 0 && r.gross == 0 && r.net == 0 && r.commission == 0
}

func (r *salesRow) addTo(s *Stats) {
	if r.empty() {
		return
	}
	if r.kind == "renewal" {
		s.Renewals += r.orders
	} else {
		s.Conversions += r.orders
	}
	m := s.money(r.currency)
	m.Gross += r.gross
	m.Net += r.net
	m.Commission += r.commission
	m.orders += r.orders
}

// neg returns r taken off.
func (r salesRow) neg() salesRow {
	r.orders, r.gross, r.net, r.commission = -r.orders, -r.gross, -r.net, -r.commission
	return r
}

// sales calls fn with the attributed sales of each part of q's range, by
// currency and kind (sale or renewal), grouped by when the payment
// occurred and keyed by the start of the hour or local day they count in
// (see part): from the per-program hourly and daily rollups, or, for one
// affiliate, from the per-affiliate hourly one.
func (s *Service) sales(ctx context.Context, q *Query, fn func(at time.Time, r salesRow)) error {
	tables := rollups{programHours: "sale_hours", programDays: "sale_program_days", affiliateHours: "sale_affiliate_hours"}
	return s.readParts(ctx, q, "sales", tables, "currency, kind, sum(orders), sum(gross), sum(net), sum(commission)", "1, 2, 3",
		func(p part, rows *sql.Rows) error {
			var key string
			var r salesRow
			if err := rows.Scan(&key, &r.currency, &r.kind, &r.orders, &r.gross, &r.net, &r.commission); err != nil {
				return err
			}
			return p.each(key, q.Loc, func(at time.Time, sign int64) {
				if sign < 0 {
					fn(at, r.neg())
				} else {
					fn(at, r)
				}
			})
		})
}
