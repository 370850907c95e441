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
	err := s.hourlyClicks(ctx, &q, func(hour time.Time, clicks, uniques, bots int64) {
		if p := at(hour); p != nil {
			p.Clicks += clicks
			p.Uniques += uniques
			p.Bots += bots
		}
	})
	if err != nil {
		return nil, err
	}
	err = s.hourlySales(ctx, &q, func(hour time.Time, r salesRow) {
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

// hourlyClicks calls fn with the click counters of every UTC hour of q's
// range that has any: from the per-program hourly rollup, or, for one
// affiliate, from the per-affiliate one.
func (s *Service) hourlyClicks(ctx context.Context, q *Query, fn func(hour time.Time, clicks, uniques, bots int64)) error {
	table := "click_program_hours"
	if q.AffiliateID != 0 {
		table = "click_rollups"
	}
	var args []any
	where := q.scope("", &args) + " and hour >= " + param(&args, q.start) + " and hour < " + param(&args, q.end)
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* analytics.Service.hourlyClicks */
		select hour, sum(clicks), sum(uniques), sum(bots) from `+table+` where `+where+` group by hour`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var hour time.Time
		var c, u, b int64
		if err := rows.Scan(&hour, &c, &u, &b); err != nil {
			return err
		}
		fn(hour.UTC(), c, u, b)
	}
	return rows.Err()
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

// hourlySales calls fn with the attributed sales of every UTC hour of q's
// range, by currency and kind (sale or renewal), bucketed by when the
// payment occurred: from the per-program hourly rollup, or, for one
// affiliate, from its orders.
func (s *Service) hourlySales(ctx context.Context, q *Query, fn func(hour time.Time, r salesRow)) error {
	if q.AffiliateID == 0 {
		var args []any
		where := q.scope("", &args) + " and hour >= " + param(&args, q.start) + " and hour < " + param(&args, q.end)
		rows, err := s.DB.R(ctx).QueryContext(ctx, `/* analytics.Service.hourlySales */
			select hour, currency, kind, sum(orders), sum(gross), sum(net), sum(commission) from sale_hours
			where `+where+` group by hour, currency, kind`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var hour time.Time
			var r salesRow
			if err := rows.Scan(&hour, &r.currency, &r.kind, &r.orders, &r.gross, &r.net, &r.commission); err != nil {
				return err
			}
			fn(hour.UTC(), r)
		}
		return rows.Err()
	}
	var args []any
	where := q.salesWhere(&args, q.start, q.end)
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* analytics.Service.hourlySales */
		select `+s.hourOf("o.occurred_at")+`, `+salesSelect+where+` group by 1, 2, 3`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var r salesRow
		if err := rows.Scan(&h, &r.currency, &r.kind, &r.orders, &r.gross, &r.net, &r.commission); err != nil {
			return err
		}
		hour, err := parseHour(h)
		if err != nil {
			return fmt.Errorf("analytics: unexpected hour %q: %w", h, err)
		}
		fn(hour, r)
	}
	return rows.Err()
}
