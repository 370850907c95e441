package analytics_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"affiliated/internal/analytics"
	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/ledger"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// world is random data written the way production writes it: clicks
// through the tracking writer, sales and refunds through ledger.Ingest.
type world struct {
	t     *testing.T
	d     *db.DB
	progs *program.Store
	l     *ledger.Ledger
	now   time.Time // the ledger's clock
	svc   *analytics.Service
	prog  []*program.Program
	affs  []*program.Affiliate
	seq   int
}

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, d: d, svc: &analytics.Service{DB: d}}
	w.progs = &program.Store{DB: d, Audit: &audit.Log{DB: d}, BaseURL: "https://go.example.com"}
	w.l = &ledger.Ledger{DB: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Programs: w.progs,
		Clicks: &tracking.Stats{DB: d}, Now: func() time.Time { return w.now }}
	for i, name := range []string{"Course", "Winery"} {
		p := program.NewProgram()
		p.Name, p.DestinationURL = name, fmt.Sprintf("https://shop%d.example.com/", i)
		p.HoldDays = 0
		if err := w.progs.CreateProgram(ctx, p); err != nil {
			t.Fatal(err)
		}
		w.prog = append(w.prog, p)
	}
	for i := range 6 {
		a := program.NewAffiliate()
		a.ProgramID = w.prog[min(i/4, 1)].ID // four on the course, two on the winery
		a.Name, a.Email = fmt.Sprintf("Affiliate %d", i), fmt.Sprintf("aff%d@example.com", i)
		a.CouponCode = fmt.Sprintf("SAVE%d", i)
		if i == 3 {
			a.Name = "=HYPERLINK(\"http://evil.example\")" // for the CSV export
			rate := 2500
			a.CommissionRateBps = &rate
		}
		if err := w.progs.CreateAffiliate(ctx, a); err != nil {
			t.Fatal(err)
		}
		w.affs = append(w.affs, a)
	}
	return w
}

var (
	referrers = []string{"", "", "https://www.youtube.com/watch?v=x", "https://t.co/abc", "https://blog.example.org/post/1",
		"android-app://com.google.android.gm/", "http://Example.COM:8080/x", "not a url at all %%"}
	agents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"",
	}
	landings = []string{"https://shop.example.com/?ref=x", "https://shop.example.com/courses/go?utm_source=a", "https://blog.shop.example.com/post#top", ""}
)

