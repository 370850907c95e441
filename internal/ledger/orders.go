package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// Order is a payment as the ledger knows it.
type Order struct {
	ID             int64     `json:"id"`
	Platform       string    `json:"platform"`
	OrderRef       string    `json:"order_ref"`
	Kind           string    `json:"kind"`
	HasSale        bool      `json:"has_sale"`
	SubscriptionID string    `json:"subscription_id"`
	CustomerID     string    `json:"customer_id"`
	CustomerEmail  string    `json:"customer_email"`
	ProductID      string    `json:"product_id"`
	ProductName    string    `json:"product_name"`
	Currency       string    `json:"currency"`
	Gross          int64     `json:"gross"`
	Tax            int64     `json:"tax"`
	Discount       int64     `json:"discount"`
	Fee            int64     `json:"fee"`
	Net            int64     `json:"net"`
	NetReported    bool      `json:"net_reported"`
	RefundedGross  int64     `json:"refunded_gross"`
	RefundedNet    int64     `json:"refunded_net"`
	Referral       string    `json:"referral"`
	Coupon         string    `json:"coupon"`
	AffiliateID    *int64    `json:"affiliate_id"`
	ProgramID      *int64    `json:"program_id"`
	ClickID        *int64    `json:"click_id"`
	AttributedBy   string    `json:"attributed_by"`
	OccurredAt     time.Time `json:"occurred_at"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

const orderCols = `id, platform, order_ref, kind, has_sale, subscription_id, customer_id, customer_email, product_id,
	product_name, currency, gross, tax, discount, fee, net, net_reported, refunded_gross, refunded_net, referral, coupon,
	affiliate_id, program_id, click_id, attributed_by, occurred_at, created_at, updated_at`

func scanOrder(row interface{ Scan(...any) error }) (*Order, error) {
	var o Order
	var aff, prog, click sql.NullInt64
	err := row.Scan(&o.ID, &o.Platform, &o.OrderRef, &o.Kind, &o.HasSale, &o.SubscriptionID, &o.CustomerID,
		&o.CustomerEmail, &o.ProductID, &o.ProductName, &o.Currency, &o.Gross, &o.Tax, &o.Discount, &o.Fee, &o.Net,
		&o.NetReported, &o.RefundedGross, &o.RefundedNet, &o.Referral, &o.Coupon, &aff, &prog, &click, &o.AttributedBy,
		&o.OccurredAt, &o.CreatedAt, &o.UpdatedAt)
	if err != nil {
		return nil, err
	}
	o.AffiliateID, o.ProgramID, o.ClickID = ptr(aff), ptr(prog), ptr(click)
	o.OccurredAt, o.CreatedAt, o.UpdatedAt = o.OccurredAt.UTC(), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return &o, nil
}

func ptr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

// findOrder returns the order a platform names by ref (or by one of its
// other refs), nil when there is none. On PostgreSQL the row is locked for
// the rest of the transaction: two events of one order delivered at once
// (a platform's retries, Stripe's bursts of refund events) are applied one
// after the other, each seeing the other's refunds and commission, instead
// of both computing from the same stale row. SQLite's single writer
// serializes them already.
func (l *Ledger) findOrder(ctx context.Context, platform string, refs ...string) (*Order, error) {
	q := l.DB.Q(ctx)
	lock := ""
	if l.DB.Dialect() == db.Postgres {
		lock = " for update"
	}
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		// One query per ref: the order named by it, else the order it is
		// another id of (preferring the former if both exist).
		o, err := scanOrder(q.QueryRowContext(ctx, `/* ledger.findOrder */ select `+orderCols+`
			from orders where platform = $1 and (order_ref = $2
				or id = (select order_id from order_refs where platform = $1 and ref = $2))
			order by case when order_ref = $2 then 0 else 1 end limit 1`+lock, platform, ref))
		if err == nil {
			return o, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	return nil, nil
}

// Order returns the order with id.
func (l *Ledger) Order(ctx context.Context, id int64) (*Order, error) {
	o, err := scanOrder(l.DB.R(ctx).QueryRowContext(ctx, `/* ledger.Order */ select `+orderCols+` from orders where id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("order")
	}
	return o, err
}

