// Package ledger decides money: it records orders reported by payment
// platforms, attributes them to affiliates, and keeps an append-only ledger
// of commissions, refunds, clawbacks and payouts. Every event is applied in
// one transaction together with its raw delivery and its notifications.
package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// Notice announces a change to whoever is told about it (emails, outgoing
// webhooks). It is emitted inside the transaction of the change, so the
// announcement commits with it or not at all.
type Notice struct {
	Type         string // commission.created, commission.reversed, commission.payable, payout.paid
	Key          string // idempotency key, unique per announcement
	CommissionID int64
	OrderID      int64
	AffiliateID  int64
	PayoutID     int64

	// What the ledger has at hand when it emits a commission.created
	// notice, as Commission, Order and the program store would return
	// them now: the notifier then need not read them again inside the
	// transaction. nil when the ledger has not loaded them.
	Commission *Commission
	Order      *Order
	Affiliate  *program.Affiliate
	Program    *program.Program
}

// Notifier turns notices into outbox rows through the transaction in ctx.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Ledger applies payment events and answers questions about money.
type Ledger struct {
	DB       *db.DB
	Log      *slog.Logger
	Programs *program.Store
	Clicks   *tracking.Stats
	Notifier Notifier         // may be nil
	Now      func() time.Time // for tests; time.Now when nil
}

func (l *Ledger) now() time.Time {
	if l.Now != nil {
		return db.Time(l.Now())
	}
	return db.Now()
}

func (l *Ledger) notify(ctx context.Context, n Notice) error {
	if l.Notifier == nil {
		return nil
	}
	return l.Notifier.Notify(ctx, n)
}

// Outcome is what became of a delivery.
type Outcome string

const (
	Applied   Outcome = "applied"   // its effects are committed
	Ignored   Outcome = "ignored"   // well-formed, but not an event we use
	Failed    Outcome = "failed"    // verified but unreadable; stored for the owner
	Duplicate Outcome = "duplicate" // delivered before: nothing changed
)

// Ingest stores a verified delivery and applies it, in one transaction
// (a savepoint in a transaction shared with the deliveries
// arriving at the same time: see db.GroupTX); it returns once that is committed.
// parseErr is what parsing body gave: nil (ev is applied), an error
// wrapping payments.ErrIgnored, or any other error (the delivery is stored
// as failed with that error). A delivery seen before changes nothing.
func (l *Ledger) Ingest(ctx context.Context, platform string, body []byte, ev payments.Event, parseErr error) (Outcome, error) {
	eventID, eventType := ev.EventID, ev.EventType
	outcome, errText := Applied, ""
	switch {
	case parseErr == nil:
	case errors.Is(parseErr, payments.ErrIgnored):
		outcome, errText = Ignored, parseErr.Error()
		var ie *payments.IgnoredError
		if errors.As(parseErr, &ie) {
			eventType = ie.EventType
		}
	default:
		outcome, errText = Failed, parseErr.Error()
	}
	if eventID == "" {
		sum := sha256.Sum256(body)
		eventID = "sha256:" + hex.EncodeToString(sum[:])
	}
	if outcome == Applied && ev.Referral != "" && l.Clicks != nil {
		// The referral's click may still be in the click journal; the
		// transaction below could not wait for it (see ReferralClick).
		l.Clicks.Await(ctx)
	}
	err := l.DB.GroupTX(ctx, func(ctx context.Context) error {
		var rowID int64
		err := l.DB.Q(ctx).QueryRowContext(ctx, `/* ledger.Ingest */
			insert into webhook_events (platform, event_id, event_type, received_at, body, outcome, error)
			values ($1, $2, $3, $4, $5, $6, $7)
			on conflict (platform, event_id) do nothing returning id`,
			platform, eventID, eventType, l.now(), string(body), string(outcome), errText).Scan(&rowID)
		if errors.Is(err, sql.ErrNoRows) {
			outcome = Duplicate
			return nil
		}
		if err != nil {
			return fmt.Errorf("store delivery: %w", err)
		}
		if outcome != Applied {
			return nil
		}
		ev.Platform = platform
		orderID, err := l.apply(ctx, ev, rowID)
		if err != nil {
			return err
		}
		if orderID != 0 {
			_, err = l.DB.Q(ctx).ExecContext(ctx, `/* ledger.Ingest */ update webhook_events set order_id = $1 where id = $2`, orderID, rowID)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}

// lockPayment serializes, on PostgreSQL, the transactions of events that
// name a payment by any of the same ids, until they end: a transaction-level
// advisory lock per id, taken in the order of their keys. Row locks cannot do it when
// the order does not exist yet, or exists under another id: a refund and
// the link naming its order (or two events of an order not yet known)
// would each see nothing of the other and leave two orders. SQLite's
// single writer serializes them already.
func (l *Ledger) lockPayment(ctx context.Context, ev payments.Event) error {
	if l.DB.Dialect() != db.Postgres {
		return nil
	}
	var ids []string
	for _, id := range append([]string{ev.OrderID}, ev.OrderRefs...) {
		if id != "" {
			ids = append(ids, id)
		}
	}
	// One round trip; the locks are taken in the order of their keys, the
	// same in every transaction, so two never wait for each other.
	if _, err := l.DB.Q(ctx).ExecContext(ctx, `/* ledger.lockPayment */
		select pg_advisory_xact_lock(k) from (select distinct hashtextextended($1 || chr(10) || x, 0) as k
			from unnest($2::text[]) as x order by k) as keys`, ev.Platform, ids); err != nil {
		return fmt.Errorf("lock payment %s: %w", ev.OrderID, err)
	}
	return nil
}

// apply records ev's effects and returns the order it touched.
func (l *Ledger) apply(ctx context.Context, ev payments.Event, eventRow int64) (int64, error) {
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = l.now()
	}
	ev.OccurredAt = db.Time(ev.OccurredAt)
	if err := l.lockPayment(ctx, ev); err != nil {
		return 0, err
	}
	switch ev.Kind {
	case payments.KindSale, payments.KindRenewal:
		return l.applySale(ctx, ev)
	case payments.KindRefund, payments.KindChargeback, payments.KindChargebackReversed:
		return l.applyRefund(ctx, ev, eventRow)
	case payments.KindLink:
		return l.applyLink(ctx, ev, eventRow)
	}
	return 0, fmt.Errorf("ledger: unknown event kind %q", ev.Kind)
}
