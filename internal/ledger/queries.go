package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
)

// Commission is a commission as people see it, with its derived status.
type Commission struct {
	ID          int64     `json:"id"`
	OrderID     int64     `json:"order_id"`
	AffiliateID int64     `json:"affiliate_id"`
	ProgramID   int64     `json:"program_id"`
	Platform    string    `json:"platform"`
	OrderRef    string    `json:"order_ref"`
	ProductName string    `json:"product_name"`
	OrderGross  int64     `json:"order_gross"`
	OrderNet    int64     `json:"order_net"`
	Currency    string    `json:"currency"`
	RateBps     int64     `json:"rate_bps"`
	FlatAmount  int64     `json:"flat_amount"`
	Amount      int64     `json:"amount"`
	Status      string    `json:"status"`
	Review      string    `json:"review"`
	PayableAt   time.Time `json:"payable_at"`
	CreatedAt   time.Time `json:"created_at"`
	OccurredAt  time.Time `json:"occurred_at"`
}

// statusSQL derives a commission's status in SQL; $1 is now. Each test
// is a lookup by the commission's entries: "(select 1 … limit 1) is not
// null" rather than "exists (…)", which PostgreSQL may run once for every
// commission in a paid payout, hashed (it did, underestimating a payout's
// entries: 45,000 rows read to show a page of 100 commissions).
const statusSQL = `case
	when c.review = 'rejected' then 'rejected'
	when c.review = 'held' then 'held'
	when (select 1 from ledger_entries e join payout_entries pe on pe.entry_id = e.id join payouts p on p.id = pe.payout_id
		where e.commission_id = c.id and e.kind = 'earned' and p.status = 'paid' limit 1) is not null then 'paid'
	when (select 1 from ledger_entries e join payout_entries pe on pe.entry_id = e.id
		where e.commission_id = c.id and e.kind = 'earned' limit 1) is not null then 'in_payout'
	when c.amount = 0 and (select 1 from ledger_entries e where e.commission_id = c.id and e.kind = 'reversed' limit 1) is not null then 'reversed'
	when c.payable_at > $1 then 'pending'
	else 'payable' end`

const commissionCols = `c.id, c.order_id, c.affiliate_id, c.program_id, o.platform, o.order_ref, o.product_name,
	o.gross, o.net, c.currency, c.rate_bps, c.flat_amount, c.amount, ` + statusSQL + ` as status, c.review, c.payable_at, c.created_at,
	o.occurred_at`

const commissionSelect = `select ` + commissionCols + ` from commissions c join orders o on o.id = c.order_id`

// statusConds are conditions that a commission with a status meets, which
// an index can serve (or which are cheaper than the status): a listing by
// status tests them before the status itself. $1 is now.
var statusConds = map[string]string{
	StatusHeld:     `c.review = 'held'`,
	StatusRejected: `c.review = 'rejected'`,
	StatusPending:  `c.review not in ('held', 'rejected') and c.payable_at > $1`,
	StatusPayable:  `c.review not in ('held', 'rejected') and c.payable_at <= $1`,
	StatusReversed: `c.review not in ('held', 'rejected') and c.amount = 0`,
	StatusInPayout: `c.review not in ('held', 'rejected')`,
	StatusPaid:     `c.review not in ('held', 'rejected')`,
}

func scanCommission(row interface{ Scan(...any) error }) (*Commission, error) {
	var c Commission
	err := row.Scan(&c.ID, &c.OrderID, &c.AffiliateID, &c.ProgramID, &c.Platform, &c.OrderRef, &c.ProductName,
		&c.OrderGross, &c.OrderNet, &c.Currency, &c.RateBps, &c.FlatAmount, &c.Amount, &c.Status, &c.Review,
		&c.PayableAt, &c.CreatedAt, &c.OccurredAt)
	if err != nil {
		return nil, err
	}
	c.PayableAt, c.CreatedAt, c.OccurredAt = c.PayableAt.UTC(), c.CreatedAt.UTC(), c.OccurredAt.UTC()
	return &c, nil
}

// CommissionFilter narrows a listing of commissions.
type CommissionFilter struct {
	AffiliateID int64
	ProgramID   int64
	Status      string
	Platform    string
	From, To    time.Time // by the order's time
	After       int64     // cursor: the last id of the previous page
	Limit       int
}