// insertOrder creates an order row for ref (a placeholder until its sale arrives).
func (l *Ledger) insertOrder(ctx context.Context, ev payments.Event) (*Order, error) {
	now := l.now()
	var id int64
	err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.insertOrder */
		insert into orders (platform, order_ref, currency, occurred_at, created_at, updated_at)
		values ($1, $2, $3, $4, $5, $5) returning id`,
		ev.Platform, ev.OrderID, ev.Currency, ev.OccurredAt, now).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("insert order: %w", err)
	}
	if err := l.addRefs(ctx, ev, id); err != nil {
		return nil, err
	}
	// The row as just written (the table's defaults for the rest), without
	// reading it back.
	return &Order{ID: id, Platform: ev.Platform, OrderRef: ev.OrderID, Kind: "sale", Currency: ev.Currency,
		OccurredAt: ev.OccurredAt.UTC(), CreatedAt: now, UpdatedAt: now}, nil
}

// insertSale inserts o, a new order with its sale, and its other refs.
func (l *Ledger) insertSale(ctx context.Context, o *Order, ev payments.Event) error {
	now := l.now()
	o.CreatedAt, o.UpdatedAt = now, now
	err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.insertSale */
		insert into orders (platform, order_ref, kind, has_sale, subscription_id, customer_id, customer_email,
			product_id, product_name, currency, gross, tax, discount, fee, net, net_reported, refunded_gross,
			refunded_net, referral, coupon, affiliate_id, program_id, click_id, attributed_by, occurred_at,
			created_at, updated_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
			$23, $24, $25, $26, $26) returning id`,
		o.Platform, o.OrderRef, o.Kind, o.HasSale, o.SubscriptionID, o.CustomerID, o.CustomerEmail, o.ProductID,
		o.ProductName, o.Currency, o.Gross, o.Tax, o.Discount, o.Fee, o.Net, o.NetReported, o.RefundedGross,
		o.RefundedNet, o.Referral, o.Coupon, o.AffiliateID, o.ProgramID, o.ClickID, o.AttributedBy, o.OccurredAt,
		now).Scan(&o.ID)
	if err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	return l.addRefs(ctx, ev, o.ID)
}

func (l *Ledger) addRefs(ctx context.Context, ev payments.Event, orderID int64) error {
	for _, ref := range ev.OrderRefs {
		if ref == "" || ref == ev.OrderID {
			continue
		}
		if _, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.addRefs */
			insert into order_refs (platform, ref, order_id) values ($1, $2, $3) on conflict (platform, ref) do nothing`,
			ev.Platform, ref, orderID); err != nil {
			return err
		}
	}
	return nil
}

// applySale records a sale or renewal, attributes it, and creates its commission.
func (l *Ledger) applySale(ctx context.Context, ev payments.Event) (int64, error) {
	if ev.OrderID == "" {
		return 0, fmt.Errorf("ledger: sale without an order id")
	}
	o, err := l.findOrder(ctx, ev.Platform, append([]string{ev.OrderID}, ev.OrderRefs...)...)
	if err != nil {
		return 0, err
	}
	if o != nil && o.HasSale {
		return o.ID, nil // the same payment reported again (another event id): no new effect
	}
	// A new order is inserted whole once attributed, in one statement (no
	// placeholder row updated at once); no refund can be recorded against it yet.
	fresh := o == nil
	if fresh {
		o = &Order{Platform: ev.Platform, OrderRef: ev.OrderID}
	} else if err := l.addRefs(ctx, ev, o.ID); err != nil {
		return 0, err
	}
	kind := "sale"
	if ev.Kind == payments.KindRenewal {
		kind = "renewal"
	}
	o.Kind, o.HasSale = kind, true
	o.SubscriptionID, o.CustomerID, o.CustomerEmail = ev.SubscriptionID, ev.CustomerID, ev.CustomerEmail
	o.ProductID, o.ProductName, o.Currency = ev.ProductID, ev.ProductName, ev.Currency
	o.Gross, o.Tax, o.Discount, o.Fee, o.Net, o.NetReported = ev.Gross, ev.Tax, ev.Discount, ev.Fee, ev.Net, ev.NetReported
	o.Referral, o.Coupon, o.OccurredAt = ev.Referral, ev.Coupon, ev.OccurredAt

	att, err := l.attribute(ctx, o)
	if err != nil {
		return 0, err
	}
	if att != nil {
		o.AffiliateID, o.ProgramID, o.ClickID, o.AttributedBy = &att.affiliate.ID, &att.affiliate.ProgramID, att.clickID, att.by
	}
	if fresh {
		if err := l.insertSale(ctx, o, ev); err != nil {
			return 0, err
		}
	} else {
		if err := l.recomputeRefunds(ctx, o); err != nil {
			return 0, err
		}
		if err := l.saveOrder(ctx, o); err != nil {
			return 0, err
		}
	}
	if att != nil {
		if err := l.createCommission(ctx, o, att.affiliate); err != nil {
			return 0, err
		}
		if err := l.backfillSubscription(ctx, o, att.affiliate); err != nil {
			return 0, err
		}
	}
	return o.ID, nil
}

// backfillSubscription attributes the other payments of o's subscription
// that arrived before any of them could be attributed (webhooks come in any
// order: a renewal may land before its first sale).
func (l *Ledger) backfillSubscription(ctx context.Context, o *Order, a *program.Affiliate) error {
	if o.SubscriptionID == "" {
		return nil
	}
	rows, err := l.DB.Q(ctx).QueryContext(ctx, `/* ledger.backfillSubscription */ select `+orderCols+`
		from orders where platform = $1 and subscription_id = $2 and has_sale and affiliate_id is null and id <> $3
		order by occurred_at, id`, o.Platform, o.SubscriptionID, o.ID)
	if err != nil {
		return err
	}
	var todo []*Order
	for rows.Next() {
		x, err := scanOrder(rows)
		if err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, x)
	}
	rows.Close()
	for _, x := range todo {
		x.AffiliateID, x.ProgramID, x.AttributedBy = &a.ID, &a.ProgramID, "subscription"
		if err := l.saveOrder(ctx, x); err != nil {
			return err
		}
		if err := l.createCommission(ctx, x, a); err != nil {
			return err
		}
	}
	return nil
}

func (l *Ledger) saveOrder(ctx context.Context, o *Order) error {
	o.UpdatedAt = l.now()
	_, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.saveOrder */
		update orders set kind = $1, has_sale = $2, subscription_id = $3, customer_id = $4, customer_email = $5,
			product_id = $6, product_name = $7, currency = $8, gross = $9, tax = $10, discount = $11, fee = $12,
			net = $13, net_reported = $14, refunded_gross = $15, refunded_net = $16, referral = $17, coupon = $18,
			affiliate_id = $19, program_id = $20, click_id = $21, attributed_by = $22, occurred_at = $23, updated_at = $24
		where id = $25`,
		o.Kind, o.HasSale, o.SubscriptionID, o.CustomerID, o.CustomerEmail, o.ProductID, o.ProductName, o.Currency,
		o.Gross, o.Tax, o.Discount, o.Fee, o.Net, o.NetReported, o.RefundedGross, o.RefundedNet, o.Referral, o.Coupon,
		o.AffiliateID, o.ProgramID, o.ClickID, o.AttributedBy, o.OccurredAt, o.UpdatedAt, o.ID)
	return err
}

