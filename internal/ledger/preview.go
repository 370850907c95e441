package ledger

import (
	"context"
	"sort"
	"strings"
	"time"

	"affiliated/internal/db"
)

// PayoutPreview is what CreatePayout would pay now, computed without
// writing anything: the lines it would create, and the balances that
// would carry over (negative, or below the program's minimum).
type PayoutPreview struct {
	ProgramID   int64        `json:"program_id,omitempty"`
	Before      time.Time    `json:"before"`
	Lines       []PayoutLine `json:"lines"`
	CarriedOver []PayoutLine `json:"carried_over"`
	// Totals per currency of Lines.
	Totals map[string]int64 `json:"totals"`
}

// PreviewPayout computes the groups that CreatePayout(ctx, programID,
// before) would make, with the same selection and the same rules (per
// affiliate and currency, payable entries not yet in a payout, a positive
// total reaching the program's minimum), but only reads. A payout created
// afterwards can differ if commissions become payable, refunds arrive or
// another payout is created in between.
func (l *Ledger) PreviewPayout(ctx context.Context, programID int64, before time.Time) (*PayoutPreview, error) {
	now := l.now()
	if before.IsZero() || before.After(now) {
		before = now
	}
	before = db.Time(before)
	groups, err := l.payableGroups(ctx, programID, before)
	if err != nil {
		return nil, err
	}
	out := &PayoutPreview{ProgramID: programID, Before: before.UTC(), Lines: []PayoutLine{}, CarriedOver: []PayoutLine{},
		Totals: map[string]int64{}}
	for k, g := range groups {
		ln := PayoutLine{AffiliateID: k.affiliate, Currency: k.currency}
		seen := map[int64]bool{}
		for _, c := range g {
			ln.Amount += c.amount
			if c.kind == EntryClawback {
				ln.Clawbacks += c.amount
			}
			if c.kind == EntryEarned && !seen[c.commission] {
				seen[c.commission] = true
				ln.CommissionIDs = append(ln.CommissionIDs, c.commission)
			}
		}
		ln.Commissions = len(ln.CommissionIDs)
		sort.Slice(ln.CommissionIDs, func(i, j int) bool { return ln.CommissionIDs[i] < ln.CommissionIDs[j] })
		if ln.Amount > 0 && ln.Amount >= g[0].minPayout {
			out.Lines = append(out.Lines, ln)
			out.Totals[ln.Currency] += ln.Amount
		} else {
			out.CarriedOver = append(out.CarriedOver, ln)
		}
	}
	for _, list := range [][]PayoutLine{out.Lines, out.CarriedOver} {
		sort.Slice(list, func(i, j int) bool {
			if list[i].AffiliateID != list[j].AffiliateID {
				return list[i].AffiliateID < list[j].AffiliateID
			}
			return list[i].Currency < list[j].Currency
		})
		if err := l.nameLines(ctx, list); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nameLines fills in who each line's affiliate is.
func (l *Ledger) nameLines(ctx context.Context, lines []PayoutLine) error {
	if len(lines) == 0 {
		return nil
	}
	var args []any
	ph := make([]string, 0, len(lines))
	seen := map[int64]bool{}
	for _, ln := range lines {
		if !seen[ln.AffiliateID] {
			seen[ln.AffiliateID] = true
			ph = append(ph, param(&args, ln.AffiliateID))
		}
	}
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.nameLines */
		select id, name, email, payout_email from affiliates where id in (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	type who struct{ name, email, payout string }
	by := map[int64]who{}
	for rows.Next() {
		var id int64
		var w who
		if err := rows.Scan(&id, &w.name, &w.email, &w.payout); err != nil {
			return err
		}
		by[id] = w
	}
	for i := range lines {
		w := by[lines[i].AffiliateID]
		lines[i].Name, lines[i].Email, lines[i].PayoutEmail = w.name, w.email, w.payout
	}
	return rows.Err()
}
