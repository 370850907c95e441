package ledger

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/money"
)

// Payout is a batch of payments to affiliates.
type Payout struct {
	ID          int64        `json:"id"`
	ProgramID   *int64       `json:"program_id"`
	Before      time.Time    `json:"before"`
	Status      string       `json:"status"` // created, paid, cancelled
	CreatedAt   time.Time    `json:"created_at"`
	PaidAt      *time.Time   `json:"paid_at"`
	CancelledAt *time.Time   `json:"cancelled_at"`
	Lines       []PayoutLine `json:"lines,omitempty"`
}

// PayoutLine is what one affiliate receives in one currency.
type PayoutLine struct {
	ID            int64   `json:"id"`
	AffiliateID   int64   `json:"affiliate_id"`
	Name          string  `json:"name"`
	Email         string  `json:"email"`
	PayoutEmail   string  `json:"payout_email"`
	Currency      string  `json:"currency"`
	Amount        int64   `json:"amount"`
	Commissions   int     `json:"commissions"`
	Clawbacks     int64   `json:"clawbacks"` // deducted (negative)
	CommissionIDs []int64 `json:"commission_ids,omitempty"`
}

type candidate struct {
	entry, commission, affiliate int64
	currency, kind               string
	amount, minPayout            int64
}

type lineKey struct {
	affiliate int64
	currency  string
}

// CreatePayout pays, per affiliate and currency, every payable ledger entry
// not yet in a payout (commissions past their hold, minus clawbacks), where
// the total reaches the program's minimum. A negative or too small total
// carries over. Entries are claimed through a unique index, so two payouts
// created at once never take the same entry.
func (l *Ledger) CreatePayout(ctx context.Context, programID int64, before time.Time) (*Payout, error) {
	now := l.now()
	if before.IsZero() || before.After(now) {
		before = now
	}
	before = db.Time(before)
	var payoutID int64
	err := l.DB.TX(ctx, func(ctx context.Context) error {
		groups, err := l.payableGroups(ctx, programID, before)
		if err != nil {
			return err
		}
		keys := make([]lineKey, 0, len(groups))
		for k, g := range groups {
			var total int64
			for _, c := range g {
				total += c.amount
			}
			if total > 0 && total >= g[0].minPayout {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return apperr.Conflict("nothing_payable", "", "nothing is payable: no affiliate's payable balance reaches the minimum")
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].affiliate != keys[j].affiliate {
				return keys[i].affiliate < keys[j].affiliate
			}
			return keys[i].currency < keys[j].currency
		})
		var prog any
		if programID != 0 {
			prog = programID
		}
		if err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.CreatePayout */
			insert into payouts (program_id, before_at, status, created_at) values ($1, $2, 'created', $3) returning id`,
			prog, before, now).Scan(&payoutID); err != nil {
			return err
		}
		for _, k := range keys {
			var total, clawbacks int64
			commissions := map[int64]bool{}
			for _, c := range groups[k] {
				if _, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.CreatePayout */
					insert into payout_entries (payout_id, entry_id) values ($1, $2)`, payoutID, c.entry); err != nil {
					if db.IsUnique(err) {
						return apperr.Conflict("concurrent_payout", "", "another payout took some of these commissions; try again")
					}
					return err
				}
				total += c.amount
				if c.kind == EntryClawback {
					clawbacks += c.amount
				}
				if c.kind == EntryEarned {
					commissions[c.commission] = true
				}
			}
			if _, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.CreatePayout */
				insert into payout_lines (payout_id, affiliate_id, currency, amount, commissions, clawbacks)
				values ($1, $2, $3, $4, $5, $6)`, payoutID, k.affiliate, k.currency, total, len(commissions), clawbacks); err != nil {
				return err
			}
		}
		return l.Programs.Audit.Record(ctx, "payout.create", "payout", payoutID, map[string]any{"lines": len(keys), "before": before})
	})
	if err != nil {
		return nil, err
	}
	return l.Payout(ctx, payoutID)
}

// payableGroups selects, per affiliate and currency, the ledger entries a
// payout made now would take: entries not yet in a payout whose commission
// is past its hold (by before) and not held or rejected. CreatePayout and
// PreviewPayout share it, so a preview shows exactly what creation would do.
func (l *Ledger) payableGroups(ctx context.Context, programID int64, before time.Time) (map[lineKey][]candidate, error) {
	args := []any{before}
	q := `/* ledger.payableGroups */
		select e.id, e.commission_id, e.affiliate_id, e.currency, e.kind, e.amount, p.min_payout
		from ledger_entries e
		join commissions c on c.id = e.commission_id
		join programs p on p.id = c.program_id
		where c.payable_at <= $1 and c.review not in ('held', 'rejected')
		and not exists (select 1 from payout_entries pe where pe.entry_id = e.id)`
	if programID != 0 {
		q += ` and c.program_id = ` + param(&args, programID)
	}
	rows, err := l.DB.R(ctx).QueryContext(ctx, q+` order by e.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	groups := map[lineKey][]candidate{}
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.entry, &c.commission, &c.affiliate, &c.currency, &c.kind, &c.amount, &c.minPayout); err != nil {
			return nil, err
		}
		k := lineKey{c.affiliate, c.currency}
		groups[k] = append(groups[k], c)
	}
	return groups, rows.Err()
}

const payoutCols = `id, program_id, before_at, status, created_at, paid_at, cancelled_at`

