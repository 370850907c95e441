package analytics

import (
	"context"
	"fmt"
	"time"
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

// clicks calls fn with the click counters of each group of q's range
// that has any, keyed by the group's start (see group.at): from the
// per-program hourly rollup, or, for one affiliate, from its own.
func (s *Service) clicks(ctx context.Context, q *Query, fn func(at time.Time, clicks, uniques, bots int64)) error {
	table := "click_program_hours"
	if q.AffiliateID != 0 {
		table = "click_rollups"
	}
	for _, g := range q.groups() {
		var args []any
		where := q.scope("", &args) + " and hour >= " + param(&args, g.from) + " and hour < " + param(&args, g.to)
		rows, err := s.DB.R(ctx).QueryContext(ctx, `/* analytics.Service.clicks */ select `+g.sql(s.DB.Dialect(), "hour")+`,
			sum(clicks), sum(uniques), sum(bots) from `+table+` where `+where+` group by 1`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var key string
			var c, u, b int64
			if err := rows.Scan(&key, &c, &u, &b); err != nil {
				rows.Close()
				return err
			}
			at, err := g.at(key, q.Loc)
			if err != nil {
				rows.Close()
				return fmt.Errorf("analytics: unexpected group %q: %w", key, err)
			}
			fn(at, c, u, b)
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
}

// salesSelect sums attributed orders (refunds taken off) and their
// commissions; the caller adds the grouping columns in front and the
// conditions after.
const salesSelect = `o.currency, o.kind, count(*), sum(o.gross - o.refunded_gross), sum(o.net - o.refunded_net),
	sum(coalesce(c.amount, 0))
	from orders o left join commissions c on c.order_id = o.id
	where o.has_sale and o.affiliate_id is not null and `

// salesWhere is the scope of q on orders o, in [from, to).
func (q *Query) salesWhere(args *[]any, from, to time.Time) string {
	return q.scope("o.", args) + " and o.occurred_at >= " + param(args, from) +
		" and o.occurred_at < " + param(args, to)
}

// sales calls fn with the attributed sales of each group of q's range, by
// currency and kind (sale or renewal), grouped by when the payment
// occurred and keyed by the group's start (see group.at): from the
// per-program hourly rollup, or, for one affiliate, from the per-affiliate
// one.
func (s *Service) sales(ctx context.Context, q *Query, fn func(at time.Time, r salesRow)) error {
	table := "sale_hours"
	if q.AffiliateID != 0 {
		table = "sale_affiliate_hours"
	}
	for _, g := range q.groups() {
		var args []any
		where := q.scope("", &args) + " and hour >= " + param(&args, g.from) + " and hour < " + param(&args, g.to)
		query := `/* analytics.Service.sales */ select ` + g.sql(s.DB.Dialect(), "hour") + `, currency, kind,
			sum(orders), sum(gross), sum(net), sum(commission) from ` + table + ` where ` + where + ` group by 1, 2, 3`
		rows, err := s.DB.R(ctx).QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var key string
			var r salesRow
			if err := rows.Scan(&key, &r.currency, &r.kind, &r.orders, &r.gross, &r.net, &r.commission); err != nil {
				rows.Close()
				return err
			}
			at, err := g.at(key, q.Loc)
			if err != nil {
				rows.Close()
				return fmt.Errorf("analytics: unexpected group %q: %w", key, err)
			}
			fn(at, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
