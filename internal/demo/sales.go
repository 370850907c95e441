package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/ledger"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
)

// The mix of payments: most are referred by a click, some by a coupon
// (podcast listeners type it at checkout), some by nobody; the rest are
// membership renewals.
const (
	referredShare = 72 // percent of Options.Orders
	couponShare   = 10
	directShare   = 5
)

func referredOrders(orders int) int { return orders * referredShare / 100 }

// bookings is the platform name of the guesthouse's own booking system,
// which reports through the conversions API (stored as a normalized event).
const bookings = "bookings"

type product struct {
	id, name, platform string
	usd, eur           int64
	membership         bool
}

var (
	goCourse   = product{"pro_01hgowebcourse", "Go Web Development course", payments.Paddle, 24900, 22900, false}
	workshop   = product{"318211", "Testing in Go workshop", payments.LemonSqueezy, 7900, 7500, false}
	membership = product{"pro_01hshipitpro", "Ship It Pro membership (monthly)", payments.Paddle, 2900, 2700, true}
)

var firstNames = []string{"olivia", "liam", "emma", "noah", "ava", "lucas", "mia", "leo", "sara", "omar", "yuki", "ines", "jonas", "amara", "pablo", "nina"}
var lastNames = []string{"smith", "rossi", "muller", "garcia", "tanaka", "silva", "novak", "jensen", "ali", "brown", "kowalski", "dubois"}

// event is one thing that happens to the ledger, at a time.
type event struct {
	at       time.Time
	platform string
	sale     paymentstest.Sale
	refund   *paymentstest.Refund // a refund (or chargeback) of sale
	charge   bool                 // the refund is a chargeback
	booking  *payments.Event      // the guesthouse's events
	payout   int                  // 1: create the payout, 2: mark it paid
}

func (e *event) isPayment() bool {
	return e.payout == 0 && e.refund == nil && (e.booking == nil || e.booking.Kind == payments.KindSale)
}