func scanPayout(row interface{ Scan(...any) error }) (*Payout, error) {
	var p Payout
	var prog sql.NullInt64
	var paid, cancelled sql.NullTime
	if err := row.Scan(&p.ID, &prog, &p.Before, &p.Status, &p.CreatedAt, &paid, &cancelled); err != nil {
		return nil, err
	}
	p.ProgramID = ptr(prog)
	p.Before, p.CreatedAt = p.Before.UTC(), p.CreatedAt.UTC()
	if paid.Valid {
		t := paid.Time.UTC()
		p.PaidAt = &t
	}
	if cancelled.Valid {
		t := cancelled.Time.UTC()
		p.CancelledAt = &t
	}
	return &p, nil
}

// Payouts lists payouts, newest first.
func (l *Ledger) Payouts(ctx context.Context) ([]*Payout, error) {
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.Payouts */ select `+payoutCols+` from payouts order by id desc limit 500`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Payout{}
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Payout returns a payout with its lines and the commissions in each.
func (l *Ledger) Payout(ctx context.Context, id int64) (*Payout, error) {
	p, err := scanPayout(l.DB.R(ctx).QueryRowContext(ctx, `/* ledger.Payout */ select `+payoutCols+` from payouts where id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("payout")
	}
	if err != nil {
		return nil, err
	}
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.Payout */
		select pl.id, pl.affiliate_id, a.name, a.email, a.payout_email, pl.currency, pl.amount, pl.commissions, pl.clawbacks
		from payout_lines pl join affiliates a on a.id = pl.affiliate_id where pl.payout_id = $1 order by pl.id`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var ln PayoutLine
		if err := rows.Scan(&ln.ID, &ln.AffiliateID, &ln.Name, &ln.Email, &ln.PayoutEmail, &ln.Currency, &ln.Amount,
			&ln.Commissions, &ln.Clawbacks); err != nil {
			rows.Close()
			return nil, err
		}
		p.Lines = append(p.Lines, ln)
	}
	rows.Close()
	crow, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.Payout */
		select distinct e.affiliate_id, e.currency, e.commission_id from payout_entries pe
		join ledger_entries e on e.id = pe.entry_id where pe.payout_id = $1 and e.kind = 'earned' order by e.commission_id`, id)
	if err != nil {
		return nil, err
	}
	defer crow.Close()
	for crow.Next() {
		var aff, cid int64
		var cur string
		if err := crow.Scan(&aff, &cur, &cid); err != nil {
			return nil, err
		}
		for i := range p.Lines {
			if p.Lines[i].AffiliateID == aff && p.Lines[i].Currency == cur {
				p.Lines[i].CommissionIDs = append(p.Lines[i].CommissionIDs, cid)
			}
		}
	}
	return p, crow.Err()
}

// MarkPaid records that a payout was paid; its commissions become paid.
func (l *Ledger) MarkPaid(ctx context.Context, id int64) (*Payout, error) {
	err := l.DB.TX(ctx, func(ctx context.Context) error {
		res, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.MarkPaid */
			update payouts set status = 'paid', paid_at = $1 where id = $2 and status = 'created'`, l.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return l.payoutStateErr(ctx, id, "paid")
		}
		rows, err := l.DB.Q(ctx).QueryContext(ctx, `select affiliate_id from payout_lines where payout_id = $1`, id)
		if err != nil {
			return err
		}
		var affs []int64
		for rows.Next() {
			var a int64
			if err := rows.Scan(&a); err != nil {
				rows.Close()
				return err
			}
			affs = append(affs, a)
		}
		rows.Close()
		for _, a := range affs {
			if err := l.notify(ctx, Notice{Type: "payout.paid", Key: fmt.Sprintf("payout:%d:paid:%d", id, a), PayoutID: id, AffiliateID: a}); err != nil {
				return err
			}
		}
		return l.Programs.Audit.Record(ctx, "payout.paid", "payout", id, nil)
	})
	if err != nil {
		return nil, err
	}
	return l.Payout(ctx, id)
}

// CancelPayout releases an unpaid payout's entries for a later payout.
func (l *Ledger) CancelPayout(ctx context.Context, id int64) (*Payout, error) {
	err := l.DB.TX(ctx, func(ctx context.Context) error {
		res, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.CancelPayout */
			update payouts set status = 'cancelled', cancelled_at = $1 where id = $2 and status = 'created'`, l.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return l.payoutStateErr(ctx, id, "cancelled")
		}
		if _, err := l.DB.Q(ctx).ExecContext(ctx, `delete from payout_entries where payout_id = $1`, id); err != nil {
			return err
		}
		return l.Programs.Audit.Record(ctx, "payout.cancel", "payout", id, nil)
	})
	if err != nil {
		return nil, err
	}
	return l.Payout(ctx, id)
}

func (l *Ledger) payoutStateErr(ctx context.Context, id int64, want string) error {
	var status string
	err := l.DB.Q(ctx).QueryRowContext(ctx, `select status from payouts where id = $1`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.NotFound("payout")
	}
	if err != nil {
		return err
	}
	return apperr.Conflict("payout_"+status, "", "the payout is %s; it cannot become %s", status, want)
}

// WritePayoutCSV writes a payout for bulk payment (PayPal, Wise): one row
// per affiliate and currency, the amount in major units.
func WritePayoutCSV(w io.Writer, p *Payout) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"affiliate_name", "email", "payout_email", "currency", "amount", "commissions"})
	for _, ln := range p.Lines {
		to := ln.PayoutEmail
		if to == "" {
			to = ln.Email
		}
		_ = cw.Write([]string{csvSafe(ln.Name), ln.Email, to, ln.Currency, money.FormatMajor(ln.Amount, ln.Currency), strconv.Itoa(ln.Commissions)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formulas in text a user typed.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
