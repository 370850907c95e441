package admin

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"affiliated/internal/analytics"
	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/ledger"
	"affiliated/internal/money"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// affiliatesPage is how many affiliates a page of the list shows: their
// figures and their balances are read together.
const affiliatesPage = 50

// affiliateFilter is the list's filter, read from the query.
type affiliateFilter struct {
	Query     string
	Status    string
	ProgramID int64
	After     int64
}

func readAffiliateFilter(r *http.Request) (affiliateFilter, error) {
	q := r.URL.Query()
	f := affiliateFilter{Query: strings.TrimSpace(q.Get("q")), Status: q.Get("status")}
	switch f.Status {
	case "", program.StatusPending, program.StatusActive, program.StatusSuspended, program.StatusRejected:
	default:
		return f, apperr.Invalid("status", "choose pending, active, suspended or rejected")
	}
	var err error
	if f.ProgramID, err = queryID(r, "program"); err != nil {
		return f, err
	}
	if f.After, err = queryID(r, "after"); err != nil {
		return f, err
	}
	return f, nil
}

// affiliateRow is one affiliate with its figures over the period and its balances now.
type affiliateRow struct {
	*program.Affiliate
	Program  string
	Stats    analytics.Stats
	Money    []currencyFigures
	Balances []ledger.Balance
}

// affiliateStats are the figures over p of the affiliates ids, from the
// daily rollups (and the hours at the range's edges).
func (c *Console) affiliateStats(ctx context.Context, ids []int64, p period) (map[int64]analytics.Stats, error) {
	// Days, whatever the page's interval: only the totals are used, and a
	// month interval would widen the range to whole months.
	return c.cfg.Analytics.AffiliateTotals(ctx, analytics.Query{From: p.From, To: p.To, Interval: "day", Loc: p.Loc}, ids)
}

