// Package demo fills an empty database with a believable program, so that a
// newcomer sees a populated console and portal at once, and benchmarks have
// data at scale.
//
// The story: Ship It Academy, a course creator selling a video course and
// a membership on Paddle and a workshop on Lemon Squeezy, with 25
// affiliates (YouTubers, bloggers, newsletter writers, …); and Casa Aurora,
// a guesthouse and winery whose 7 partner vendors (the wine shop "solare",
// a trattoria, a bike hire, …) send guests through /ref/ links and QR
// codes. Ninety days of clicks up to now, sales and renewals, refunds, a
// chargeback, a self-referral waiting for review, and a paid payout.
//
// Everything goes through the real code: programs and affiliates through
// the program store, clicks through the tracking writer (so the rollups
// are the ones production keeps), payments through ledger.Ingest with
// webhook bodies in the platforms' own shapes (so commissions, refunds and
// clawbacks are the ledger's own, and `ledger verify` and `ledger rebuild
// --dry-run` agree), payouts through the ledger with its clock set in the
// past. The same seed and the same Now give the same data.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/ledger"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// Defaults: a few seconds of work on a laptop.
const (
	DefaultClicks = 30000
	DefaultOrders = 600
	Days          = 90 // of history, up to Now
)

// Options scale and seed the demo.
type Options struct {
	Clicks int       // DefaultClicks when 0
	Orders int       // payments (sales and renewals); DefaultOrders when 0
	Now    time.Time // the end of the history; time.Now when zero
	Seed   uint64    // 1 when 0
	// BaseURL is the server's public URL, for referral links; default
	// http://localhost:8080.
	BaseURL string
	Log     *slog.Logger // progress; nothing when nil
}

// Summary says what was created.
type Summary struct {
	Programs    int           `json:"programs"`
	Affiliates  int           `json:"affiliates"`
	Clicks      int           `json:"clicks"`
	Orders      int           `json:"orders"` // payments: sales and renewals
	Refunds     int           `json:"refunds"`
	PayoutID    int64         `json:"payout_id"` // 0 when nothing was payable yet
	PayoutLines int           `json:"payout_lines"`
	Took        time.Duration `json:"took"`
}

// ErrNotEmpty is returned (wrapped) by Fill when the database holds data.
var ErrNotEmpty = errors.New("the database is not empty")

// tables that must be empty: anything a demo would mix with.
var tables = []string{"programs", "affiliates", "clicks", "orders", "webhook_events"}

// Empty reports whether the database has no programs, affiliates, clicks,
// orders or webhook deliveries (API tokens and owner accounts may exist).
func Empty(ctx context.Context, d *db.DB) (bool, error) {
	what, err := contents(ctx, d)
	return what == "", err
}

// contents describes what the database holds, "" when nothing that counts.
func contents(ctx context.Context, d *db.DB) (string, error) {
	s := ""
	for _, t := range tables {
		var n int64
		if err := d.R(ctx).QueryRowContext(ctx, `/* demo.contents */ select count(*) from (select 1 from `+t+` limit 1000) x`).Scan(&n); err != nil {
			return "", err
		}
		if n > 0 {
			if s != "" {
				s += ", "
			}
			if n == 1000 {
				s += "1000+ " + t
			} else {
				s += fmt.Sprintf("%d %s", n, t)
			}
		}
	}
	return s, nil
}

