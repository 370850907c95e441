package ledger

import (
	"context"
	"fmt"

	"affiliated/internal/payments"
)

// applyLink records that ev.OrderRefs name the same payment as ev.OrderID
// (Stripe's invoice_payment.paid: an invoice, and the payment intent and
// charge that paid it). A refund or dispute of that payment, which names
// only the intent or the charge, then finds the invoice's order.
//
// Webhooks come in any order. When the link comes first, it creates the
// invoice's order as a placeholder that its sale fills later. When a
// refund came before the link, it was kept on a placeholder order of its
// own (named by the intent); that placeholder is merged into the invoice's
// order here, so the end state is the one an in-order delivery gives.
func (l *Ledger) applyLink(ctx context.Context, ev payments.Event, eventRow int64) (int64, error) {
	if ev.OrderID == "" {
		return 0, fmt.Errorf("ledger: link without an order id")
	}
	o, err := l.findOrder(ctx, ev.Platform, ev.OrderID)
	if err != nil {
		return 0, err
	}
	fresh := o == nil
	if fresh { // with the refs no other order holds yet
		if o, err = l.insertOrder(ctx, ev); err != nil {
			return 0, err
		}
	}
	for _, ref := range ev.OrderRefs {
		other, err := l.findOrder(ctx, ev.Platform, ref)
		if err != nil {
			return 0, err
		}
		if other == nil || other.ID == o.ID {
			continue
		}
		if o, err = l.mergeOrders(ctx, o, other, eventRow); err != nil {
			return 0, err
		}
	}
	// A merge moves the other order's refs over; what an existing order
	// lacks still is added here.
	if !fresh {
		if err := l.addRefs(ctx, ev, o.ID); err != nil {
			return 0, err
		}
	}
	return o.ID, nil
}

// mergeOrders folds two orders that turned out to be one payment into the
// one with the sale (into, unless only other has it) and returns it: the
// other's refunds, other ids and raw events move over, its own id becomes
// another id of the kept order, and the kept order's refunds and
// commission are brought up to date. Two orders that both have a sale are
// two payments: neither changes, and into is returned.
func (l *Ledger) mergeOrders(ctx context.Context, into, other *Order, eventRow int64) (*Order, error) {
	if into.HasSale && other.HasSale {
		l.Log.Warn("a link names two paid orders; left apart", "platform", into.Platform,
			"order_id", into.ID, "other_order_id", other.ID)
		return into, nil
	}
	if other.HasSale {
		into, other = other, into
	}
	q := l.DB.Q(ctx)
	for _, s := range []struct {
		what, sql string
		args      []any
	}{
		// A refund recorded under both (the same cumulative total reported
		// twice) is kept once.
		{"refunds", `/* ledger.mergeOrders */ delete from refunds where order_id = $1 and exists (select 1 from refunds r
			where r.order_id = $2 and r.kind = refunds.kind and r.refund_key = refunds.refund_key)`, []any{other.ID, into.ID}},
		{"refunds", `/* ledger.mergeOrders */ update refunds set order_id = $1 where order_id = $2`, []any{into.ID, other.ID}},
		{"ids", `/* ledger.mergeOrders */ update order_refs set order_id = $1 where order_id = $2`, []any{into.ID, other.ID}},
		{"events", `/* ledger.mergeOrders */ update webhook_events set order_id = $1 where order_id = $2`, []any{into.ID, other.ID}},
		{"order", `/* ledger.mergeOrders */ delete from orders where id = $1`, []any{other.ID}},
		{"ids", `/* ledger.mergeOrders */ insert into order_refs (platform, ref, order_id) values ($1, $2, $3)
			on conflict (platform, ref) do nothing`, []any{other.Platform, other.OrderRef, into.ID}},
	} {
		if _, err := q.ExecContext(ctx, s.sql, s.args...); err != nil {
			return nil, fmt.Errorf("merge orders %d into %d: %s: %w", other.ID, into.ID, s.what, err)
		}
	}
	if err := l.recomputeRefunds(ctx, into); err != nil {
		return nil, err
	}
	if err := l.saveOrder(ctx, into); err != nil {
		return nil, err
	}
	if into.HasSale {
		if err := l.adjustCommission(ctx, into, eventRow, "refund"); err != nil {
			return nil, err
		}
	}
	return into, nil
}