// affiliateRows reads one page of the list with each affiliate's figures.
func (c *Console) affiliateRows(ctx context.Context, f affiliateFilter, p period, limit int) ([]affiliateRow, string, error) {
	list, err := c.cfg.Programs.Affiliates(ctx, program.AffiliateFilter{ProgramID: f.ProgramID, Status: f.Status,
		Query: f.Query, After: f.After, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	progs, err := c.programNames(ctx)
	if err != nil {
		return nil, "", err
	}
	ids := make([]int64, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	stats, err := c.affiliateStats(ctx, ids, p)
	if err != nil {
		return nil, "", err
	}
	balances, err := c.cfg.Ledger.BalancesOf(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	rows := make([]affiliateRow, len(list))
	for i, a := range list {
		rows[i] = affiliateRow{Affiliate: a, Program: progs[a.ProgramID], Stats: stats[a.ID], Balances: balances[a.ID]}
		rows[i].Money = figures(rows[i].Stats.Money)
	}
	next := ""
	if len(list) == limit {
		next = i64(list[len(list)-1].ID)
	}
	return rows, next, nil
}

func (c *Console) programNames(ctx context.Context) (map[int64]string, error) {
	progs, err := c.cfg.Programs.Programs(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(progs))
	for _, p := range progs {
		out[p.ID] = p.Name
	}
	return out, nil
}

type affiliatesData struct {
	Filter   affiliateFilter
	Period   period
	Periods  any
	Zones    []string
	Programs []*program.Program
	Rows     []affiliateRow
	Pager    ui.Pager
	Tabs     []tab
	CSV      string
	Extra    map[string]string
}

func (c *Console) affiliates(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	v := &ui.View{Title: "Affiliates", Active: "affiliates", Flash: flash(r)}
	p, msg := c.requestPeriod(r, "30")
	v.Error = msg
	f, err := readAffiliateFilter(r)
	if err != nil {
		v.Error = ui.Message(err)
		f = affiliateFilter{}
	}
	d := &affiliatesData{Filter: f, Period: p, Periods: periodKeys, Zones: zones}
	if d.Programs, err = c.cfg.Programs.Programs(ctx); err != nil {
		return err
	}
	var next string
	if d.Rows, next, err = c.affiliateRows(ctx, f, p, affiliatesPage); err != nil {
		return err
	}
	d.Pager = ui.NewPager(r, "after", next)
	pending, err := c.cfg.Programs.Affiliates(ctx, program.AffiliateFilter{Status: program.StatusPending, ProgramID: f.ProgramID, Limit: 1000})
	if err != nil {
		return err
	}
	base := url.Values{}
	if f.ProgramID != 0 {
		base.Set("program", i64(f.ProgramID))
	}
	for _, t := range []struct{ label, status string }{{"All", ""}, {"Applications", program.StatusPending},
		{"Active", program.StatusActive}, {"Suspended", program.StatusSuspended}, {"Rejected", program.StatusRejected}} {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		if t.status != "" {
			q.Set("status", t.status)
		}
		href := Prefix + "/affiliates"
		if e := q.Encode(); e != "" {
			href += "?" + e
		}
		tb := tab{Label: t.label, Href: href, Current: f.Status == t.status}
		if t.status == program.StatusPending {
			tb.Count = len(pending)
		}
		d.Tabs = append(d.Tabs, tb)
	}
	q := r.URL.Query()
	q.Del("after")
	d.CSV = Prefix + "/affiliates.csv?" + q.Encode()
	d.Extra = map[string]string{}
	for k, name := range map[string]string{"q": "q", "status": "status", "program": "program"} {
		if val := q.Get(k); val != "" {
			d.Extra[name] = val
		}
	}
	v.Data = d
	return c.render(w, r, "affiliates", v)
}

// affiliatesCSV writes every affiliate the filter selects (all pages),
// with the period's figures and the balances.
func (c *Console) affiliatesCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	loc, err := c.location(r)
	if err != nil {
		return err
	}
	p, err := parsePeriod(r.URL.Query(), c.now(), loc, "30")
	if err != nil {
		return err
	}
	f, err := readAffiliateFilter(r)
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "affiliates-"+p.FromDay+"-"+p.ToDay+".csv")
	if err := out.Row("id", "program", "name", "email", "code", "coupon_code", "status", "commission_rate_bps", "payout_email",
		"clicks", "unique_visitors", "conversions", "currency", "net_revenue", "commission", "pending", "payable", "held",
		"in_payout", "paid", "created_at"); err != nil {
		return err
	}
	for {
		rows, next, err := c.affiliateRows(ctx, f, p, 500)
		if err != nil {
			return err
		}
		for _, a := range rows {
			curs := map[string]bool{}
			for _, m := range a.Money {
				curs[m.Currency] = true
			}
			for _, b := range a.Balances {
				curs[b.Currency] = true
			}
			list := make([]string, 0, len(curs))
			for cur := range curs {
				list = append(list, cur)
			}
			sort.Strings(list)
			if len(list) == 0 {
				list = []string{""}
			}
			for _, cur := range list {
				var net, com string
				if m := a.Stats.Money[cur]; m != nil {
					net, com = money.FormatMajor(m.Net, cur), money.FormatMajor(m.Commission, cur)
				}
				var bal [5]string
				for _, b := range a.Balances {
					if b.Currency == cur {
						for i, v := range []int64{b.Pending, b.Payable, b.Held, b.InPayout, b.Paid} {
							bal[i] = money.FormatMajor(v, cur)
						}
					}
				}
				rate := ""
				if a.CommissionRateBps != nil {
					rate = strconv.Itoa(*a.CommissionRateBps)
				}
				if err := out.Row(i64(a.ID), a.Program, a.Name, a.Email, a.Code, a.CouponCode, a.Status, rate, a.PayoutEmail,
					i64(a.Stats.Clicks), i64(a.Stats.Uniques), i64(a.Stats.Conversions), cur, net, com,
					bal[0], bal[1], bal[2], bal[3], bal[4], a.CreatedAt.Format("2006-01-02T15:04:05Z")); err != nil {
					return err
				}
			}
		}
		if next == "" {
			break
		}
		f.After, _ = strconv.ParseInt(next, 10, 64)
	}
	return out.Flush()
}

// decideAffiliate approves, rejects, suspends or reactivates an affiliate.
func (c *Console) decideAffiliate(action string) func(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if _, err := c.decide(r.Context(), id, action); err != nil {
			if st, msg, _, fatal := formError(err); fatal != nil {
				return fatal
			} else {
				return c.affiliatePage(w, r, id, st, msg)
			}
		}
		done := map[string]string{"approve": "approved", "reject": "rejected", "suspend": "suspended", "reactivate": "reactivated"}[action]
		return redirect(w, r, safeBack(r.PostForm.Get("back"), Prefix+"/affiliates/"+i64(id)), done)
	}
}

// decide changes an affiliate's status. Approving and rejecting a signup
// go through the approval functions the API uses (Config.Approve and
// Reject), so a decision means the same wherever it is made; suspending
// and reactivating are the console's own.
func (c *Console) decide(ctx context.Context, id int64, action string) (*program.Affiliate, error) {
	switch action {
	case "approve":
		return c.cfg.Approve(ctx, id)
	case "reject":
		return c.cfg.Reject(ctx, id)
	}
	from, to := program.StatusActive, program.StatusSuspended
	if action == "reactivate" {
		from, to = program.StatusSuspended, program.StatusActive
	}
	var out *program.Affiliate
	err := c.cfg.DB.TX(ctx, func(ctx context.Context) error {
		a, err := c.cfg.Programs.Affiliate(ctx, id)
		if err != nil {
			return err
		}
		if a.Status != from {
			return apperr.Conflict("affiliate_"+a.Status, "status", "the affiliate is %s; it cannot be %s", a.Status, pastTense[action])
		}
		a.Status = to
		if err := c.cfg.Programs.UpdateAffiliate(ctx, a); err != nil {
			return err
		}
		out = a
		return c.cfg.Audit.Record(ctx, "affiliate."+action, "affiliate", id, map[string]string{"from": from, "to": to})
	})
	if err != nil {
		return nil, err
	}
	if c.cfg.Programs.Changed != nil {
		c.cfg.Programs.Changed() // after the commit: the link cache must not keep the old status
	}
	return out, nil
}

var pastTense = map[string]string{"approve": "approved", "reject": "rejected", "suspend": "suspended", "reactivate": "reactivated"}
