package demo

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/tracking"
)

// bulk loads clicks the fast way: multi-row inserts in large transactions,
// with the rollups that the tracking writer would have kept (hourly
// counters per affiliate here, the report rollups by tracking.Rollups)
// summed in memory and written at the end. The demo needs millions of clicks in minutes; the
// writer's small group commits are built for latency, not for this.
// demo_test checks that the rollups agree with the raw log.
type bulk struct {
	d       *db.DB
	pending []tracking.Click
	hours   map[hourKey]*hourCount
	report  *tracking.Rollups
}

type hourKey struct {
	affiliate int64
	hour      time.Time
}

type hourCount struct {
	program               int64
	clicks, uniques, bots int64
}

const (
	clicksPerTX   = 50000 // clicks committed together
	rowsPerInsert = 500   // rows in one statement
)

func newBulk(d *db.DB) *bulk {
	return &bulk{d: d, hours: map[hourKey]*hourCount{}, report: tracking.NewRollups()}
}

// add queues c and counts it as the writer would.
func (b *bulk) add(ctx context.Context, c tracking.Click) error {
	k := hourKey{c.AffiliateID, c.At.Truncate(time.Hour)}
	h := b.hours[k]
	if h == nil {
		h = &hourCount{program: c.ProgramID}
		b.hours[k] = h
	}
	switch {
	case c.IsBot:
		h.bots++
	case c.IsUnique:
		h.clicks++
		h.uniques++
	default:
		h.clicks++
	}
	b.report.Add(c)
	b.pending = append(b.pending, c)
	if len(b.pending) >= clicksPerTX {
		return b.flush(ctx)
	}
	return nil
}

// values returns the VALUES list of rows rows of cols parameters:
// anonymous "?" on SQLite (which looks numbered ones up by name, in time
// quadratic in their number), "$N" on PostgreSQL.
func (b *bulk) values(rows, cols int) string {
	var sb strings.Builder
	for i := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for j := range cols {
			if j > 0 {
				sb.WriteByte(',')
			}
			if b.d.Dialect() == db.SQLite {
				sb.WriteByte('?')
			} else {
				sb.WriteString("$" + strconv.Itoa(i*cols+j+1))
			}
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

// flush writes the queued clicks in one transaction.
func (b *bulk) flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	full := b.values(rowsPerInsert, 11)
	err := b.d.TX(ctx, func(ctx context.Context) error {
		for part := range slices.Chunk(b.pending, rowsPerInsert) {
			vals := full
			if len(part) < rowsPerInsert {
				vals = b.values(len(part), 11)
			}
			args := make([]any, 0, len(part)*11)
			for _, c := range part {
				args = append(args, c.ReferralID, c.AffiliateID, c.ProgramID, c.At, c.Referrer, c.UserAgent,
					c.LandingURL, c.IP, c.Device, c.IsBot, c.IsUnique)
			}
			if _, err := b.d.Q(ctx).ExecContext(ctx, `/* demo.bulk.flush */ insert into clicks (referral_id, affiliate_id,
				program_id, at, referrer, user_agent, landing_url, ip, device, is_bot, is_unique) values `+vals, args...); err != nil {
				return fmt.Errorf("demo: insert clicks: %w", err)
			}
		}
		return nil
	})
	b.pending = b.pending[:0]
	return err
}

// close writes what is queued and then the rollups.
func (b *bulk) close(ctx context.Context) error {
	if err := b.flush(ctx); err != nil {
		return err
	}
	keys := make([]hourKey, 0, len(b.hours))
	for k := range b.hours {
		keys = append(keys, k)
	}
	return b.d.TX(ctx, func(ctx context.Context) error {
		for part := range slices.Chunk(keys, rowsPerInsert) {
			args := make([]any, 0, len(part)*6)
			for _, k := range part {
				h := b.hours[k]
				args = append(args, k.affiliate, h.program, k.hour, h.clicks, h.uniques, h.bots)
			}
			if _, err := b.d.Q(ctx).ExecContext(ctx, `/* demo.bulk.close */ insert into click_rollups
				(affiliate_id, program_id, hour, clicks, uniques, bots) values `+b.values(len(part), 6)+`
				on conflict (affiliate_id, hour) do update set clicks = click_rollups.clicks + excluded.clicks,
				uniques = click_rollups.uniques + excluded.uniques, bots = click_rollups.bots + excluded.bots`, args...); err != nil {
				return fmt.Errorf("demo: click rollups: %w", err)
			}
		}
		return b.report.Save(ctx, b.d)
	})
}