// Fill creates the demo in d, which must be migrated and empty.
func Fill(ctx context.Context, d *db.DB, opt Options) (*Summary, error) {
	start := time.Now()
	if opt.Clicks <= 0 {
		opt.Clicks = DefaultClicks
	}
	if opt.Orders <= 0 {
		opt.Orders = DefaultOrders
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	opt.Now = db.Time(opt.Now)
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	if opt.BaseURL == "" {
		opt.BaseURL = "http://localhost:8080"
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	what, err := contents(ctx, d)
	if err != nil {
		return nil, err
	}
	if what != "" {
		return nil, fmt.Errorf("%w: it holds %s; the demo only fills an empty database (use a new one, e.g. --db demo.db)", ErrNotEmpty, what)
	}
	ctx = audit.WithActor(ctx, "demo")
	if d.Dialect() == db.SQLite {
		// A bulk load: no sync per commit (a crashed demo is simply run
		// again on a new file) and a page cache that holds a transaction.
		// The writer pool is one connection, so these apply to every write.
		for _, p := range []string{`pragma synchronous = off`, `pragma cache_size = -65536`} {
			if _, err := d.Q(ctx).ExecContext(ctx, p); err != nil {
				return nil, err
			}
		}
		defer func() {
			for _, p := range []string{`pragma synchronous = normal`, `pragma cache_size = -2000`} {
				_, _ = d.Q(ctx).ExecContext(ctx, p)
			}
		}()
	}
	f := &filler{d: d, opt: opt, r: rand.New(rand.NewPCG(opt.Seed, 0x5eed)), sum: &Summary{}}
	f.progs = &program.Store{DB: d, Audit: &audit.Log{DB: d}, BaseURL: opt.BaseURL}
	f.ledger = &ledger.Ledger{DB: d, Log: opt.Log, Programs: f.progs, Clicks: &tracking.Stats{DB: d},
		Now: func() time.Time { return f.clock }}
	f.clock = opt.Now
	if err := f.setup(ctx); err != nil {
		return nil, err
	}
	opt.Log.Info("demo: programs and affiliates", "programs", f.sum.Programs, "affiliates", f.sum.Affiliates)
	plan, err := f.clicks(ctx)
	if err != nil {
		return nil, err
	}
	// Statistics of the tables just filled: without them PostgreSQL finds
	// a sale's referral click by walking the clicks in time order (its plan
	// for "no statistics yet"): 50+ ms per sale at 10M clicks, so 100k
	// sales took hours. (SQLite plans by its indexes alone here, and its
	// ANALYZE reads every index in full.)
	if d.Dialect() == db.Postgres {
		if _, err := d.Q(ctx).ExecContext(ctx, `/* demo.Fill */ analyze`); err != nil {
			return nil, fmt.Errorf("demo: analyze: %w", err)
		}
	}
	if err := f.sales(ctx, plan); err != nil {
		return nil, err
	}
	// The sales left the rollups' upserted rows behind as dead tuples
	// (hundreds of thousands for a few thousand live rows at 100k sales).
	// A server's autovacuum would clear them; a freshly filled database
	// should not depend on whether it runs (it can be off), so the demo
	// hands over a vacuumed, analyzed database, as it would be in use.
	if d.Dialect() == db.Postgres {
		if _, err := d.Q(ctx).ExecContext(ctx, `/* demo.Fill */ vacuum analyze`); err != nil {
			return nil, fmt.Errorf("demo: vacuum: %w", err)
		}
	}
	f.sum.Took = time.Since(start).Round(time.Millisecond)
	return f.sum, nil
}

// filler holds the state of one Fill.
type filler struct {
	d      *db.DB
	opt    Options
	r      *rand.Rand
	progs  *program.Store
	ledger *ledger.Ledger
	clock  time.Time // the ledger's now
	sum    *Summary

	course, villa *program.Program
	partners      []*partner
}

// partner is an affiliate or vendor with how it sends traffic.
type partner struct {
	a        *program.Affiliate
	weight   float64  // share of its program's clicks
	sources  []string // Referer values it brings, "" for none; repeated for weight
	until    int      // days of history with clicks (a suspended one stopped)
	isVendor bool
}

func (f *filler) setup(ctx context.Context) error {
	course := program.NewProgram()
	course.Name, course.Slug = "Ship It Academy", "shipit"
	course.DestinationURL = "https://shipit.example.com/"
	course.AllowedHosts = []string{"blog.shipit.example.com"}
	course.CommissionRateBps, course.HoldDays, course.CookieDays = 5000, 30, 60
	course.Recurring, course.MinPayout = "months:12", 5000
	course.Terms = "50% of net revenue on every sale and on the first 12 months of a membership. " +
		"Commissions become payable after the 30-day refund window; payouts monthly from $50."
	villa := program.NewProgram()
	villa.Name, villa.Slug = "Casa Aurora partners", "casa-aurora"
	villa.DestinationURL = "https://casa-aurora.example/"
	villa.CommissionRateBps, villa.HoldDays, villa.CookieDays = 1000, 14, 30
	villa.UTM = program.UTM{Source: "{code}", Medium: "partner", Campaign: "vendors"}
	villa.MinPayout = 2000
	villa.Terms = "10% of every booking our guests make through your link or QR code, paid monthly."
	for _, p := range []*program.Program{course, villa} {
		if err := f.progs.CreateProgram(ctx, p); err != nil {
			return fmt.Errorf("demo: program %s: %w", p.Name, err)
		}
		f.sum.Programs++
	}
	f.course, f.villa = course, villa

	for i, p := range coursePartners {
		a := program.NewAffiliate()
		a.ProgramID, a.Name, a.Code, a.Email = course.ID, p.name, p.code, p.code+"@"+emailDomains[i%len(emailDomains)]
		a.Website, a.Promotion, a.Status = p.site, p.promotion, p.status
		if i%2 == 0 {
			a.CouponCode = couponOf(p.code)
		}
		if i%5 == 1 {
			a.PayoutEmail = "payouts+" + p.code + "@" + emailDomains[(i+1)%len(emailDomains)]
		}
		if p.rate != 0 {
			rate := p.rate
			a.CommissionRateBps = &rate
		}
		if err := f.progs.CreateAffiliate(ctx, a); err != nil {
			return fmt.Errorf("demo: affiliate %s: %w", p.code, err)
		}
		w := 1 / float64(1+i) // a few big partners, a long tail
		until := Days
		switch p.status {
		case program.StatusPending:
			w, until = 0, 0
		case program.StatusSuspended:
			until = Days / 2
		}
		f.partners = append(f.partners, &partner{a: a, weight: w, sources: sourcesOf(p.channel, p.site), until: until})
		f.sum.Affiliates++
	}
	for i, v := range vendors {
		a := program.NewAffiliate()
		a.ProgramID, a.Name, a.Code, a.Email = villa.ID, v.name, v.code, v.code+"@"+vendorDomain
		a.Website, a.Promotion = "https://"+v.code+".example.it/", v.promotion
		if err := f.progs.CreateAffiliate(ctx, a); err != nil {
			return fmt.Errorf("demo: vendor %s: %w", v.code, err)
		}
		f.partners = append(f.partners, &partner{a: a, weight: 1 / float64(2+i), sources: vendorSources, until: Days, isVendor: true})
		f.sum.Affiliates++
	}
	return nil
}

func couponOf(code string) string {
	b := []byte(code)
	n := 0
	for _, c := range b {
		if c >= 'a' && c <= 'z' {
			b[n] = c - 'a' + 'A'
			n++
		}
	}
	return string(b[:min(n, 8)]) + "20"
}
