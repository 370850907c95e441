package ledger

import (
	"context"
	"fmt"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/tracking"
)

// AddSales adds an affiliate's attributed sales and renewals over s's
// range to s, a series of its clicks (tracking.Stats.Series) with
// intervals in loc: conversions, and gross and net revenue (refunds taken
// off) and commission (as it stands now) per currency.
//
// When every interval starts on a whole UTC hour (always, except for days
// and months in a zone with a half- or quarter-hour offset) the sums come
// from the hourly rollup sale_affiliate_hours, a row per hour, currency
// and kind however many orders there are; otherwise from the orders
// themselves, each counted in the interval that holds it.
func (l *Ledger) AddSales(ctx context.Context, s *tracking.Series, affiliateID int64, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	if len(s.Points) == 0 {
		return nil
	}
	byStart := make(map[int64]*tracking.Point, len(s.Points))
	hourly := onHour(s.To)
	for i := range s.Points {
		p := &s.Points[i]
		byStart[p.Start.Unix()] = p
		hourly = hourly && onHour(p.Start)
	}
	add := func(at time.Time, currency string, orders, gross, net, commission int64) {
		p := byStart[tracking.Bucket(at, s.Interval, loc).Unix()]
		if p == nil {
			return // not reached: the rows read lie in s's range
		}
		p.Conversions += orders
		s.Totals.Conversions += orders
		for _, m := range []*map[string]*tracking.Amount{&p.Money, &s.Totals.Money} {
			if *m == nil {
				*m = map[string]*tracking.Amount{}
			}
			a := (*m)[currency]
			if a == nil {
				a = &tracking.Amount{}
				(*m)[currency] = a
			}
			a.Gross += gross
			a.Net += net
			a.Commission += commission
		}
	}
	if !hourly {
		return l.addOrders(ctx, s, affiliateID, add)
	}
	// The hour as text ("2026-11-23 10"), read once per hour: a few
	// thousand rows for a busy affiliate's month, where the driver's
	// parsing of times would be most of the work.
	hour := "substr(hour, 1, 13)" // SQLite keeps times as UTC text
	if l.DB.Dialect() == db.Postgres {
		hour = "to_char(hour at time zone 'UTC', 'YYYY-MM-DD HH24')"
	}
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.AddSales */ select `+hour+`, currency, sum(orders), sum(gross),
		sum(net), sum(commission) from sale_affiliate_hours where affiliate_id = $1 and hour >= $2 and hour < $3
		group by hour, currency order by hour`, affiliateID, db.Time(s.From), db.Time(s.To))
	if err != nil {
		return err
	}
	defer rows.Close()
	var lastKey string
	var at time.Time
	for rows.Next() {
		var key, currency string
		var orders, gross, net, commission int64
		if err := rows.Scan(&key, &currency, &orders, &gross, &net, &commission); err != nil {
			return err
		}
		// Rows that orders moved away from (re-attributed, or deleted)
		// stay at zero: they are no sale.
		if orders == 0 && gross == 0 && net == 0 && commission == 0 {
			continue
		}
		if key != lastKey {
			if at, err = time.Parse("2006-01-02 15", key); err != nil {
				return fmt.Errorf("ledger: unexpected hour %q: %w", key, err)
			}
			lastKey = key
		}
		add(at, currency, orders, gross, net, commission)
	}
	return rows.Err()
}

// addOrders adds an affiliate's attributed orders over s's range one by
// one, for intervals that do not start on whole hours.
func (l *Ledger) addOrders(ctx context.Context, s *tracking.Series, affiliateID int64,
	add func(at time.Time, currency string, orders, gross, net, commission int64)) error {
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.addOrders */
		select o.occurred_at, o.currency, o.gross - o.refunded_gross, o.net - o.refunded_net, coalesce(c.amount, 0)
		from orders o left join commissions c on c.order_id = o.id
		where o.affiliate_id = $1 and o.has_sale and o.program_id is not null and o.occurred_at >= $2 and o.occurred_at < $3`,
		affiliateID, db.Time(s.From), db.Time(s.To))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var currency string
		var gross, net, commission int64
		if err := rows.Scan(&at, &currency, &gross, &net, &commission); err != nil {
			return err
		}
		add(at.UTC(), currency, 1, gross, net, commission)
	}
	return rows.Err()
}

func onHour(t time.Time) bool { return t.Truncate(time.Hour).Equal(t) }