// sales plans every payment, refund and the payout, and applies them in
// time order through the ledger.
func (f *filler) sales(ctx context.Context, plan []referred) error {
	now := f.opt.Now
	first := now.Truncate(24*time.Hour).AddDate(0, 0, -(Days - 1))
	var events []*event
	seq := 0
	add := func(e *event) { events = append(events, e) }
	newSale := func(p product, at time.Time) *event {
		seq++
		s := paymentstest.Sale{ProductID: p.id, ProductName: p.name, Currency: "USD", Amount: p.usd, At: at,
			Email: fmt.Sprintf("%s.%s%d@example.net", firstNames[f.r.IntN(len(firstNames))], lastNames[f.r.IntN(len(lastNames))], seq)}
		if f.r.IntN(4) == 0 {
			s.Currency, s.Amount = "EUR", p.eur
		}
		if p.platform == payments.Paddle {
			s.OrderID = fmt.Sprintf("txn_01jdemo%017d", seq)
		} else {
			s.OrderID = fmt.Sprintf("%d", 4100000+seq)
		}
		if p.membership {
			s.SubscriptionID = fmt.Sprintf("sub_01jdemo%017d", seq)
		}
		return &event{at: at, platform: p.platform, sale: s}
	}
	price := func(e *event, coupon string) {
		s := &e.sale
		if coupon != "" {
			s.Coupon, s.Discount = coupon, s.Amount/5
			s.Amount -= s.Discount
		}
		switch {
		case s.Currency == "EUR":
			s.Tax = s.Amount * 20 / 120 // VAT, included
		case f.r.IntN(10) < 3:
			s.Tax = s.Amount * 7 / 107 // US sales tax
		}
		if e.platform == payments.Paddle {
			s.Fee = s.Amount*5/100 + 50
		}
	}
	soon := func(at time.Time, upTo time.Duration) time.Time {
		t := at.Add(time.Duration(f.r.Int64N(int64(upTo))))
		if !t.Before(now) {
			t = at.Add(time.Duration(f.r.Int64N(int64(now.Sub(at)) + 1)))
		}
		return t
	}

	// Referred by a click: the purchase follows within days.
	for _, r := range plan {
		at := soon(r.at, time.Duration(1+f.r.IntN(5*24))*time.Hour)
		if r.p.isVendor {
			seq++
			gross := int64(12000 + f.r.IntN(48)*1000)
			ev := &payments.Event{Kind: payments.KindSale, Platform: bookings, EventID: fmt.Sprintf("bk-%06d", seq),
				EventType: "conversion.sale", OrderID: fmt.Sprintf("BK-%06d", seq), Currency: "EUR", Gross: gross,
				Tax: gross * 10 / 110, ProductName: []string{"Wine tour and tasting", "Double room, 2 nights", "Cooking class"}[f.r.IntN(3)],
				CustomerEmail: fmt.Sprintf("guest%d@example.net", seq), Referral: r.refID, OccurredAt: at}
			ev.Net, ev.RefundID = ev.Gross-ev.Tax, ev.EventID
			add(&event{at: at, platform: bookings, booking: ev})
			continue
		}
		p := goCourse
		switch x := f.r.IntN(100); {
		case r.landing == "workshops/testing" || r.landing == "" && x < 25:
			p = workshop
		case r.landing == "pricing" && x < 60 || r.landing != "pricing" && x >= 80:
			p = membership
		}
		e := newSale(p, at)
		e.sale.Referral = r.refID
		price(e, "")
		add(e)
	}
	// By coupon alone, on Paddle (whose checkout takes the code).
	var couponed []*partner
	for _, p := range f.partners {
		if p.a.CouponCode != "" && p.until == Days && !p.isVendor {
			couponed = append(couponed, p)
		}
	}
	at := func() time.Time { return first.Add(time.Duration(f.r.Int64N(int64(now.Sub(first))))) }
	for range f.opt.Orders * couponShare / 100 {
		if len(couponed) == 0 {
			break
		}
		p := goCourse
		if f.r.IntN(3) == 0 {
			p = membership
		}
		e := newSale(p, at())
		price(e, couponed[f.r.IntN(min(len(couponed), 4))].a.CouponCode) // the podcasters' codes
		add(e)
	}
	// Nobody's: bought straight from the site.
	for range f.opt.Orders * directShare / 100 {
		e := newSale([]product{goCourse, workshop, membership}[f.r.IntN(3)], at())
		price(e, "")
		add(e)
	}
	// A self-referral: an affiliate buys through her own code; held for review.
	self := f.partners[2].a
	e := newSale(workshop, now.Add(-36*time.Hour))
	e.sale.Referral, e.sale.Email = self.Code, self.Email
	price(e, "")
	add(e)

	// Renewals of memberships, monthly, until the customer churns or the
	// planned number of payments is reached.
	paid := 0
	for _, e := range events {
		if e.isPayment() {
			paid++
		}
	}
	var renewals []*event
	for _, e := range events {
		if e.sale.SubscriptionID == "" {
			continue
		}
		for t := e.at.AddDate(0, 1, 0); t.Before(now) && paid < f.opt.Orders && f.r.IntN(100) >= 12; t = t.AddDate(0, 1, 0) {
			seq++
			s := e.sale
			s.OrderID, s.Renewal, s.At, s.Coupon, s.Discount = fmt.Sprintf("txn_01jdemo%017d", seq), true, t, "", 0
			s.Amount, s.Tax, s.Fee = s.Amount+e.sale.Discount, 0, 0
			r := &event{at: t, platform: e.platform, sale: s}
			price(r, "")
			renewals = append(renewals, r)
			paid++
		}
	}
	events = append(events, renewals...)

	// Refunds within two weeks, a cancelled booking now and then, one chargeback.
	var refunds []*event
	charged := false
	for _, e := range events {
		if !e.isPayment() || e.booking == nil && e.sale.Referral == self.Code {
			continue
		}
		when := soon(e.at, 14*24*time.Hour)
		switch {
		case e.booking != nil && f.r.IntN(100) < 5:
			b := *e.booking
			b.Kind, b.EventType, b.EventID, b.Refund, b.OccurredAt = payments.KindRefund, "conversion.refund", b.EventID+"-cancel", b.Gross, when
			b.RefundID = b.EventID
			refunds = append(refunds, &event{at: when, platform: bookings, booking: &b})
		case e.booking == nil && !e.sale.Renewal && !charged && e.platform == payments.Paddle && e.sale.Referral != "" && e.at.Before(now.AddDate(0, 0, -30)):
			charged = true
			refunds = append(refunds, &event{at: e.at.AddDate(0, 0, 21), platform: e.platform, sale: e.sale, charge: true,
				refund: &paymentstest.Refund{Amount: e.sale.Amount, Tax: e.sale.Tax + e.sale.Fee, At: e.at.AddDate(0, 0, 21)}})
		case e.booking == nil && f.r.IntN(100) < 6:
			amount := e.sale.Amount
			if f.r.IntN(10) < 3 {
				amount /= 2 // a partial refund
			}
			// Paddle keeps its fee on a refund, so the earnings it takes
			// back are the amount less tax and fee; the builder reports
			// earnings as amount − tax, hence the fee in Tax.
			kept := e.sale.Tax + e.sale.Fee
			refunds = append(refunds, &event{at: when, platform: e.platform, sale: e.sale,
				refund: &paymentstest.Refund{Amount: amount, Tax: kept * amount / max(e.sale.Amount, 1), At: when}})
		}
	}
	events = append(events, refunds...)
	payoutAt := now.AddDate(0, 0, -10)
	events = append(events, &event{at: payoutAt, payout: 1}, &event{at: payoutAt.Add(26 * time.Hour), payout: 2})
	slices.SortStableFunc(events, func(a, b *event) int { return a.at.Compare(b.at) })

	// Many events share a transaction (each Ingest joins it): one commit
	// per event would dominate on PostgreSQL.
	done := 0
	for part := range slices.Chunk(events, eventsPerTX) {
		if err := f.d.TX(ctx, func(ctx context.Context) error {
			for _, e := range part {
				if err := f.apply(ctx, e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		done += len(part)
		f.opt.Log.Info("demo: payments", "done", done, "of", len(events))
	}
	return nil
}

// eventsPerTX is how many ledger events commit together.
const eventsPerTX = 1000

// apply hands one event to the ledger, its clock set to a moment after the
// event (webhooks arrive a little late).
func (f *filler) apply(ctx context.Context, e *event) error {
	f.clock = e.at.Add(2 * time.Second)
	switch {
	case e.payout == 1:
		p, err := f.ledger.CreatePayout(ctx, 0, e.at)
		if apperr.Is(err, apperr.KindConflict) {
			return nil // nothing payable yet in a tiny demo
		}
		if err != nil {
			return fmt.Errorf("demo: payout: %w", err)
		}
		f.sum.PayoutID, f.sum.PayoutLines = p.ID, len(p.Lines)
		return nil
	case e.payout == 2:
		if f.sum.PayoutID == 0 {
			return nil
		}
		_, err := f.ledger.MarkPaid(ctx, f.sum.PayoutID)
		return err
	case e.booking != nil:
		body, err := json.Marshal(e.booking)
		if err != nil {
			return err
		}
		return f.ingest(ctx, bookings, body, *e.booking, nil, e)
	}
	var body []byte
	switch {
	case e.refund == nil && e.platform == payments.Paddle:
		body = paymentstest.PaddleSale(e.sale)
	case e.refund == nil:
		body = paymentstest.LemonSqueezySale(e.sale)
	case e.charge:
		body = paymentstest.PaddleChargeback(e.sale, *e.refund)
	case e.platform == payments.Paddle:
		body = paymentstest.PaddleRefund(e.sale, *e.refund)
	default:
		body = paymentstest.LemonSqueezyRefund(e.sale, *e.refund)
	}
	ev, err := payments.Parse(e.platform, body)
	return f.ingest(ctx, e.platform, body, ev, err, e)
}

func (f *filler) ingest(ctx context.Context, platform string, body []byte, ev payments.Event, parseErr error, e *event) error {
	if parseErr != nil {
		return fmt.Errorf("demo: a %s event the parser refuses: %w", platform, parseErr)
	}
	out, err := f.ledger.Ingest(ctx, platform, body, ev, nil)
	if err != nil {
		return fmt.Errorf("demo: ingest %s %s: %w", platform, ev.EventID, err)
	}
	if out != ledger.Applied {
		return fmt.Errorf("demo: %s event %s was %s", platform, ev.EventID, out)
	}
	if e.isPayment() {
		f.sum.Orders++
	} else {
		f.sum.Refunds++
	}
	return nil
}
