package admin

import (
	"net/http"
	"strconv"
	"time"

	"affiliated/internal/analytics"
	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/ledger"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
	"affiliated/internal/ui"
)

// affiliateForm is an affiliate as its form shows it.
type affiliateForm struct {
	ID                        int64
	ProgramID                 int64
	Name, Email, Code, Coupon string
	Rate                      string // percent; "" is the program's
	PayoutEmail, Website      string
	Promotion                 string
	NotifySales               bool
	Status                    string
	Field                     string
	Programs                  []*program.Program
}

func affiliateToForm(a *program.Affiliate) *affiliateForm {
	return &affiliateForm{ID: a.ID, ProgramID: a.ProgramID, Name: a.Name, Email: a.Email, Code: a.Code, Coupon: a.CouponCode,
		Rate: rateField(a.CommissionRateBps), PayoutEmail: a.PayoutEmail, Website: a.Website, Promotion: a.Promotion,
		NotifySales: a.NotifySales, Status: a.Status}
}

func rateField(r *int) string {
	if r == nil {
		return ""
	}
	return percentField(*r)
}

// readAffiliate fills a from the posted form; the form keeps what was typed.
func readAffiliate(r *http.Request, a *program.Affiliate) (*affiliateForm, error) {
	f := &affiliateForm{ID: a.ID, Name: formString(r, "name"), Email: formString(r, "email"), Code: formString(r, "code"),
		Coupon: formString(r, "coupon_code"), Rate: formString(r, "rate"), PayoutEmail: formString(r, "payout_email"),
		Website: formString(r, "website"), Promotion: formString(r, "promotion"),
		NotifySales: r.PostForm.Get("notify_sales") == "on", Status: a.Status}
	pid, err := strconv.ParseInt(formString(r, "program_id"), 10, 64)
	if err != nil {
		return f, apperr.Invalid("program_id", "choose a program")
	}
	f.ProgramID = pid
	var rate *int
	if f.Rate != "" {
		bps, err := parsePercent("rate", f.Rate)
		if err != nil {
			return f, err
		}
		rate = &bps
	}
	a.ProgramID, a.Name, a.Email, a.Code, a.CouponCode = pid, f.Name, f.Email, f.Code, f.Coupon
	a.CommissionRateBps, a.PayoutEmail, a.Website, a.Promotion, a.NotifySales = rate, f.PayoutEmail, f.Website, f.Promotion, f.NotifySales
	return f, nil
}

// fieldOf maps the domain's field names to the form's.
func fieldOf(field string) string {
	if field == "commission_rate_bps" {
		return "rate"
	}
	return field
}

func (c *Console) newAffiliate(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	progs, err := c.cfg.Programs.Programs(r.Context())
	if err != nil {
		return err
	}
	f := affiliateToForm(program.NewAffiliate())
	f.Programs = progs
	if id, _ := queryID(r, "program"); id != 0 {
		f.ProgramID = id
	}
	v := &ui.View{Title: "Add an affiliate", Active: "affiliates", Data: f}
	if len(progs) == 0 {
		v.Error = "Create a program first: every affiliate promotes one."
	}
	return c.render(w, r, "affiliate_new", v)
}

func (c *Console) createAffiliate(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	a := program.NewAffiliate()
	f, err := readAffiliate(r, a)
	if err == nil {
		err = c.cfg.Programs.CreateAffiliate(ctx, a)
	}
	if err != nil {
		st, msg, field, fatal := formError(err)
		if fatal != nil {
			return fatal
		}
		f.Field = fieldOf(field)
		if f.Programs, err = c.cfg.Programs.Programs(ctx); err != nil {
			return err
		}
		return c.renderStatus(w, r, st, "affiliate_new", &ui.View{Title: "Add an affiliate", Active: "affiliates", Error: msg, Data: f})
	}
	return redirect(w, r, Prefix+"/affiliates/"+i64(a.ID), "affiliate-created")
}

// affiliateData is the detail page.
type affiliateData struct {
	A         *program.Affiliate
	Program   *program.Program
	Form      *affiliateForm
	Links     []refLink
	Period    period
	Periods   any
	Zones     []string
	Stats     analytics.Stats
	Money     []currencyFigures
	Balances  []ledger.Balance
	Clicks    []tracking.Click
	Pager     ui.Pager
	Orders    []*ledger.Order
	MoreOrd   string
	Comms     []*ledger.Commission
	MoreCom   string
	ClicksCSV string
	OrdersCSV string
	CommsCSV  string
}

type refLink struct {
	ID, Label, URL string
}

func (c *Console) affiliate(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return c.affiliatePage(w, r, id, http.StatusOK, "")
}

