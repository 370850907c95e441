package portal

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/ledger"
	"affiliated/internal/money"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// pageSize is the number of rows of a listing page.
const pageSize = 50

// Statuses and platforms offered by the filters.
var (
	statuses  = []string{ledger.StatusPending, ledger.StatusPayable, ledger.StatusHeld, ledger.StatusInPayout, ledger.StatusPaid, ledger.StatusReversed, ledger.StatusRejected}
	platforms = []option{
		{payments.Paddle, "Paddle"}, {payments.PaddleClassic, "Paddle Classic"}, {payments.LemonSqueezy, "Lemon Squeezy"},
		{payments.Stripe, "Stripe"}, {payments.Gumroad, "Gumroad"},
	}
)

type option struct{ Value, Label string }

// PlatformName is a platform as people write it; unknown ones (reported
// through the conversions API) stay as they are.
func PlatformName(p string) string {
	for _, o := range platforms {
		if o.Value == p {
			return o.Label
		}
	}
	return p
}

// commissionFilter is the filter form, as typed.
type commissionFilter struct {
	Status, Platform, From, To string
}

type commissionsData struct {
	Filter    commissionFilter
	Statuses  []string
	Platforms []option
	Rows      []*ledger.Commission
	Pager     ui.Pager
	CSV       string
}

// filter reads the filter form into a ledger filter scoped to me.
func filter(q url.Values, me *program.Affiliate) (ledger.CommissionFilter, commissionFilter, error) {
	in := commissionFilter{Status: q.Get("status"), Platform: q.Get("platform"), From: q.Get("from"), To: q.Get("to")}
	f := ledger.CommissionFilter{AffiliateID: me.ID, Status: in.Status, Platform: in.Platform}
	if in.Status != "" && !contains(statuses, in.Status) {
		return f, in, apperr.Invalid("status", "choose a status from the list")
	}
	if in.From != "" {
		t, err := time.Parse("2006-01-02", in.From)
		if err != nil {
			return f, in, apperr.Invalid("from", "must be a date")
		}
		f.From = t
	}
	if in.To != "" {
		t, err := time.Parse("2006-01-02", in.To)
		if err != nil {
			return f, in, apperr.Invalid("to", "must be a date")
		}
		f.To = t.AddDate(0, 0, 1) // the whole last day
	}
	if c := q.Get("after"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n < 0 {
			return f, in, apperr.Invalid("after", "is not a page of this list")
		}
		f.After = n
	}
	return f, in, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *Portal) commissions(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	v := &ui.View{Title: "Commissions", Active: "commissions"}
	f, in, err := filter(r.URL.Query(), me)
	d := &commissionsData{Filter: in, Statuses: statuses, Platforms: platforms, Rows: []*ledger.Commission{}}
	v.Data = d
	if err != nil {
		v.Error = ui.Message(err)
		return p.surface.Render(w, r, http.StatusBadRequest, "commissions", v)
	}
	f.Limit = pageSize
	rows, next, err := p.cfg.Ledger.Commissions(r.Context(), f)
	if err != nil {
		return err
	}
	d.Rows, d.Pager = rows, ui.NewPager(r, "after", next)
	q := r.URL.Query()
	q.Del("after")
	d.CSV = Prefix + "/commissions.csv"
	if e := q.Encode(); e != "" {
		d.CSV += "?" + e
	}
	return p.render(w, r, "commissions", v)
}

// commissionsCSV writes every commission that matches the filters.
func (p *Portal) commissionsCSV(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	f, _, err := filter(r.URL.Query(), me)
	if err != nil {
		return err
	}
	f.After, f.Limit = 0, 1000
	first, next, err := p.cfg.Ledger.Commissions(r.Context(), f)
	if err != nil {
		return err
	}
	c := ui.NewCSV(w, "commissions-"+p.now().Format("2006-01-02")+".csv")
	_ = c.Row("commission_id", "date", "platform", "order", "product", "currency", "order_amount", "order_net",
		"commission", "status", "payable_on")
	for rows := first; ; {
		for _, cm := range rows {
			_ = c.Row(strconv.FormatInt(cm.ID, 10), cm.OccurredAt.Format("2006-01-02"), cm.Platform, cm.OrderRef, cm.ProductName,
				cm.Currency, money.FormatMajor(cm.OrderGross, cm.Currency), money.FormatMajor(cm.OrderNet, cm.Currency),
				money.FormatMajor(cm.Amount, cm.Currency), cm.Status, cm.PayableAt.Format("2006-01-02"))
		}
		if next == "" {
			break
		}
		f.After, _ = strconv.ParseInt(next, 10, 64)
		if rows, next, err = p.cfg.Ledger.Commissions(r.Context(), f); err != nil {
			return err // the status line is sent; the truncated file is the best we can do
		}
	}
	return c.Flush()
}

func (p *Portal) commission(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := p.cfg.Ledger.Commission(r.Context(), id)
	if err != nil {
		return err
	}
	if c.AffiliateID != me.ID {
		return apperr.NotFound("commission") // someone else's: as if it did not exist
	}
	return p.render(w, r, "commission", &ui.View{Title: "Commission " + strconv.FormatInt(c.ID, 10), Active: "commissions", Data: c})
}
