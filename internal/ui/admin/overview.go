package admin

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/analytics"
	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/money"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// scope is the program and affiliate a report is narrowed to.
type scope struct {
	ProgramID     int64
	AffiliateCode string
	Affiliate     *program.Affiliate
	Programs      []*program.Program
}

// readScope reads ?program=ID&affiliate=CODE. An unknown affiliate code is
// an error for the page to show; the report then covers the program.
func (c *Console) readScope(ctx context.Context, r *http.Request) (scope, error) {
	var s scope
	var err error
	if s.Programs, err = c.cfg.Programs.Programs(ctx); err != nil {
		return s, err
	}
	if s.ProgramID, err = queryID(r, "program"); err != nil {
		return s, err
	}
	s.AffiliateCode = r.URL.Query().Get("affiliate")
	if s.AffiliateCode != "" {
		a, err := c.cfg.Programs.AffiliateByCode(ctx, s.AffiliateCode)
		if apperr.Is(err, apperr.KindNotFound) {
			return s, apperr.Invalid("affiliate", "no affiliate has the code %q", s.AffiliateCode)
		}
		if err != nil {
			return s, err
		}
		s.Affiliate = a
	}
	return s, nil
}

// query is the analytics query of a period and scope.
func (s scope) query(p period) analytics.Query {
	q := analytics.Query{ProgramID: s.ProgramID, From: p.From, To: p.To, Interval: p.Interval, Loc: p.Loc}
	if s.Affiliate != nil {
		q.AffiliateID = s.Affiliate.ID
	}
	return q
}

// link returns the query string of a period and scope, plus extra.
func (s scope) link(p period, extra url.Values) string {
	q := p.Query()
	if s.ProgramID != 0 {
		q.Set("program", strconv.FormatInt(s.ProgramID, 10))
	}
	if s.AffiliateCode != "" {
		q.Set("affiliate", s.AffiliateCode)
	}
	for k, v := range extra {
		q[k] = v
	}
	return q.Encode()
}

// currencyFigures are the money cards of one currency.
type currencyFigures struct {
	Currency                    string
	Gross, Net, Commission      int64
	EPC                         string
	GrossText, NetText, ComText string
}

type overviewData struct {
	Period      period
	Periods     any
	Zones       []string
	Scope       scope
	Totals      analytics.Stats
	Money       []currencyFigures
	Charts      []ui.Chart
	Top         *analytics.TopAffiliates
	TopBy       string
	Referrers   *analytics.DimReport
	Landing     *analytics.DimReport
	Devices     *analytics.DimReport
	Pending     int // signups waiting for a decision
	Query       string
	ByLinks     map[string]string
	CSVOverview string
	CSVTop      map[string]string
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	v := &ui.View{Title: "Overview", Active: "overview", Flash: flash(r)}
	p, msg := c.requestPeriod(r, "30")
	v.Error = msg
	sc, err := c.readScope(ctx, r)
	if err != nil {
		if _, m, _, fatal := formError(err); fatal != nil {
			return fatal
		} else {
			v.Error = m
		}
	}
	d := &overviewData{Period: p, Periods: periodKeys, Zones: zones, Scope: sc}
	q := sc.query(p)
	ov, err := c.cfg.Analytics.Overview(ctx, q)
	if err != nil {
		return err
	}
	d.Totals = ov.Totals
	d.Money = figures(ov.Totals.Money)
	d.Charts = overviewCharts(ov, p)
	d.TopBy = r.URL.Query().Get("by")
	switch d.TopBy {
	case analytics.ByClicks, analytics.ByConversions, analytics.ByRevenue, analytics.ByCommission:
	default:
		d.TopBy = analytics.ByClicks
	}
	if d.Top, err = c.cfg.Analytics.TopAffiliates(ctx, analytics.TopQuery{Query: q, By: d.TopBy, Limit: 10}); err != nil {
		return err
	}
	for _, dim := range []struct {
		name string
		dst  **analytics.DimReport
	}{{analytics.DimReferrerHost, &d.Referrers}, {analytics.DimLandingPath, &d.Landing}, {analytics.DimDevice, &d.Devices}} {
		if *dim.dst, err = c.cfg.Analytics.Breakdown(ctx, q, dim.name, 10); err != nil {
			return err
		}
	}
	pending, err := c.cfg.Programs.Affiliates(ctx, program.AffiliateFilter{Status: program.StatusPending, Limit: 1000})
	if err != nil {
		return err
	}
	d.Pending = len(pending)
	d.Query = sc.link(p, nil)
	d.ByLinks = map[string]string{}
	for _, by := range []string{analytics.ByClicks, analytics.ByConversions, analytics.ByRevenue, analytics.ByCommission} {
		d.ByLinks[by] = Prefix + "/?" + sc.link(p, url.Values{"by": {by}})
	}
	d.CSVOverview = Prefix + "/overview.csv?" + d.Query
	d.CSVTop = map[string]string{}
	for _, rep := range []string{"affiliates", analytics.DimReferrerHost, analytics.DimLandingPath, analytics.DimDevice} {
		d.CSVTop[rep] = Prefix + "/top.csv?" + sc.link(p, url.Values{"report": {rep}, "by": {d.TopBy}})
	}
	v.Data = d
	return c.render(w, r, "overview", v)
}

