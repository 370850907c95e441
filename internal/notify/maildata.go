package notify

import (
	"strconv"
	"strings"
	"time"

	"affiliated/internal/ledger"
	"affiliated/internal/money"
	"affiliated/internal/program"
)

// mailData is what every email template may use. Amounts are formatted for
// their currency ("$49.00", "¥1,250", "12.50 CHF"); times are dates in UTC.
type mailData struct {
	// The affiliate.
	Name        string // the affiliate's name, or the address when there is none
	Email       string
	Code        string
	Coupon      string // the discount code for their audience, when they have one
	ReferralURL string
	Program     string

	// The order and the commission.
	Product     string
	Platform    string // for people: "Stripe", "Lemon Squeezy"
	OrderID     int64
	OrderRef    string // the platform's id
	OrderKind   string // sale or renewal
	Currency    string
	OrderAmount string // gross paid
	OrderNet    string // net after tax and fees, what the commission is a share of
	Commission  string // the commission now
	Rate        string // "50%", or "flat"
	Status      string // pending, payable, held, …
	PayableAt   string
	Pending     bool // the hold has not passed
	Adjustment  string
	Cause       string // "refund", "chargeback", "chargeback reversed"
	Clawback    bool   // taken back after a payout: deducted from the next one
	Restored    bool   // a won chargeback gave commission back

	// Payouts.
	PayoutID int64
	Lines    []payoutLineData

	// Sign-in.
	SignInCode string
	Expires    string

	PortalURL string
	AdminURL  string
}

type payoutLineData struct {
	Amount       string
	Currency     string
	Commissions  int
	Clawbacks    string
	HasClawbacks bool
}

func formatMoney(amount int64, currency string) string {
	return money.Format(money.Money{Amount: amount, Currency: currency})
}

// formatTime writes a time for people, in UTC, to the minute.
func formatTime(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") }

func formatDate(t time.Time) string { return t.UTC().Format("2 January 2006") }

var platformNames = map[string]string{
	"paddle": "Paddle", "paddle-classic": "Paddle Classic", "paddleclassic": "Paddle Classic",
	"lemonsqueezy": "Lemon Squeezy", "stripe": "Stripe", "gumroad": "Gumroad",
}

func platformName(p string) string {
	if n, ok := platformNames[p]; ok {
		return n
	}
	return p
}

// rate writes basis points as a percentage: 5000 → "50%", 1250 → "12.5%".
func rate(bps int64) string {
	s := strconv.FormatInt(bps/100, 10)
	if frac := bps % 100; frac != 0 {
		f := strconv.FormatInt(100+frac, 10)[1:]
		s += "." + strings.TrimRight(f, "0")
	}
	return s + "%"
}

func (s *Service) affiliateData(a *program.Affiliate, p *program.Program) *mailData {
	d := &mailData{Name: a.Name, Email: a.Email, Code: a.Code, Coupon: a.CouponCode, ReferralURL: s.cfg.Programs.ReferralURL(a),
		Program: p.Name, PortalURL: s.cfg.BaseURL + "/portal", AdminURL: s.cfg.BaseURL + "/admin"}
	if d.Name == "" {
		d.Name = a.Email
	}
	return d
}

func (s *Service) commissionData(c *ledger.Commission, o *ledger.Order, a *program.Affiliate, p *program.Program, adj *adjustment) *mailData {
	d := s.affiliateData(a, p)
	d.Product = o.ProductName
	if d.Product == "" {
		d.Product = p.Name
	}
	d.Platform, d.OrderID, d.OrderRef, d.OrderKind = platformName(o.Platform), o.ID, o.OrderRef, o.Kind
	d.Currency = c.Currency
	d.OrderAmount = formatMoney(o.Gross, o.Currency)
	d.OrderNet = formatMoney(o.Net, o.Currency)
	d.Commission = formatMoney(c.Amount, c.Currency)
	d.Rate = rate(c.RateBps)
	if c.FlatAmount > 0 {
		d.Rate = "flat " + formatMoney(c.FlatAmount, c.Currency)
	}
	d.Status = strings.ReplaceAll(c.Status, "_", " ")
	d.PayableAt = formatDate(c.PayableAt)
	d.Pending = c.Status == ledger.StatusPending
	if adj != nil {
		d.Adjustment = formatMoney(adj.Amount, c.Currency)
		if adj.Amount > 0 {
			d.Adjustment = "+" + d.Adjustment
		}
		d.Cause = strings.ReplaceAll(adj.Cause, "_", " ")
		d.Clawback = adj.Kind == ledger.EntryClawback
		d.Restored = adj.Kind == ledger.EntryRestored
	}
	return d
}
