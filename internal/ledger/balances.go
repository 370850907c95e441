package ledger

import (
	"context"
	"strings"
	"time"
)

// Balance is an affiliate's money in one currency.
type Balance struct {
	Currency     string     `json:"currency"`
	Pending      int64      `json:"pending"`
	Payable      int64      `json:"payable"`
	Held         int64      `json:"held"`
	InPayout     int64      `json:"in_payout"`
	Paid         int64      `json:"paid"`
	Clawback     int64      `json:"clawback_outstanding"` // negative entries after payout, not yet deducted
	NextPayable  *time.Time `json:"next_payable_at"`
	NextAmount   int64      `json:"next_payable_amount"`
	PayableTotal int64      `json:"payable_net"` // payable minus outstanding clawbacks: what a payout would pay now
}

// Balances returns an affiliate's balances per currency, by currency.
// Every figure is a sum of ledger entries, classified by whether a payout
// holds them and by their commission's state now: an entry in a paid
// payout is paid, in another payout in payout; else a held commission's
// entry is held, a rejected one's counts nowhere, a clawback is
// outstanding, and the rest is pending until its commission's payable_at,
// payable from then on. NextPayable is the earliest payable_at of the
// pending entries; NextAmount what the commissions (not held or rejected)
// with that payable_at amount to.
func (l *Ledger) Balances(ctx context.Context, affiliateID int64) ([]Balance, error) {
	by, err := l.BalancesOf(ctx, []int64{affiliateID})
	if err != nil {
		return nil, err
	}
	if by[affiliateID] == nil {
		return []Balance{}, nil
	}
	return by[affiliateID], nil
}

// BalancesOf returns the balances of several affiliates at once (as
// Balances does for one), in three queries whatever their number; an
// affiliate without ledger entries has none.
//
// The sums come from affiliate_balances, which the database keeps per
// affiliate, currency and state (see the migration 2026-11-23-92), with
// the open entries (neither in a payout, held, rejected nor a clawback)
// per UTC day of their commission's payable_at: the days before today are
// payable, those after pending, and today's are split by reading the
// entries of the commissions that become payable later today. The next
// payable date is the first commission from now on, by an index on
// (affiliate_id, payable_at), with an open entry.
func (l *Ledger) BalancesOf(ctx context.Context, ids []int64) (map[int64][]Balance, error) {
	out := map[int64][]Balance{}
	if len(ids) == 0 {
		return out, nil
	}
	now := l.now()
	today := now.Truncate(24 * time.Hour)
	tomorrow := today.Add(24 * time.Hour)
	args := []any{today}
	in := inList(&args, ids)
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.BalancesOf */
		select affiliate_id, currency,
			coalesce(sum(case when state = 'open' and day < $1 then amount end), 0),
			coalesce(sum(case when state = 'open' and day = $1 then amount end), 0),
			coalesce(sum(case when state = 'open' and day > $1 then amount end), 0),
			count(case when state = 'open' and day >= $1 then 1 end),
			coalesce(sum(case when state = 'held' then amount end), 0),
			coalesce(sum(case when state = 'clawback' then amount end), 0),
			coalesce(sum(case when state = 'in_payout' then amount end), 0),
			coalesce(sum(case when state = 'paid' then amount end), 0)
		from affiliate_balances where affiliate_id in (`+in+`)
		group by affiliate_id, currency order by affiliate_id, currency`, args...)
	if err != nil {
		return nil, err
	}
	type open struct{ before, today, after, pendingToday int64 }
	type key = balanceKey
	sums := map[key]*open{}
	var maybe []key // with open entries from today on: some may be pending
	for rows.Next() {
		var aff, fromToday int64
		var b Balance
		var o open
		if err := rows.Scan(&aff, &b.Currency, &o.before, &o.today, &o.after, &fromToday, &b.Held, &b.Clawback,
			&b.InPayout, &b.Paid); err != nil {
			rows.Close()
			return nil, err
		}
		sums[key{aff, b.Currency}] = &o
		out[aff] = append(out[aff], b)
		if fromToday > 0 {
			maybe = append(maybe, key{aff, b.Currency})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	if len(maybe) > 0 {
		// Today's open entries that are still pending.
		args = []any{now, tomorrow}
		in = inList(&args, ids)
		rows, err = l.DB.R(ctx).QueryContext(ctx, `/* ledger.BalancesOf */
			select c.affiliate_id, e.currency, coalesce(sum(e.amount), 0)
			from commissions c join ledger_entries e on e.commission_id = c.id
			where c.affiliate_id in (`+in+`) and c.payable_at > $1 and c.payable_at < $2
				and c.review not in ('held', 'rejected') and e.kind <> 'clawback'
				and not exists (select 1 from payout_entries pe where pe.entry_id = e.id)
			group by c.affiliate_id, e.currency`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k key
			var amount int64
			if err := rows.Scan(&k.affiliate, &k.currency, &amount); err != nil {
				rows.Close()
				return nil, err
			}
			if o := sums[k]; o != nil {
				o.pendingToday = amount
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	next, err := l.nextPayable(ctx, now, maybe)
	if err != nil {
		return nil, err
	}
	for aff, list := range out {
		for i := range list {
			b := &list[i]
			k := key{aff, b.Currency}
			o := sums[k]
			b.Pending = o.after + o.pendingToday
			b.Payable = o.before + o.today - o.pendingToday
			b.PayableTotal = b.Payable + b.Clawback
			if n, ok := next[k]; ok {
				b.NextPayable, b.NextAmount = &n.at, n.amount
			}
		}
	}
	return out, nil
}

// balanceKey is an affiliate's balance in one currency.
type balanceKey struct {
	affiliate int64
	currency  string
}

type nextPay struct {
	at     time.Time
	amount int64
}

// nextPayable returns, for each affiliate and currency of keys that has
// pending entries, the earliest payable_at after now of its open entries,
// and what the commissions (not held or rejected) with that payable_at
// amount to: one query, a probe of an index or two per key.
func (l *Ledger) nextPayable(ctx context.Context, now time.Time, keys []balanceKey) (map[balanceKey]nextPay, error) {
	out := map[balanceKey]nextPay{}
	if len(keys) == 0 {
		return out, nil
	}
	args := []any{now}
	values := make([]string, len(keys))
	for i, k := range keys {
		values[i] = "(cast(" + param(&args, k.affiliate) + " as bigint), cast(" + param(&args, k.currency) + " as text))"
	}
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.nextPayable */
		with k (affiliate_id, currency) as (values `+strings.Join(values, ", ")+`),
		n as materialized (select k.affiliate_id, k.currency, (select c.payable_at from commissions c
				where c.affiliate_id = k.affiliate_id and c.payable_at > $1 and c.review not in ('held', 'rejected')
				and exists (select 1 from ledger_entries e where e.commission_id = c.id and e.currency = k.currency
					and e.kind <> 'clawback' and not exists (select 1 from payout_entries pe where pe.entry_id = e.id))
				order by c.payable_at limit 1) as at
			from k)
		select n.affiliate_id, n.currency, n.at, (select coalesce(sum(c.amount), 0) from commissions c
				where c.affiliate_id = n.affiliate_id and c.currency = n.currency and c.payable_at = n.at
				and c.review not in ('held', 'rejected'))
		from n where n.at is not null`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k balanceKey
		var n nextPay
		if err := rows.Scan(&k.affiliate, &k.currency, &scanTime{&n.at}, &n.amount); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// inList appends ids to args and returns their placeholders, comma-separated.
func inList(args *[]any, ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(param(args, id))
	}
	return b.String()
}
