package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/money"
	"affiliated/internal/program"
)

// Entry kinds.
const (
	EntryEarned   = "earned"   // the commission on a sale or renewal
	EntryReversed = "reversed" // taken back by a refund or chargeback before payout
	EntryRestored = "restored" // given back by a won chargeback
	EntryClawback = "clawback" // taken back after the commission was in a payout
	EntryRejected = "rejected" // the owner rejected a held commission
)

// Commission statuses, derived on read.
const (
	StatusPending  = "pending" // in the refund window
	StatusPayable  = "payable" // the window has passed
	StatusHeld     = "held"    // waiting for the owner's review (self-referral)
	StatusInPayout = "in_payout"
	StatusPaid     = "paid"
	StatusReversed = "reversed" // refunded or charged back to zero before payout
	StatusRejected = "rejected"
)

// rule is how a commission is computed.
type rule struct {
	rateBps int64
	flat    int64 // minor units of the order's currency; > 0 replaces the rate
}

// amount returns the commission on o after its refunds: rate × (net −
// refunded net), rounded half up to the minor unit; or the flat amount
// reduced in proportion to what was refunded. Computing the whole each time
// (and booking the difference) makes the pieces always sum to the whole.
func (r rule) amount(o *Order) int64 {
	remaining := min(max(o.Net-o.RefundedNet, 0), max(o.Net, 0))
	if r.flat > 0 {
		if o.Net <= 0 {
			return 0
		}
		return mulDiv(r.flat, remaining, o.Net)
	}
	return money.MulBps(remaining, r.rateBps)
}

// ruleFor returns the rule for an order: the affiliate's override, then the
// product's, then the program's (a flat amount only in its own currency).
func (l *Ledger) ruleFor(ctx context.Context, o *Order, a *program.Affiliate, p *program.Program) (rule, error) {
	if a.CommissionRateBps != nil {
		return rule{rateBps: int64(*a.CommissionRateBps)}, nil
	}
	if o.ProductID != "" {
		var rate, flat int64
		var cur string
		err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.ruleFor */
			select rate_bps, flat_amount, flat_currency from product_rates where program_id = $1 and product_id = $2`,
			p.ID, o.ProductID).Scan(&rate, &flat, &cur)
		switch {
		case err == nil:
			if flat > 0 && strings.EqualFold(cur, o.Currency) {
				return rule{flat: flat}, nil
			}
			if flat == 0 {
				return rule{rateBps: rate}, nil
			}
		case !errors.Is(err, sql.ErrNoRows):
			return rule{}, err
		}
	}
	if p.FlatAmount > 0 && strings.EqualFold(p.FlatCurrency, o.Currency) {
		return rule{flat: p.FlatAmount}, nil
	}
	return rule{rateBps: int64(p.CommissionRateBps)}, nil
}

// eligible applies the program's recurring rule to a renewal.
func (l *Ledger) eligible(ctx context.Context, o *Order, p *program.Program) (bool, error) {
	if o.Kind != "renewal" {
		return true, nil
	}
	switch {
	case p.Recurring == "forever":
		return true, nil
	case p.Recurring == "once":
		return false, nil
	case strings.HasPrefix(p.Recurring, "months:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(p.Recurring, "months:"))
		var first time.Time
		err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.eligible */
			select min(occurred_at) from orders where platform = $1 and subscription_id = $2 and has_sale`,
			o.Platform, o.SubscriptionID).Scan(&scanTime{&first})
		if err != nil {
			return false, err
		}
		if first.IsZero() {
			first = o.OccurredAt
		}
		return o.OccurredAt.Before(first.AddDate(0, n, 0)), nil
	}
	return false, nil
}

// scanTime scans a time that an aggregate may return as text (SQLite).
type scanTime struct{ t *time.Time }

func (s *scanTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*s.t = time.Time{}
	case time.Time:
		*s.t = x.UTC()
	case string:
		return s.parse(x)
	case []byte:
		return s.parse(string(x))
	default:
		return fmt.Errorf("scanTime: unexpected %T", v)
	}
	return nil
}

