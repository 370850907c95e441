package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/program"
)

// oracleBalances is Balances as it was before affiliate_balances: every
// ledger entry of the affiliate, classified in Go. The definition the fast
// path must keep, exactly.
func oracleBalances(ctx context.Context, l *Ledger, affiliateID int64) ([]Balance, error) {
	now := l.now()
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.oracleBalances */
		select e.currency, e.kind, e.amount, c.review, c.payable_at, p.status
		from ledger_entries e
		join commissions c on c.id = e.commission_id
		left join payout_entries pe on pe.entry_id = e.id
		left join payouts p on p.id = pe.payout_id
		where e.affiliate_id = $1`, affiliateID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	by := map[string]*Balance{}
	var order []string
	for rows.Next() {
		var cur, kind, review string
		var amount int64
		var payableAt time.Time
		var payout sql.NullString
		if err := rows.Scan(&cur, &kind, &amount, &review, &payableAt, &payout); err != nil {
			return nil, err
		}
		b := by[cur]
		if b == nil {
			b = &Balance{Currency: cur}
			by[cur] = b
			order = append(order, cur)
		}
		switch {
		case payout.String == "paid":
			b.Paid += amount
		case payout.Valid:
			b.InPayout += amount
		case review == "held":
			b.Held += amount
		case review == "rejected":
		case kind == EntryClawback:
			b.Clawback += amount
		case payableAt.After(now):
			b.Pending += amount
			pa := payableAt.UTC()
			if b.NextPayable == nil || pa.Before(*b.NextPayable) {
				b.NextPayable = &pa
			}
		default:
			b.Payable += amount
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Balance, 0, len(order))
	for _, cur := range order {
		b := by[cur]
		b.PayableTotal = b.Payable + b.Clawback
		out = append(out, *b)
	}
	for i := range out {
		if out[i].NextPayable == nil {
			continue
		}
		err := l.DB.R(ctx).QueryRowContext(ctx, `/* ledger.oracleBalances */
			select coalesce(sum(c.amount), 0) from commissions c where c.affiliate_id = $1 and c.currency = $2
			and c.payable_at = $3 and c.review not in ('held', 'rejected')`,
			affiliateID, out[i].Currency, *out[i].NextPayable).Scan(&out[i].NextAmount)
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out, nil
}

// balanceWorld drives a random ledger for TestPropertyBalances.
type balanceWorld struct {
	f       *fixture
	r       *rand.Rand
	affs    []*program.Affiliate
	orders  []placed // sales delivered (or to be)
	payouts []int64  // created, not yet paid or cancelled
	seq     int
}

type placed struct {
	ref, currency string
	gross         int64
	affiliate     int // index in affs; -1: unattributed
}

func (w *balanceWorld) ctx() context.Context { return context.Background() }

// step does one random thing to the ledger and says what.
func (w *balanceWorld) step() string {
	f, r := w.f, w.r
	ctx := w.ctx()
	w.seq++
	switch n := r.IntN(100); {
	case n < 30: // a sale, maybe a self-referral, maybe unattributed, maybe from the past
		ai := r.IntN(len(w.affs) + 1)
		a := (*program.Affiliate)(nil)
		if ai < len(w.affs) {
			a = w.affs[ai]
		} else {
			ai = -1
		}
		o := placed{ref: fmt.Sprintf("o%d", w.seq), currency: []string{"USD", "EUR"}[r.IntN(2)], gross: 1 + r.Int64N(20000), affiliate: ai}
		ev := payments.Event{Kind: payments.KindSale, EventID: "sale-" + o.ref, OrderID: o.ref, Currency: o.currency,
			Gross: o.gross, Net: o.gross, NetReported: true, OccurredAt: f.now.Add(-time.Duration(r.Int64N(int64(72 * time.Hour))))}
		if r.IntN(8) == 0 {
			ev.OccurredAt = f.now.Truncate(24 * time.Hour).Add(-time.Duration(r.IntN(4)) * 24 * time.Hour) // a midnight
		}
		if a != nil {
			ev.Coupon = a.CouponCode
			if r.IntN(5) == 0 {
				ev.CustomerEmail = a.Email // held for review
			}
		}
		if r.IntN(10) == 0 { // its refund arrives first
			f.ingest(payments.Event{Kind: payments.KindRefund, EventID: "early-" + o.ref, RefundID: "early-" + o.ref, OrderID: o.ref,
				Currency: o.currency, Refund: o.gross / 3, RefundNet: o.gross / 3, RefundNetReported: true, OccurredAt: ev.OccurredAt})
		}
		f.ingest(ev)
		w.orders = append(w.orders, o)
		return "sale " + o.ref
	case n < 45: // a partial refund, a full one, a chargeback or its reversal
		if len(w.orders) == 0 {
			return "nothing to refund"
		}
		o := w.orders[r.IntN(len(w.orders))]
		ev := payments.Event{Kind: payments.KindRefund, EventID: fmt.Sprintf("ref-%d", w.seq), RefundID: fmt.Sprintf("re-%d", w.seq),
			OrderID: o.ref, Currency: o.currency, Refund: 1 + r.Int64N(o.gross), RefundNetReported: true}
		ev.RefundNet = ev.Refund
		switch r.IntN(4) {
		case 0:
			ev.Kind, ev.RefundID, ev.Refund, ev.RefundNetReported = payments.KindChargeback, "dp-"+o.ref, o.gross, false
		case 1:
			ev.Kind, ev.RefundID, ev.Refund, ev.RefundNetReported = payments.KindChargebackReversed, "dp-"+o.ref, o.gross, false
		}
		f.ingest(ev)
		return fmt.Sprintf("%s of %s", ev.Kind, o.ref)
	case n < 52: // the owner reviews a held commission
		list, _, err := f.l.Commissions(ctx, CommissionFilter{Status: StatusHeld, Limit: 1000})
		if err != nil {
			f.t.Fatal(err)
		}
		if len(list) == 0 {
			return "nothing held"
		}
		c := list[r.IntN(len(list))]
		approve := r.IntN(2) == 0
		if err := f.l.Review(ctx, c.ID, approve); err != nil {
			f.t.Fatal(err)
		}
		return fmt.Sprintf("review %d approve=%v", c.ID, approve)
	case n < 57: // the owner attributes an unattributed order
		for _, o := range w.orders {
			if o.affiliate >= 0 {
				continue
			}
			list, _, err := f.l.Orders(ctx, OrderFilter{Unattributed: true, Limit: 1000})
			if err != nil {
				f.t.Fatal(err)
			}
			if len(list) == 0 {
				return "nothing to attribute"
			}
			a := w.affs[r.IntN(len(w.affs))]
			if _, err := f.l.AttributeOrder(ctx, list[0].ID, a.ID); err != nil {
				f.t.Fatal(err)
			}
			return fmt.Sprintf("attribute order %d to %d", list[0].ID, a.ID)
		}
		return "nothing to attribute"
	case n < 67: // a payout
		var prog int64
		if r.IntN(3) == 0 {
			prog = f.prog.ID
		}
		p, err := f.l.CreatePayout(ctx, prog, f.now.Add(-time.Duration(r.Int64N(int64(48*time.Hour)))))
		if err != nil {
			return "no payout: " + err.Error()
		}
		w.payouts = append(w.payouts, p.ID)
		return fmt.Sprintf("payout %d", p.ID)
	case n < 77: // a created payout is paid or cancelled
		if len(w.payouts) == 0 {
			return "no payout to settle"
		}
		i := r.IntN(len(w.payouts))
		id := w.payouts[i]
		w.payouts = append(w.payouts[:i], w.payouts[i+1:]...)
		var err error
		what := "paid"
		if r.IntN(3) == 0 {
			what = "cancelled"
			_, err = f.l.CancelPayout(ctx, id)
		} else {
			_, err = f.l.MarkPaid(ctx, id)
		}
		if err != nil {
			f.t.Fatal(err)
		}
		return fmt.Sprintf("payout %d %s", id, what)
	default: // time passes: hours, days, or exactly to a commission's payable_at
		switch r.IntN(4) {
		case 0:
			var at time.Time
			if err := f.d.R(ctx).QueryRowContext(ctx, `select payable_at from commissions where payable_at > $1 order by payable_at limit 1`,
				f.now).Scan(&at); err == nil {
				f.now = at.UTC()
				return "now = the next payable_at"
			}
			fallthrough
		case 1:
			f.now = f.now.Add(time.Duration(1+r.IntN(30)) * time.Hour)
		case 2:
			f.now = f.now.Truncate(24 * time.Hour).Add(24 * time.Hour) // midnight
		default:
			f.now = f.now.AddDate(0, 0, 1+r.IntN(3)).Add(time.Duration(r.Int64N(int64(time.Hour))))
		}
		f.now = db.Time(f.now)
		return "time passes to " + f.now.Format(time.RFC3339Nano)
	}
}

// check compares Balances and BalancesOf with the oracle for every
// affiliate, and affiliate_balances with a recomputation from the entries.
func (w *balanceWorld) check(t *testing.T, what string) {
	t.Helper()
	ctx := w.ctx()
	ids := make([]int64, len(w.affs))
	for i, a := range w.affs {
		ids[i] = a.ID
	}
	all, err := w.f.l.BalancesOf(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range w.affs {
		want, err := oracleBalances(ctx, w.f.l, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.f.l.Balances(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after %s, at %s: affiliate %d:\n Balances %+v\n   oracle %+v", what, w.f.now, a.ID, show(got), show(want))
		}
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(all[a.ID], want) {
			t.Fatalf("after %s: affiliate %d: BalancesOf %+v, oracle %+v", what, a.ID, show(all[a.ID]), show(want))
		}
	}
	sums := func(q string) map[string]int64 {
		rows, err := w.f.d.R(ctx).QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var aff, amount int64
			var cur, state string
			var day time.Time
			if err := rows.Scan(&aff, &cur, &state, &scanTime{&day}, &amount); err != nil {
				t.Fatal(err)
			}
			if amount != 0 {
				out[fmt.Sprintf("%d %s %s %s", aff, cur, state, day.UTC().Format(time.DateOnly))] = amount
			}
		}
		return out
	}
	got := sums(`select affiliate_id, currency, state, day, amount from affiliate_balances`)
	want := sums(`select affiliate_id, currency, state, day, sum(amount) from entry_balances group by affiliate_id, currency, state, day`)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after %s: affiliate_balances %v, recomputed %v", what, got, want)
	}
}

// show prints balances with their next payable date readable.
func show(bs []Balance) []string {
	var out []string
	for _, b := range bs {
		next := "-"
		if b.NextPayable != nil {
			next = b.NextPayable.Format(time.RFC3339Nano)
		}
		out = append(out, fmt.Sprintf("%s pending %d payable %d held %d in_payout %d paid %d clawback %d next %s/%d total %d",
			b.Currency, b.Pending, b.Payable, b.Held, b.InPayout, b.Paid, b.Clawback, next, b.NextAmount, b.PayableTotal))
	}
	return out
}

// For random ledgers (sales, self-referrals held for review and then
// approved or rejected, refunds before and after their sales, partial and
// full, chargebacks and their reversals, manual attributions, payouts
// created, paid and cancelled, clawbacks, and time passing across
// payable_at, midnight and the exact payable moment), Balances equals the
// straightforward classification of every entry after every step, and
// affiliate_balances equals its recomputation from the entries.
func TestPropertyBalances(t *testing.T) {
	runs, steps := 4, 100
	if testing.Short() {
		runs, steps = 2, 60
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for run := range runs {
			seed := uint64(run*104729 + 3)
			r := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
			f := newFixture(t, freshLike(t, d), func(p *program.Program) { p.HoldDays = 1 + r.IntN(3) })
			w := &balanceWorld{f: f, r: r, affs: []*program.Affiliate{f.anna}}
			for _, code := range []string{"bea", "cid"} {
				a := program.NewAffiliate()
				a.ProgramID, a.Name, a.Email, a.Code, a.CouponCode = f.prog.ID, code, code+"@example.com", code, code+"-coupon"
				if err := f.progs.CreateAffiliate(w.ctx(), a); err != nil {
					t.Fatal(err)
				}
				w.affs = append(w.affs, a)
			}
			for range steps {
				what := w.step()
				w.check(t, fmt.Sprintf("seed %d: %s", seed, what))
			}
			f.verify()
		}
	})
}
