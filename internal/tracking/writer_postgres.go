package tracking

import (
	"context"
	"time"
)

// commitPostgres writes a batch on PostgreSQL as one statement: the clicks
// and every rollup, each passed as columns of arrays. The text never
// changes, so pgx prepares it once per connection and the server plans it
// once; one statement needs no explicit transaction (it is atomic) and
// costs one round trip, where a transaction of six statements, each text
// varying with the batch size, cost seven and a parse each.
//
// Upserted rows come in key order, the same in every replica's statement,
// so two replicas touching the same counters cannot deadlock.
func (w *Writer) commitPostgres(ctx context.Context, batch []Click) error {
	n := len(batch)
	var (
		refs, referrers, agents, landings, ips, devices = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		affs, progs                                     = make([]int64, n), make([]int64, n)
		ats                                             = make([]time.Time, n)
		bots, uniques                                   = make([]bool, n), make([]bool, n)
	)
	sums := sumRollups(batch)
	r := NewRollups()
	for i, c := range batch {
		refs[i], affs[i], progs[i], ats[i], referrers[i] = c.ReferralID, c.AffiliateID, c.ProgramID, c.At, c.Referrer
		agents[i], landings[i], ips[i], devices[i], bots[i], uniques[i] = c.UserAgent, c.LandingURL, c.IP, c.Device, c.IsBot, c.IsUnique
		r.Add(c)
	}
	args := []any{refs, affs, progs, ats, referrers, agents, landings, ips, devices, bots, uniques}
	args = append(args, columns("iti", 3, sums.rows())...)
	args = append(args, columns("it", 3, r.hourRows())...)
	args = append(args, columns("iit", 3, r.dayRows())...)
	args = append(args, columns("istsi", 1, r.Dims.rows())...)
	_, err := w.db.Q(ctx).ExecContext(ctx, pgCommit, args...)
	return err
}

const pgCommit = `/* tracking.Writer.commitPostgres */ with
c as (
	insert into clicks (referral_id, affiliate_id, program_id, at, referrer, user_agent, landing_url, ip, device, is_bot, is_unique)
	select * from unnest($1::text[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::text[], $10::boolean[], $11::boolean[])
), r as (
	insert into click_rollups (affiliate_id, hour, program_id, clicks, uniques, bots)
	select * from unnest($12::bigint[], $13::timestamptz[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[])
	on conflict (affiliate_id, hour) do update set clicks = click_rollups.clicks + excluded.clicks,
		uniques = click_rollups.uniques + excluded.uniques, bots = click_rollups.bots + excluded.bots
), h as (
	insert into click_program_hours (program_id, hour, clicks, uniques, bots)
	select * from unnest($18::bigint[], $19::timestamptz[], $20::bigint[], $21::bigint[], $22::bigint[])
	on conflict (program_id, hour) do update set clicks = click_program_hours.clicks + excluded.clicks,
		uniques = click_program_hours.uniques + excluded.uniques, bots = click_program_hours.bots + excluded.bots
), d as (
	insert into click_days (affiliate_id, program_id, day, clicks, uniques, bots)
	select * from unnest($23::bigint[], $24::bigint[], $25::timestamptz[], $26::bigint[], $27::bigint[], $28::bigint[])
	on conflict (affiliate_id, program_id, day) do update set clicks = click_days.clicks + excluded.clicks,
		uniques = click_days.uniques + excluded.uniques, bots = click_days.bots + excluded.bots
)
insert into click_dims (affiliate_id, dim, day, value, program_id, clicks)
select * from unnest($29::bigint[], $30::text[], $31::timestamptz[], $32::text[], $33::bigint[], $34::bigint[])
on conflict (affiliate_id, dim, day, value) do update set clicks = click_dims.clicks + excluded.clicks`

// columns turns rows (of one shape: their keys, then int64 counts) into
// one slice per column, to pass as PostgreSQL arrays. kinds names each key
// column's type: 'i' int64, 's' string, 't' time.Time; counts follow.
func columns(kinds string, counts int, rows []countRow) []any {
	out := make([]any, 0, len(kinds)+counts)
	for j := range len(kinds) {
		switch kinds[j] {
		case 'i':
			col := make([]int64, len(rows))
			for i, r := range rows {
				col[i] = r.key[j].(int64)
			}
			out = append(out, col)
		case 's':
			col := make([]string, len(rows))
			for i, r := range rows {
				col[i] = r.key[j].(string)
			}
			out = append(out, col)
		case 't':
			col := make([]time.Time, len(rows))
			for i, r := range rows {
				col[i] = r.key[j].(time.Time)
			}
			out = append(out, col)
		}
	}
	for j := range counts {
		col := make([]int64, len(rows))
		for i, r := range rows {
			col[i] = r.counts[j]
		}
		out = append(out, col)
	}
	return out
}