// Commissions lists commissions by id ascending, for stable cursors. The
// page's ids are chosen first (by index where the filter allows); the
// status, three lookups per commission, is derived for those alone, and
// tested only on the commissions that the status's cheaper conditions
// let through when the filter is by status.
func (l *Ledger) Commissions(ctx context.Context, f CommissionFilter) ([]*Commission, string, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	args := []any{l.now()}
	conds := []string{"c.id > " + param(&args, f.After)}
	from := "commissions c"
	if f.AffiliateID != 0 {
		conds = append(conds, "c.affiliate_id = "+param(&args, f.AffiliateID))
	}
	if f.ProgramID != 0 {
		conds = append(conds, "c.program_id = "+param(&args, f.ProgramID))
	}
	if f.Platform != "" {
		from += " join orders o on o.id = c.order_id"
		conds = append(conds, "o.platform = "+param(&args, f.Platform))
	}
	// A commission's occurred_at is its order's (kept so by triggers).
	if !f.From.IsZero() {
		conds = append(conds, "c.occurred_at >= "+param(&args, db.Time(f.From)))
	}
	if !f.To.IsZero() {
		conds = append(conds, "c.occurred_at < "+param(&args, db.Time(f.To)))
	}
	if f.Status != "" {
		pre, ok := statusConds[f.Status]
		if !ok {
			return nil, "", apperr.Invalid("status", "must be pending, payable, held, in_payout, paid, reversed or rejected")
		}
		conds = append(conds, pre, "("+statusSQL+") = "+param(&args, f.Status))
	}
	q := `/* ledger.Commissions */ with page as materialized (select c.id from ` + from + ` where ` +
		strings.Join(conds, " and ") + ` order by c.id limit ` + param(&args, f.Limit) + `)
		select ` + commissionCols + ` from page join commissions c on c.id = page.id join orders o on o.id = c.order_id
		order by c.id`
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

// Commission returns one commission.
func (l *Ledger) Commission(ctx context.Context, id int64) (*Commission, error) {
	c, err := scanCommission(l.DB.R(ctx).QueryRowContext(ctx, `/* ledger.Commission */ `+commissionSelect+` where c.id = $2`, l.now(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("commission")
	}
	return c, err
}

// param appends v to args and returns its placeholder.
func param(args *[]any, v any) string {
	*args = append(*args, v)
	return "$" + strconv.Itoa(len(*args))
}

// OrderFilter narrows a listing of orders.
type OrderFilter struct {
	AffiliateID  int64
	Platform     string
	Unattributed bool
	From, To     time.Time
	After        int64
	Limit        int
}

// Orders lists orders by id.
func (l *Ledger) Orders(ctx context.Context, f OrderFilter) ([]*Order, string, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var args []any
	conds := []string{"id > " + param(&args, f.After)}
	if f.AffiliateID != 0 {
		conds = append(conds, "affiliate_id = "+param(&args, f.AffiliateID))
	}
	if f.Unattributed {
		conds = append(conds, "affiliate_id is null and has_sale")
	}
	if f.Platform != "" {
		conds = append(conds, "platform = "+param(&args, f.Platform))
	}
	if !f.From.IsZero() {
		conds = append(conds, "occurred_at >= "+param(&args, db.Time(f.From)))
	}
	if !f.To.IsZero() {
		conds = append(conds, "occurred_at < "+param(&args, db.Time(f.To)))
	}
	// The page's ids first, from an index alone where the filter allows
	// ((affiliate_id, id, occurred_at)); then their rows.
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.Orders */ with page as materialized (select id from orders where `+
		strings.Join(conds, " and ")+` order by id limit `+param(&args, f.Limit)+`)
		select `+orderCols+` from orders where id in (select id from page) order by id`, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []*Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, o)
	}
	next := ""
	if len(out) == f.Limit {
		next = strconv.FormatInt(out[len(out)-1].ID, 10)
	}
	return out, next, rows.Err()
}

// Refund is money taken back from an order.
type Refund struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	RefundKey  string    `json:"refund_key"`
	Gross      int64     `json:"gross"`
	Net        *int64    `json:"net"`
	OccurredAt time.Time `json:"occurred_at"`
}

// Delivery is a stored webhook delivery.
type Delivery struct {
	ID         int64     `json:"id"`
	Platform   string    `json:"platform"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	ReceivedAt time.Time `json:"received_at"`
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error,omitempty"`
	OrderID    *int64    `json:"order_id"`
	Body       string    `json:"body,omitempty"`
}

// OrderDetail is an order with its refunds, raw events and commission.
type OrderDetail struct {
	*Order
	Refunds    []Refund    `json:"refunds"`
	Events     []Delivery  `json:"events"`
	Commission *Commission `json:"commission"`
}

// OrderDetail returns an order with everything recorded against it.
func (l *Ledger) OrderDetail(ctx context.Context, id int64) (*OrderDetail, error) {
	o, err := l.Order(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &OrderDetail{Order: o, Refunds: []Refund{}}
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* ledger.OrderDetail */
		select id, kind, refund_key, gross, net, occurred_at from refunds where order_id = $1 order by id`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r Refund
		var net sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Kind, &r.RefundKey, &r.Gross, &net, &r.OccurredAt); err != nil {
			rows.Close()
			return nil, err
		}
		r.Net, r.OccurredAt = ptr(net), r.OccurredAt.UTC()
		d.Refunds = append(d.Refunds, r)
	}
	rows.Close()
	if d.Events, _, err = l.Deliveries(ctx, DeliveryFilter{OrderID: id, WithBody: true, Limit: 1000}); err != nil {
		return nil, err
	}
	var cid int64
	err = l.DB.R(ctx).QueryRowContext(ctx, `select id from commissions where order_id = $1`, id).Scan(&cid)
	switch {
	case err == nil:
		if d.Commission, err = l.Commission(ctx, cid); err != nil {
			return nil, err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	return d, nil
}

// DeliveryFilter narrows a listing of deliveries.
type DeliveryFilter struct {
	Outcome  string
	Platform string
	OrderID  int64
	WithBody bool
	Before   int64 // cursor: newest first
	Limit    int
}

// Deliveries lists stored webhook deliveries, newest first.
func (l *Ledger) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, string, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if f.Before <= 0 {
		f.Before = 1<<63 - 1
	}
	var args []any
	conds := []string{"id < " + param(&args, f.Before)}
	if f.Outcome != "" {
		conds = append(conds, "outcome = "+param(&args, f.Outcome))
	}
	if f.Platform != "" {
		conds = append(conds, "platform = "+param(&args, f.Platform))
	}
	if f.OrderID != 0 {
		conds = append(conds, "order_id = "+param(&args, f.OrderID))
	}
	body := "''"
	if f.WithBody {
		body = "body"
	}
	rows, err := l.DB.R(ctx).QueryContext(ctx, fmt.Sprintf(`/* ledger.Deliveries */
		select id, platform, event_id, event_type, received_at, outcome, error, order_id, %s from webhook_events
		where %s order by id desc limit %s`, body, strings.Join(conds, " and "), param(&args, f.Limit)), args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var oid sql.NullInt64
		if err := rows.Scan(&d.ID, &d.Platform, &d.EventID, &d.EventType, &d.ReceivedAt, &d.Outcome, &d.Error, &oid, &d.Body); err != nil {
			return nil, "", err
		}
		d.OrderID, d.ReceivedAt = ptr(oid), d.ReceivedAt.UTC()
		out = append(out, d)
	}
	next := ""
	if len(out) == f.Limit {
		next = strconv.FormatInt(out[len(out)-1].ID, 10)
	}
	return out, next, rows.Err()
}

// AttributeOrder attributes an unattributed order to an affiliate by hand
// and books its commission.
func (l *Ledger) AttributeOrder(ctx context.Context, orderID, affiliateID int64) (*Order, error) {
	err := l.DB.TX(ctx, func(ctx context.Context) error {
		o, err := scanOrder(l.DB.Q(ctx).QueryRowContext(ctx, `select `+orderCols+` from orders where id = $1`, orderID))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.NotFound("order")
		}
		if err != nil {
			return err
		}
		if o.AffiliateID != nil {
			return apperr.Conflict("already_attributed", "affiliate_id", "the order is already attributed to affiliate %d", *o.AffiliateID)
		}
		if !o.HasSale {
			return apperr.Conflict("no_sale", "", "the order's sale has not been received yet")
		}
		a, err := l.Programs.Affiliate(ctx, affiliateID)
		if err != nil {
			if apperr.Is(err, apperr.KindNotFound) {
				return apperr.Invalid("affiliate_id", "no affiliate with id %d", affiliateID)
			}
			return err
		}
		o.AffiliateID, o.ProgramID, o.AttributedBy = &a.ID, &a.ProgramID, "manual"
		if err := l.saveOrder(ctx, o); err != nil {
			return err
		}
		if err := l.createCommission(ctx, o, a); err != nil {
			return err
		}
		return l.Programs.Audit.Record(ctx, "order.attribute", "order", o.ID, map[string]int64{"affiliate_id": a.ID})
	})
	if err != nil {
		return nil, err
	}
	return l.Order(ctx, orderID)
}

// Review approves or rejects a held commission.
func (l *Ledger) Review(ctx context.Context, commissionID int64, approve bool) error {
	return l.DB.TX(ctx, func(ctx context.Context) error {
		var review, cur string
		var affID, amount int64
		err := l.DB.Q(ctx).QueryRowContext(ctx, `select review, affiliate_id, currency, amount from commissions where id = $1`,
			commissionID).Scan(&review, &affID, &cur, &amount)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.NotFound("commission")
		}
		if err != nil {
			return err
		}
		if review != "held" {
			return apperr.Conflict("not_held", "", "the commission is not held for review")
		}
		decision, action := "approved", "commission.approve"
		if !approve {
			decision, action = "rejected", "commission.reject"
			if err := l.entry(ctx, commissionID, affID, cur, -amount, EntryRejected, "rejected by the owner", nil); err != nil {
				return err
			}
			amount = 0
		}
		if _, err := l.DB.Q(ctx).ExecContext(ctx, `update commissions set review = $1, amount = $2 where id = $3`,
			decision, amount, commissionID); err != nil {
			return err
		}
		return l.Programs.Audit.Record(ctx, action, "commission", commissionID, nil)
	})
}
