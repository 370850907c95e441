package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/program"
)

// oracleStatusSQL is how statusSQL derived a status before.
const oracleStatusSQL = `case
	when c.review = 'rejected' then 'rejected'
	when c.review = 'held' then 'held'
	when exists (select 1 from ledger_entries e join payout_entries pe on pe.entry_id = e.id join payouts p on p.id = pe.payout_id
		where e.commission_id = c.id and e.kind = 'earned' and p.status = 'paid') then 'paid'
	when exists (select 1 from ledger_entries e join payout_entries pe on pe.entry_id = e.id
		where e.commission_id = c.id and e.kind = 'earned') then 'in_payout'
	when c.amount = 0 and exists (select 1 from ledger_entries e where e.commission_id = c.id and e.kind = 'reversed') then 'reversed'
	when c.payable_at > $1 then 'pending'
	else 'payable' end`

const oracleSelect = `select c.id, c.order_id, c.affiliate_id, c.program_id, o.platform, o.order_ref, o.product_name,
	o.gross, o.net, c.currency, c.rate_bps, c.flat_amount, c.amount, ` + oracleStatusSQL + ` as status, c.review, c.payable_at, c.created_at,
	o.occurred_at
	from commissions c join orders o on o.id = c.order_id`

// oracleCommissions is Commissions as it was before it chose the page
// first: the status of every commission the filter selects, then the page.
func oracleCommissions(ctx context.Context, l *Ledger, f CommissionFilter) ([]*Commission, string, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	args := []any{l.now()}
	conds := []string{"c.id > " + param(&args, f.After)}
	if f.AffiliateID != 0 {
		conds = append(conds, "c.affiliate_id = "+param(&args, f.AffiliateID))
	}
	if f.ProgramID != 0 {
		conds = append(conds, "c.program_id = "+param(&args, f.ProgramID))
	}
	if f.Platform != "" {
		conds = append(conds, "o.platform = "+param(&args, f.Platform))
	}
	if !f.From.IsZero() {
		conds = append(conds, "o.occurred_at >= "+param(&args, db.Time(f.From)))
	}
	if !f.To.IsZero() {
		conds = append(conds, "o.occurred_at < "+param(&args, db.Time(f.To)))
	}
	q := `/* ledger.oracleCommissions */ select * from (` + oracleSelect + ` where ` + strings.Join(conds, " and ") + `) x`
	if f.Status != "" {
		q += ` where x.status = ` + param(&args, f.Status)
	}
	q += ` order by x.id limit ` + param(&args, f.Limit)
	rows, err := l.DB.R(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []*Commission{}
	for rows.Next() {
		c, err := scanCommission(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
	next := ""
	if len(out) == f.Limit {
		next = strconv.FormatInt(out[len(out)-1].ID, 10)
	}
	return out, next, rows.Err()
}

// For random ledgers and random filters (affiliate, program, status,
// platform, a range of order times, a cursor, a page size), Commissions
// lists what the straightforward query lists, with the same statuses; a
// commission's occurred_at stays its order's, even when the order's
// changes.
func TestPropertyCommissions(t *testing.T) {
	runs, steps := 3, 80
	if testing.Short() {
		runs, steps = 2, 50
	}
	statuses := []string{"", StatusPending, StatusPayable, StatusHeld, StatusInPayout, StatusPaid, StatusReversed, StatusRejected}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for run := range runs {
			seed := uint64(run*7727 + 5)
			r := rand.New(rand.NewPCG(seed, seed^0x94d049bb133111eb))
			f := newFixture(t, freshLike(t, d), func(p *program.Program) { p.HoldDays = 1 + r.IntN(3) })
			w := &balanceWorld{f: f, r: r, affs: []*program.Affiliate{f.anna}}
			a := program.NewAffiliate()
			a.ProgramID, a.Name, a.Email, a.Code, a.CouponCode = f.prog.ID, "bea", "bea@example.com", "bea", "bea-coupon"
			if err := f.progs.CreateAffiliate(w.ctx(), a); err != nil {
				t.Fatal(err)
			}
			w.affs = append(w.affs, a)
			start := f.now
			for range steps {
				what := w.step()
				if r.IntN(10) == 0 {
					what += ", " + moveOrder(t, f, r)
				}
				var wrong int
				if err := f.d.R(w.ctx()).QueryRowContext(w.ctx(), `select count(*) from commissions c join orders o on o.id = c.order_id
					where c.occurred_at is null or c.occurred_at <> o.occurred_at`).Scan(&wrong); err != nil {
					t.Fatal(err)
				}
				if wrong > 0 {
					t.Fatalf("seed %d, after %s: %d commissions' occurred_at differ from their orders'", seed, what, wrong)
				}
				for range 3 {
					cf := CommissionFilter{Status: statuses[r.IntN(len(statuses))], Limit: []int{0, 1, 3, 10}[r.IntN(4)]}
					if r.IntN(2) == 0 {
						cf.AffiliateID = w.affs[r.IntN(len(w.affs))].ID
					}
					if r.IntN(4) == 0 {
						cf.ProgramID = f.prog.ID
					}
					if r.IntN(4) == 0 {
						cf.Platform = []string{"shop", "other"}[r.IntN(2)]
					}
					if r.IntN(3) == 0 {
						cf.From = start.Add(time.Duration(r.Int64N(int64(f.now.Sub(start) + time.Hour))))
					}
					if r.IntN(3) == 0 {
						cf.To = start.Add(time.Duration(r.Int64N(int64(f.now.Sub(start) + time.Hour))))
					}
					if r.IntN(3) == 0 {
						cf.After = r.Int64N(int64(w.seq) + 1)
					}
					got, gotNext, err := f.l.Commissions(w.ctx(), cf)
					if err != nil {
						t.Fatal(err)
					}
					want, wantNext, err := oracleCommissions(w.ctx(), f.l, cf)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) || gotNext != wantNext {
						t.Fatalf("seed %d, after %s: Commissions(%+v) =\n%s next %q, want\n%s next %q", seed, what, cf,
							listed(got), gotNext, listed(want), wantNext)
					}
				}
			}
		}
	})
}

// moveOrder changes the time of a random order with a commission, as no
// code does yet: the commission's copy must follow.
func moveOrder(t *testing.T, f *fixture, r *rand.Rand) string {
	ctx := context.Background()
	var id int64
	var at time.Time
	err := f.d.R(ctx).QueryRowContext(ctx, `select o.id, o.occurred_at from orders o join commissions c on c.order_id = o.id
		order by o.id limit 1 offset $1`, r.IntN(5)).Scan(&id, &at)
	if err != nil {
		return "no order to move"
	}
	at = db.Time(at.Add(time.Duration(r.Int64N(int64(48*time.Hour))) - 24*time.Hour))
	if _, err := f.d.Q(ctx).ExecContext(ctx, `update orders set occurred_at = $1 where id = $2`, at, id); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("order %d moved to %s", id, at)
}

func listed(cs []*Commission) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %d %s %d\n", c.ID, c.Status, c.Amount)
	}
	return b.String()
}