// affiliatePage renders an affiliate's page with status and an error
// message (after a refused change), or with the form as posted.
func (c *Console) affiliatePage(w http.ResponseWriter, r *http.Request, id int64, status int, errMsg string, form ...*affiliateForm) error {
	ctx := r.Context()
	a, err := c.cfg.Programs.Affiliate(ctx, id)
	if err != nil {
		return err
	}
	v := &ui.View{Title: a.Name, Active: "affiliates", Flash: flash(r), Error: errMsg}
	if v.Title == "" {
		v.Title = a.Email
	}
	p, msg := c.requestPeriod(r, "30")
	if v.Error == "" {
		v.Error = msg
	}
	d := &affiliateData{A: a, Period: p, Periods: periodKeys, Zones: zones, Form: affiliateToForm(a)}
	if len(form) > 0 {
		d.Form = form[0]
	}
	if d.Program, err = c.cfg.Programs.Program(ctx, a.ProgramID); err != nil {
		return err
	}
	if d.Form.Programs, err = c.cfg.Programs.Programs(ctx); err != nil {
		return err
	}
	ref := c.cfg.Programs.ReferralURL(a)
	d.Links = []refLink{{ID: "link-r", Label: "Referral link", URL: ref},
		{ID: "link-ref", Label: "Short link for vendors", URL: c.cfg.Programs.BaseURL + "/ref/" + a.Code}}
	stats, err := c.affiliateStats(ctx, []int64{id}, p)
	if err != nil {
		return err
	}
	d.Stats = stats[id]
	d.Money = figures(d.Stats.Money)
	if d.Balances, err = c.cfg.Ledger.Balances(ctx, id); err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	var next string
	d.Clicks, next, err = c.cfg.Stats.Clicks(ctx, tracking.ClickQuery{AffiliateID: id, From: p.From, To: p.To, Cursor: cursor, Limit: 25})
	if err != nil {
		if _, m, _, fatal := formError(err); fatal != nil {
			return fatal
		} else {
			v.Error = m
		}
	}
	d.Pager = ui.NewPager(r, "cursor", next)
	if d.Orders, next, err = c.cfg.Ledger.Orders(ctx, ledger.OrderFilter{AffiliateID: id, From: p.From, To: p.To, Limit: 20}); err != nil {
		return err
	}
	pq := p.Query()
	pq.Set("affiliate", i64(id))
	if next != "" {
		d.MoreOrd = Prefix + "/orders?" + pq.Encode()
	}
	if d.Comms, next, err = c.cfg.Ledger.Commissions(ctx, ledger.CommissionFilter{AffiliateID: id, From: p.From, To: p.To, Limit: 20}); err != nil {
		return err
	}
	if next != "" {
		d.MoreCom = Prefix + "/commissions?" + pq.Encode()
	}
	d.ClicksCSV = Prefix + "/affiliates/" + i64(id) + "/clicks.csv?" + p.Query().Encode()
	d.OrdersCSV = Prefix + "/orders.csv?" + pq.Encode()
	d.CommsCSV = Prefix + "/commissions.csv?" + pq.Encode()
	v.Data = d
	return c.renderStatus(w, r, status, "affiliate", v)
}

func (c *Console) saveAffiliate(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := c.cfg.Programs.Affiliate(r.Context(), id)
	if err != nil {
		return err
	}
	f, err := readAffiliate(r, a)
	if err == nil {
		err = c.cfg.Programs.UpdateAffiliate(r.Context(), a)
	}
	if err != nil {
		st, msg, field, fatal := formError(err)
		if fatal != nil {
			return fatal
		}
		f.Field = fieldOf(field)
		return c.affiliatePage(w, r, id, st, msg, f)
	}
	return redirect(w, r, Prefix+"/affiliates/"+i64(id)+"#edit", "affiliate-saved")
}

// clicksCSV writes an affiliate's click log over the period, every page.
func (c *Console) clicksCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := c.cfg.Programs.Affiliate(ctx, id)
	if err != nil {
		return err
	}
	loc, err := c.location(r)
	if err != nil {
		return err
	}
	p, err := parsePeriod(r.URL.Query(), c.now(), loc, "30")
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "clicks-"+a.Code+"-"+p.FromDay+"-"+p.ToDay+".csv")
	if err := out.Row("id", "at", "referral_id", "referrer", "landing_url", "device", "user_agent", "ip", "bot", "unique"); err != nil {
		return err
	}
	cursor := ""
	for {
		list, next, err := c.cfg.Stats.Clicks(ctx, tracking.ClickQuery{AffiliateID: id, From: p.From, To: p.To, Cursor: cursor, Limit: 1000})
		if err != nil {
			return err
		}
		for _, k := range list {
			if err := out.Row(i64(k.ID), k.At.Format(time.RFC3339Nano), k.ReferralID, k.Referrer, k.LandingURL, k.Device,
				k.UserAgent, k.IP, strconv.FormatBool(k.IsBot), strconv.FormatBool(k.IsUnique)); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out.Flush()
}