func (s *scanTime) parse(x string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999 -0700 MST"} {
		if t, err := time.Parse(layout, x); err == nil {
			*s.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("scanTime: cannot parse %q", x)
}

// createCommission books the commission of a newly attributed sale.
func (l *Ledger) createCommission(ctx context.Context, o *Order, a *program.Affiliate) error {
	p, err := l.Programs.Program(ctx, a.ProgramID)
	if err != nil {
		return err
	}
	ok, err := l.eligible(ctx, o, p)
	if err != nil || !ok {
		return err
	}
	r, err := l.ruleFor(ctx, o, a, p)
	if err != nil {
		return err
	}
	review := ""
	if email := strings.ToLower(o.CustomerEmail); email != "" &&
		(email == strings.ToLower(a.Email) || email == strings.ToLower(a.PayoutEmail)) {
		review = "held" // self-referral: the owner decides
	}
	amount := r.amount(o)
	// Refunds that arrived before the sale (webhooks come in any order) are
	// booked as a reversal after the earned entry, as they would have been
	// in order: the ledger explains the difference, and a commission
	// refunded to zero reads "reversed", not "payable".
	earned := amount
	if o.RefundedNet > 0 {
		whole := *o
		whole.RefundedNet = 0
		earned = r.amount(&whole)
	}
	c := &Commission{OrderID: o.ID, AffiliateID: a.ID, ProgramID: p.ID, Platform: o.Platform, OrderRef: o.OrderRef,
		ProductName: o.ProductName, OrderGross: o.Gross, OrderNet: o.Net, Currency: o.Currency, RateBps: r.rateBps,
		FlatAmount: r.flat, Amount: amount, Review: review, PayableAt: o.OccurredAt.AddDate(0, 0, p.HoldDays),
		CreatedAt: l.now(), OccurredAt: o.OccurredAt}
	err = l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.createCommission */
		insert into commissions (order_id, affiliate_id, program_id, currency, rate_bps, flat_amount, amount, review,
			payable_at, created_at, occurred_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id`,
		c.OrderID, c.AffiliateID, c.ProgramID, c.Currency, c.RateBps, c.FlatAmount, c.Amount, c.Review,
		c.PayableAt, c.CreatedAt, c.OccurredAt).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("insert commission: %w", err)
	}
	id := c.ID
	why := fmt.Sprintf("%s %s %s", o.Kind, o.Platform, o.OrderRef)
	if err := l.entry(ctx, id, a.ID, o.Currency, earned, EntryEarned, why, nil); err != nil {
		return err
	}
	if earned != amount {
		if err := l.entry(ctx, id, a.ID, o.Currency, amount-earned, EntryReversed,
			fmt.Sprintf("refunds of %s %s received before its sale", o.Platform, o.OrderRef), nil); err != nil {
			return err
		}
	}
	// The status statusSQL derives for a commission in no payout yet.
	switch {
	case review == "held":
		c.Status = StatusHeld
	case amount == 0 && earned != amount: // its reversed entry is booked
		c.Status = StatusReversed
	case c.PayableAt.After(l.now()):
		c.Status = StatusPending
	default:
		c.Status = StatusPayable
	}
	return l.notify(ctx, Notice{Type: "commission.created", Key: fmt.Sprintf("commission:%d:created", id),
		CommissionID: id, OrderID: o.ID, AffiliateID: a.ID, Commission: c, Order: o, Affiliate: a, Program: p})
}

func (l *Ledger) entry(ctx context.Context, commissionID, affiliateID int64, currency string, amount int64, kind, reason string, eventRow *int64) error {
	_, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.entry */
		insert into ledger_entries (commission_id, affiliate_id, currency, amount, kind, reason, event_id, created_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8)`,
		commissionID, affiliateID, currency, amount, kind, reason, eventRow, l.now())
	return err
}

// adjustCommission brings an order's commission to what its refunds leave,
// booking the difference: a reversal (or restoration) while the commission
// is unpaid, a clawback once it has been in a payout.
func (l *Ledger) adjustCommission(ctx context.Context, o *Order, eventRow int64, cause string) error {
	var id, affID, rate, flat, amount int64
	var review string
	err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.adjustCommission */
		select id, affiliate_id, rate_bps, flat_amount, amount, review from commissions where order_id = $1`, o.ID).
		Scan(&id, &affID, &rate, &flat, &amount, &review)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not attributed, or not eligible
	}
	if err != nil {
		return err
	}
	if review == "rejected" {
		return nil
	}
	target := rule{rateBps: rate, flat: flat}.amount(o)
	delta := target - amount
	if delta == 0 {
		return nil
	}
	var paidOut bool
	if err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.adjustCommission */
		select exists (select 1 from payout_entries pe join ledger_entries e on e.id = pe.entry_id where e.commission_id = $1)`,
		id).Scan(&paidOut); err != nil {
		return err
	}
	kind := EntryReversed
	switch {
	case paidOut && delta < 0:
		kind = EntryClawback
	case delta > 0:
		kind = EntryRestored
	}
	ev := eventRow
	if err := l.entry(ctx, id, affID, o.Currency, delta, kind, fmt.Sprintf("%s of %s %s", cause, o.Platform, o.OrderRef), &ev); err != nil {
		return err
	}
	if _, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.adjustCommission */ update commissions set amount = $1 where id = $2`,
		target, id); err != nil {
		return err
	}
	return l.notify(ctx, Notice{Type: "commission.reversed", Key: fmt.Sprintf("commission:%d:adjusted:%d", id, eventRow),
		CommissionID: id, OrderID: o.ID, AffiliateID: affID})
}

func mul64(a, b int64) (hi, lo uint64) { return bits.Mul64(uint64(a), uint64(b)) }

// div128 divides the unsigned 128-bit hi:lo by c; the quotient must fit in
// 63 bits, which holds for money (the result is at most max(a, b)).
func div128(hi, lo uint64, c int64) (q, r int64) {
	qu, ru := bits.Div64(hi%uint64(c), lo, uint64(c))
	return int64(qu), int64(ru)
}