// figures sorts the money of a period by currency, for the cards.
func figures(m map[string]*analytics.Money) []currencyFigures {
	var out []currencyFigures
	for cur, x := range m {
		f := func(v int64) string { return money.Format(money.Money{Amount: v, Currency: cur}) }
		out = append(out, currencyFigures{Currency: cur, Gross: x.Gross, Net: x.Net, Commission: x.Commission, EPC: x.EPC,
			GrossText: f(x.Gross), NetText: f(x.Net), ComText: f(x.Commission)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// pointLabel names a point of a series for the chart's axis.
func pointLabel(t time.Time, p period) string {
	switch p.Interval {
	case "hour":
		if p.To.Sub(p.From) > 48*time.Hour || p.Key != "today" {
			return t.Format("2 Jan 15h")
		}
		return t.Format("15:04")
	case "month":
		return t.Format("Jan 2006")
	}
	return t.Format("2 Jan")
}

var intervalWords = map[string]string{"hour": "hour", "day": "day", "month": "month"}

// overviewCharts draws clicks and visitors, conversions, and per currency
// revenue with commission.
func overviewCharts(ov *analytics.Overview, p period) []ui.Chart {
	n := len(ov.Points)
	labels := make([]string, n)
	clicks := ui.Series{Name: "Clicks", Class: "s1", Values: make([]int64, n)}
	uniques := ui.Series{Name: "Unique visitors", Class: "s2", Values: make([]int64, n)}
	conv := ui.Series{Name: "Conversions", Class: "s3", Values: make([]int64, n)}
	for i, pt := range ov.Points {
		labels[i] = pointLabel(pt.Start, p)
		clicks.Values[i], uniques.Values[i], conv.Values[i] = pt.Clicks, pt.Uniques, pt.Conversions
	}
	per := intervalWords[p.Interval]
	charts := []ui.Chart{
		{ID: "chart-clicks", Title: "Clicks and unique visitors per " + per, Labels: labels, Bars: &clicks, Lines: []ui.Series{uniques}},
		{ID: "chart-conversions", Title: "Conversions per " + per, Labels: labels, Bars: &conv},
	}
	for _, f := range figures(ov.Totals.Money) {
		cur := f.Currency
		net := ui.Series{Name: "Net revenue", Class: "s1", Values: make([]int64, n)}
		com := ui.Series{Name: "Commission", Class: "s4", Values: make([]int64, n)}
		for i, pt := range ov.Points {
			if m := pt.Money[cur]; m != nil {
				net.Values[i], com.Values[i] = m.Net, m.Commission
			}
		}
		charts = append(charts, ui.Chart{ID: "chart-revenue-" + cur, Title: "Net revenue and commission per " + per + " (" + cur + ")",
			Labels: labels, Bars: &net, Lines: []ui.Series{com},
			Format: func(v int64) string { return shortMoney(v, cur) }})
	}
	return charts
}

// overviewCSV writes the series of the overview, one row per interval.
func (c *Console) overviewCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	loc, err := c.location(r)
	if err != nil {
		return err
	}
	p, err := parsePeriod(r.URL.Query(), c.now(), loc, "30")
	if err != nil {
		return err
	}
	sc, err := c.readScope(ctx, r)
	if err != nil {
		return err
	}
	ov, err := c.cfg.Analytics.Overview(ctx, sc.query(p))
	if err != nil {
		return err
	}
	curs := make([]string, 0, len(ov.Totals.Money))
	for _, f := range figures(ov.Totals.Money) {
		curs = append(curs, f.Currency)
	}
	head := []string{"start", "clicks", "unique_visitors", "bot_clicks", "conversions", "renewals", "conversion_rate"}
	for _, cur := range curs {
		head = append(head, "gross_"+cur, "net_"+cur, "commission_"+cur, "epc_"+cur)
	}
	out := ui.NewCSV(w, "overview-"+p.FromDay+"-"+p.ToDay+".csv")
	if err := out.Row(head...); err != nil {
		return err
	}
	row := func(label string, s analytics.Stats) error {
		cells := []string{label, i64(s.Clicks), i64(s.Uniques), i64(s.Bots), i64(s.Conversions), i64(s.Renewals),
			strconv.FormatFloat(s.ConversionRate, 'f', 4, 64)}
		for _, cur := range curs {
			m := s.Money[cur]
			if m == nil {
				m = &analytics.Money{EPC: "0.0000"}
			}
			cells = append(cells, money.FormatMajor(m.Gross, cur), money.FormatMajor(m.Net, cur), money.FormatMajor(m.Commission, cur), m.EPC)
		}
		return out.Row(cells...)
	}
	for _, pt := range ov.Points {
		if err := row(pt.Start.Format(time.RFC3339), pt.Stats); err != nil {
			return err
		}
	}
	if err := row("total", ov.Totals); err != nil {
		return err
	}
	return out.Flush()
}

// topCSV writes one of the overview's rankings: report=affiliates,
// referrer_host, landing_path or device, up to analytics.MaxLimit rows.
func (c *Console) topCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	loc, err := c.location(r)
	if err != nil {
		return err
	}
	p, err := parsePeriod(r.URL.Query(), c.now(), loc, "30")
	if err != nil {
		return err
	}
	sc, err := c.readScope(ctx, r)
	if err != nil {
		return err
	}
	q := sc.query(p)
	report := r.URL.Query().Get("report")
	name := "top-" + report + "-" + p.FromDay + "-" + p.ToDay + ".csv"
	if report == "affiliates" {
		top, err := c.cfg.Analytics.TopAffiliates(ctx, analytics.TopQuery{Query: q, By: r.URL.Query().Get("by"), Limit: analytics.MaxLimit})
		if err != nil {
			return err
		}
		curs := map[string]bool{}
		for _, a := range top.Data {
			for cur := range a.Money {
				curs[cur] = true
			}
		}
		var cs []string
		for cur := range curs {
			cs = append(cs, cur)
		}
		sort.Strings(cs)
		out := ui.NewCSV(w, name)
		head := []string{"affiliate_id", "name", "email", "code", "status", "clicks", "unique_visitors", "conversions", "renewals", "conversion_rate"}
		for _, cur := range cs {
			head = append(head, "gross_"+cur, "net_"+cur, "commission_"+cur, "epc_"+cur)
		}
		if err := out.Row(head...); err != nil {
			return err
		}
		for _, a := range top.Data {
			cells := []string{i64(a.AffiliateID), a.Name, a.Email, a.Code, a.Status, i64(a.Clicks), i64(a.Uniques),
				i64(a.Conversions), i64(a.Renewals), strconv.FormatFloat(a.ConversionRate, 'f', 4, 64)}
			for _, cur := range cs {
				m := a.Money[cur]
				if m == nil {
					m = &analytics.Money{EPC: "0.0000"}
				}
				cells = append(cells, money.FormatMajor(m.Gross, cur), money.FormatMajor(m.Net, cur), money.FormatMajor(m.Commission, cur), m.EPC)
			}
			if err := out.Row(cells...); err != nil {
				return err
			}
		}
		return out.Flush()
	}
	rep, err := c.cfg.Analytics.Breakdown(ctx, q, report, analytics.MaxLimit)
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, name)
	if err := out.Row(report, "clicks", "share"); err != nil {
		return err
	}
	for _, d := range rep.Data {
		if err := out.Row(d.Value, i64(d.Clicks), strconv.FormatFloat(d.Share, 'f', 4, 64)); err != nil {
			return err
		}
	}
	if rep.Other > 0 {
		if err := out.Row("(other)", i64(rep.Other), ""); err != nil {
			return err
		}
	}
	return out.Flush()
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// shortMoney formats an amount without a zero fraction ("€1,000" for
// 1000.00), so that axis labels fit; other amounts keep their cents.
func shortMoney(v int64, currency string) string {
	s := money.Format(money.Money{Amount: v, Currency: currency})
	if i := strings.LastIndexByte(s, '.'); i >= 0 && strings.Trim(s[i+1:], "0") == "" && money.Exponent(currency) > 0 {
		// The fraction is the last digits, possibly followed by a symbol.
		frac := s[i+1:]
		if len(frac) == money.Exponent(currency) {
			return s[:i]
		}
	}
	return s
}