// referralID returns a valid referral id from r.
func referralID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// writeClicks logs n random clicks in [from, to) through the real writer
// and returns them.
func (w *world) writeClicks(r *rand.Rand, n int, from, to time.Time) []tracking.Click {
	w.t.Helper()
	wr := tracking.NewWriter(w.d, slog.New(slog.NewTextHandler(io.Discard, nil)),
		tracking.WriterConfig{BatchSize: 200, BatchWait: time.Millisecond, Queue: n + 1}, nil)
	var out []tracking.Click
	var dones []<-chan error
	span := to.Sub(from)
	for range n {
		a := w.affs[r.IntN(len(w.affs))]
		c := tracking.Click{AffiliateID: a.ID, ProgramID: a.ProgramID,
			At:       db.Time(from.Add(time.Duration(r.Int64N(int64(span))))),
			Referrer: referrers[r.IntN(len(referrers))], LandingURL: landings[r.IntN(len(landings))]}
		// A returning visitor reuses an id; a new one is unique.
		if len(out) > 0 && r.IntN(4) == 0 {
			prev := out[r.IntN(len(out))]
			c.ReferralID, c.AffiliateID, c.ProgramID = prev.ReferralID, prev.AffiliateID, prev.ProgramID
		} else {
			c.ReferralID, c.IsUnique = referralID(r), true
		}
		c.UserAgent = agents[r.IntN(len(agents))]
		c.Device, c.IsBot = string(tracking.DeviceOf(c.UserAgent)), tracking.IsBot(c.UserAgent)
		done, err := wr.Add(context.Background(), c)
		if err != nil {
			w.t.Fatal(err)
		}
		dones = append(dones, done)
		out = append(out, c)
	}
	for _, d := range dones {
		if err := <-d; err != nil {
			w.t.Fatal(err)
		}
	}
	if err := wr.Close(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) ingest(ev payments.Event) {
	w.t.Helper()
	w.seq++
	ev.Platform, ev.EventID = "shop", fmt.Sprintf("evt-%d", w.seq)
	if ev.RefundID == "" {
		ev.RefundID = ev.EventID
	}
	w.now = ev.OccurredAt
	body, _ := json.Marshal(ev)
	if _, err := w.l.Ingest(context.Background(), "shop", body, ev, nil); err != nil {
		w.t.Fatalf("ingest %+v: %v", ev, err)
	}
}

// writeSales reports n random payments, most of them referred by one of
// clicks, some by coupon, some by nobody; renewals of earlier
// subscriptions; refunds, partial and full; a self-referral that the owner
// rejects.
func (w *world) writeSales(r *rand.Rand, n int, clicks []tracking.Click) {
	w.t.Helper()
	currencies := []string{"USD", "USD", "EUR", "JPY"}
	var subs []payments.Event
	for i := range n {
		c := clicks[r.IntN(len(clicks))]
		ev := payments.Event{Kind: payments.KindSale, OrderID: fmt.Sprintf("o%d", i),
			OccurredAt: db.Time(c.At.Add(time.Duration(r.Int64N(int64(6 * time.Hour))))),
			Currency:   currencies[r.IntN(len(currencies))], CustomerEmail: fmt.Sprintf("buyer%d@example.net", i)}
		switch k := r.IntN(10); {
		case k < 6:
			ev.Referral = c.ReferralID
		case k < 8:
			ev.Coupon = w.affs[r.IntN(len(w.affs))].CouponCode
		case k < 9 && len(subs) > 0:
			first := subs[r.IntN(len(subs))]
			ev.Kind, ev.SubscriptionID, ev.Currency = payments.KindRenewal, first.SubscriptionID, first.Currency
			ev.OccurredAt = first.OccurredAt.Add(time.Duration(1+r.IntN(48)) * time.Hour)
		}
		if ev.Kind == payments.KindSale && r.IntN(4) == 0 {
			ev.SubscriptionID = "sub-" + ev.OrderID
		}
		ev.Gross = 1000 + r.Int64N(50000)
		ev.Tax = ev.Gross / 10
		ev.Fee = r.Int64N(300)
		ev.Net, ev.NetReported = ev.Gross-ev.Tax-ev.Fee, true
		w.ingest(ev)
		if ev.SubscriptionID != "" && ev.Kind == payments.KindSale {
			subs = append(subs, ev)
		}
		if r.IntN(5) == 0 {
			refund := payments.Event{Kind: payments.KindRefund, OrderID: ev.OrderID, Currency: ev.Currency,
				Refund: ev.Gross, OccurredAt: ev.OccurredAt.Add(time.Duration(r.IntN(72)) * time.Hour)}
			if r.IntN(2) == 0 {
				refund.Refund = ev.Gross / 3
			}
			w.ingest(refund)
		}
	}
	// A refund before its sale: an order without has_sale, never counted.
	w.ingest(payments.Event{Kind: payments.KindRefund, OrderID: "orphan", Currency: "USD", Refund: 500, OccurredAt: clicks[0].At})
	// A refund whose sale comes a day later: the order moves from the
	// refund's hour to the sale's when it gets its sale and affiliate.
	late := clicks[2]
	for _, c := range clicks {
		if !c.IsBot {
			late = c
			break
		}
	}
	w.ingest(payments.Event{Kind: payments.KindRefund, OrderID: "late", Currency: "EUR", Refund: 1000, OccurredAt: late.At.Add(30 * time.Hour)})
	w.ingest(payments.Event{Kind: payments.KindSale, OrderID: "late", Currency: "EUR", Gross: 5000, Net: 4000, NetReported: true,
		Referral: late.ReferralID, OccurredAt: late.At.Add(time.Hour)})
	// An unattributed sale attributed by hand.
	w.ingest(payments.Event{Kind: payments.KindSale, OrderID: "manual", Currency: "USD", Gross: 7000, Net: 7000, NetReported: true,
		OccurredAt: clicks[3].At})
	orders, _, err := w.l.Orders(context.Background(), ledger.OrderFilter{Unattributed: true, Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, o := range orders {
		if o.OrderRef == "manual" {
			if _, err := w.l.AttributeOrder(context.Background(), o.ID, w.affs[4].ID); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	// A self-referral, held and then rejected: it counts, with 0 commission.
	a := w.affs[0]
	w.ingest(payments.Event{Kind: payments.KindSale, OrderID: "self", Currency: "USD", Gross: 9900, Net: 9900, NetReported: true,
		Coupon: a.CouponCode, CustomerEmail: a.Email, OccurredAt: clicks[1].At})
	// (CommissionFilter.Status cannot be used: ledger.Commissions's status
	// column has no name in its subquery.)
	list, _, err := w.l.Commissions(context.Background(), ledger.CommissionFilter{AffiliateID: a.ID, Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	held := 0
	for _, c := range list {
		if c.Review == "held" {
			held++
			if err := w.l.Review(context.Background(), c.ID, false); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	if held != 1 {
		w.t.Fatalf("%d held commissions, want the self-referral", held)
	}
	w.reattribute(r)
}

// reattribute moves some attributed orders to another affiliate (of
// either program), with their commissions, changing, removing or adding a
// commission on the way, and refunds part of some: changes made in SQL,
// whoever makes them, that the rollups' triggers must follow.
func (w *world) reattribute(r *rand.Rand) {
	w.t.Helper()
	ctx := context.Background()
	rows, err := w.d.R(ctx).QueryContext(ctx, `select o.id, coalesce(c.id, 0) from orders o left join commissions c on c.order_id = o.id
		where o.has_sale and o.affiliate_id is not null order by o.id`)
	if err != nil {
		w.t.Fatal(err)
	}
	var orders, comms []int64
	for rows.Next() {
		var o, c int64
		if err := rows.Scan(&o, &c); err != nil {
			w.t.Fatal(err)
		}
		orders, comms = append(orders, o), append(comms, c)
	}
	rows.Close()
	err = w.d.TX(ctx, func(ctx context.Context) error {
		q := w.d.Q(ctx)
		for n := range 20 {
			i := r.IntN(len(orders))
			a := w.affs[r.IntN(len(w.affs))]
			if _, err := q.ExecContext(ctx, `update orders set affiliate_id = $1, program_id = $2, attributed_by = 'manual',
				refunded_gross = refunded_gross + $3, refunded_net = refunded_net + $3 where id = $4`,
				a.ID, a.ProgramID, int64(n%3)*100, orders[i]); err != nil {
				return err
			}
			switch {
			case comms[i] == 0:
				if _, err := q.ExecContext(ctx, `insert into commissions (order_id, affiliate_id, program_id, currency, amount, payable_at, created_at)
					select id, affiliate_id, program_id, currency, 123, occurred_at, occurred_at from orders where id = $1`, orders[i]); err != nil {
					return err
				}
			case n%4 == 0:
				if _, err := q.ExecContext(ctx, `delete from ledger_entries where commission_id = $1`, comms[i]); err != nil {
					return err
				}
				if _, err := q.ExecContext(ctx, `delete from commissions where id = $1`, comms[i]); err != nil {
					return err
				}
			default:
				if _, err := q.ExecContext(ctx, `update commissions set affiliate_id = $1, program_id = $2, amount = amount / 2 + $3 where id = $4`,
					a.ID, a.ProgramID, n, comms[i]); err != nil {
					return err
				}
			}
			comms[i] = -1 // changed: not again
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// rawOrder is an attributed payment as the raw tables hold it.
type rawOrder struct {
	at                     time.Time
	currency, kind         string
	affiliate, program     int64
	gross, net, commission int64
}

// rawClick is a click as the raw log holds it.
type rawClick struct {
	at                 time.Time
	affiliate, program int64
	bot, unique        bool
	c                  tracking.Click
}

// raw reads the raw tables back: what every report must add up to.
func (w *world) raw() ([]rawClick, []rawOrder) {
	w.t.Helper()
	ctx := context.Background()
	rows, err := w.d.R(ctx).QueryContext(ctx, `select affiliate_id, program_id, at, is_bot, is_unique, referrer, landing_url, device from clicks`)
	if err != nil {
		w.t.Fatal(err)
	}
	var clicks []rawClick
	for rows.Next() {
		var c rawClick
		if err := rows.Scan(&c.affiliate, &c.program, &c.at, &c.bot, &c.unique, &c.c.Referrer, &c.c.LandingURL, &c.c.Device); err != nil {
			w.t.Fatal(err)
		}
		c.at = c.at.UTC()
		c.c.AffiliateID, c.c.ProgramID, c.c.At, c.c.IsBot = c.affiliate, c.program, c.at, c.bot
		clicks = append(clicks, c)
	}
	rows.Close()
	rows, err = w.d.R(ctx).QueryContext(ctx, `select o.occurred_at, o.currency, o.kind, o.affiliate_id, o.program_id,
		o.gross - o.refunded_gross, o.net - o.refunded_net, coalesce(c.amount, 0)
		from orders o left join commissions c on c.order_id = o.id where o.has_sale and o.affiliate_id is not null`)
	if err != nil {
		w.t.Fatal(err)
	}
	var orders []rawOrder
	for rows.Next() {
		var o rawOrder
		if err := rows.Scan(&o.at, &o.currency, &o.kind, &o.affiliate, &o.program, &o.gross, &o.net, &o.commission); err != nil {
			w.t.Fatal(err)
		}
		o.at = o.at.UTC()
		orders = append(orders, o)
	}
	rows.Close()
	return clicks, orders
}