type attribution struct {
	affiliate *program.Affiliate
	clickID   *int64
	by        string
}

// attribute finds who referred o: for a renewal, whoever got its
// subscription's first order; then a referral id issued by our redirect or
// t.js (its click's affiliate); an affiliate's code; an affiliate's coupon.
// Only active affiliates earn. nil means unattributed.
func (l *Ledger) attribute(ctx context.Context, o *Order) (*attribution, error) {
	active := func(a *program.Affiliate, err error) (*program.Affiliate, error) {
		if apperr.Is(err, apperr.KindNotFound) {
			return nil, nil
		}
		if err != nil || a.Status != program.StatusActive {
			return nil, err
		}
		return a, nil
	}
	if o.SubscriptionID != "" {
		var affID int64
		err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.attribute */
			select affiliate_id from orders where platform = $1 and subscription_id = $2 and affiliate_id is not null
				and id <> $3 order by occurred_at, id limit 1`, o.Platform, o.SubscriptionID, o.ID).Scan(&affID)
		if err == nil {
			a, err := active(l.Programs.Affiliate(ctx, affID))
			if err != nil || a != nil {
				return &attribution{affiliate: a, by: "subscription"}, err
			}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	if ref := o.Referral; ref != "" {
		if tracking.ValidReferralID(ref) {
			c, ok, err := l.Clicks.ReferralClick(ctx, ref, o.OccurredAt.Add(time.Hour), false)
			if err != nil {
				return nil, err
			}
			if ok {
				if p, err := l.Programs.Program(ctx, c.ProgramID); err == nil && p.Attribution == "last" {
					if c2, ok2, err := l.Clicks.ReferralClick(ctx, ref, o.OccurredAt.Add(time.Hour), true); err == nil && ok2 {
						c = c2
					}
				}
				a, err := active(l.Programs.Affiliate(ctx, c.AffiliateID))
				if err != nil {
					return nil, err
				}
				if a != nil {
					id := c.ID
					return &attribution{affiliate: a, clickID: &id, by: "referral"}, nil
				}
			}
		}
		if tracking.ValidCode(strings.ToLower(ref)) {
			a, err := active(l.Programs.AffiliateByCode(ctx, ref))
			if err != nil || a != nil {
				return &attribution{affiliate: a, by: "code"}, err
			}
		}
	}
	if o.Coupon != "" {
		a, err := active(l.Programs.AffiliateByCoupon(ctx, o.Coupon))
		if err != nil || a != nil {
			return &attribution{affiliate: a, by: "coupon"}, err
		}
	}
	return nil, nil
}

// applyRefund records money taken back (or given back, for a won
// chargeback) and adjusts the order's commission.
func (l *Ledger) applyRefund(ctx context.Context, ev payments.Event, eventRow int64) (int64, error) {
	if ev.OrderID == "" {
		return 0, fmt.Errorf("ledger: refund without an order id")
	}
	o, err := l.findOrder(ctx, ev.Platform, append([]string{ev.OrderID}, ev.OrderRefs...)...)
	if err != nil {
		return 0, err
	}
	if o == nil {
		// The refund came before its sale: keep it; the sale applies it.
		if o, err = l.insertOrder(ctx, ev); err != nil {
			return 0, err
		}
	}
	var gross int64
	var net sql.NullInt64
	key := ev.RefundID
	switch ev.Kind {
	case payments.KindRefund:
		gross = ev.RefundDelta(o.RefundedGross)
		if ev.RefundCumulative > 0 {
			key = fmt.Sprintf("cumulative:%d", ev.RefundCumulative)
		} else if ev.RefundNetReported {
			net = sql.NullInt64{Int64: ev.RefundNet, Valid: true}
		}
	case payments.KindChargeback:
		gross = ev.Refund
		if gross <= 0 && o.HasSale {
			gross = o.Gross - o.RefundedGross
		}
		if ev.RefundNetReported {
			net = sql.NullInt64{Int64: ev.RefundNet, Valid: true}
		}
	case payments.KindChargebackReversed:
		// Give back what the chargeback took.
		var cbGross int64
		var cbNet sql.NullInt64
		err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.applyRefund */
			select coalesce(sum(gross), 0), sum(net) from refunds where order_id = $1 and kind = 'chargeback'`, o.ID).Scan(&cbGross, &cbNet)
		if err != nil {
			return 0, err
		}
		// The reversal may arrive before its chargeback: then it is kept
		// as reported and the two cancel out when the chargeback lands.
		gross = -ev.Refund
		if ev.Refund <= 0 {
			gross = -cbGross
		}
		switch {
		case ev.RefundNetReported:
			net = sql.NullInt64{Int64: -ev.RefundNet, Valid: true}
		case cbNet.Valid && cbGross != 0:
			net = sql.NullInt64{Int64: -mulDiv(cbNet.Int64, -gross, cbGross), Valid: true}
		}
	}
	if key == "" {
		key = ev.EventID
	}
	if gross == 0 && !net.Valid {
		return o.ID, nil // nothing new (e.g. a cumulative total already covered)
	}
	res, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.applyRefund */
		insert into refunds (order_id, kind, refund_key, gross, net, occurred_at, event_id, created_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (order_id, kind, refund_key) do nothing`,
		o.ID, string(ev.Kind), key, gross, net, ev.OccurredAt, eventRow, l.now())
	if err != nil {
		return 0, fmt.Errorf("insert refund: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return o.ID, nil // this refund is already recorded
	}
	if err := l.recomputeRefunds(ctx, o); err != nil {
		return 0, err
	}
	if err := l.saveOrder(ctx, o); err != nil {
		return 0, err
	}
	if o.HasSale {
		if err := l.adjustCommission(ctx, o, eventRow, string(ev.Kind)); err != nil {
			return 0, err
		}
	}
	return o.ID, nil
}

// recomputeRefunds sets o.RefundedGross and o.RefundedNet from its refund
// rows. A refund without a reported net takes back net in proportion to
// gross. The refunded net is capped at the order's net (a refund larger than
// what is left is logged).
func (l *Ledger) recomputeRefunds(ctx context.Context, o *Order) error {
	rows, err := l.DB.Q(ctx).QueryContext(ctx, `/* ledger.recomputeRefunds */
		select gross, net from refunds where order_id = $1 order by id`, o.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var gross, net int64
	for rows.Next() {
		var g int64
		var n sql.NullInt64
		if err := rows.Scan(&g, &n); err != nil {
			return err
		}
		gross += g
		switch {
		case n.Valid:
			net += n.Int64
		case o.Gross > 0:
			net += mulDiv(o.Net, g, o.Gross)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if o.HasSale && net > o.Net {
		l.Log.Warn("refunds exceed the order's net; capped", "order_id", o.ID, "refunded_net", net, "net", o.Net)
		net = o.Net
	}
	o.RefundedGross, o.RefundedNet = gross, max(net, 0)
	return nil
}

// mulDiv returns a×b/c rounded half away from zero; c must not be 0.
func mulDiv(a, b, c int64) int64 {
	neg := (a < 0) != (b < 0) != (c < 0)
	a, b, c = abs(a), abs(b), abs(c)
	// 128-bit safe enough for money: a and b are amounts of at most ~1e15.
	hi, lo := mul64(a, b)
	q, r := div128(hi, lo, c)
	if 2*r >= c {
		q++
	}
	if neg {
		return -q
	}
	return q
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
