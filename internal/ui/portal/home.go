package portal

import (
	"context"
	"net/http"
	"sort"
	"time"

	"affiliated/internal/ledger"
	"affiliated/internal/money"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
	"affiliated/internal/ui"
)

// link is a referral link of one program.
type link struct {
	ID      string // for the input and its copy button
	Program string
	URL     string
	Example string // a deep link to a page of the site
}

// performance is the stats block of the home and clicks pages.
type performance struct {
	Range       ui.Range
	Clicks      int64
	Uniques     int64
	Conversions int64
	Rate        string // conversions per unique visitor
	Commission  []moneyTotal
	Charts      []ui.Chart
	Days        []dayRow // newest first
}

type moneyTotal struct {
	Currency   string
	Commission int64
	Net        int64
}

type dayRow struct {
	Day                                time.Time
	Clicks, Uniques, Bots, Conversions int64
	Link                               string // the day's click log
}

type homeData struct {
	Me       *program.Affiliate
	Program  *program.Program
	Balances []ledger.Balance
	Links    []link
	Perf     *performance
}

func (p *Portal) home(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	ctx := r.Context()
	v := &ui.View{Title: "Overview", Active: "home"}
	rng, err := ui.ParseRange(r.URL.Query(), p.now(), "30")
	if err != nil {
		v.Error = ui.Message(err)
		rng, _ = ui.ParseRange(nil, p.now(), "30")
	}
	prog, err := p.cfg.Programs.Program(ctx, me.ProgramID)
	if err != nil {
		return err
	}
	bal, err := p.cfg.Ledger.Balances(ctx, me.ID)
	if err != nil {
		return err
	}
	perf, err := p.performance(ctx, me, rng)
	if err != nil {
		return err
	}
	ref := p.cfg.Programs.ReferralURL(me)
	d := &homeData{Me: me, Program: prog, Balances: bal, Perf: perf,
		Links: []link{{ID: "link-" + prog.Slug, Program: prog.Name, URL: ref, Example: ref + "/pricing"}}}
	return p.render(w, r, "home", &ui.View{Title: v.Title, Active: v.Active, Error: v.Error, Data: d})
}

// performance reads clicks from the rollups and sales from the ledger for
// rng, per day, and draws the charts.
func (p *Portal) performance(ctx context.Context, me *program.Affiliate, rng ui.Range) (*performance, error) {
	s, err := p.cfg.Stats.Series(ctx, tracking.SeriesQuery{AffiliateID: me.ID, From: rng.From, To: rng.To, Interval: "day", Loc: time.UTC})
	if err != nil {
		return nil, err
	}
	if err := p.cfg.Ledger.AddSales(ctx, s, me.ID, time.UTC); err != nil {
		return nil, err
	}
	perf := &performance{Range: rng, Clicks: s.Totals.Clicks, Uniques: s.Totals.Uniques, Conversions: s.Totals.Conversions}
	perf.Rate = ui.Percent(s.Totals.Conversions, s.Totals.Uniques)
	for cur, a := range s.Totals.Money {
		perf.Commission = append(perf.Commission, moneyTotal{Currency: cur, Commission: a.Commission, Net: a.Net})
	}
	sort.Slice(perf.Commission, func(i, j int) bool { return perf.Commission[i].Currency < perf.Commission[j].Currency })

	labels := make([]string, len(s.Points))
	clicks := ui.Series{Name: "Clicks", Class: "s1", Values: make([]int64, len(s.Points))}
	uniques := ui.Series{Name: "Unique visitors", Class: "s2", Values: make([]int64, len(s.Points))}
	conv := ui.Series{Name: "Conversions", Class: "s3", Values: make([]int64, len(s.Points))}
	for i, pt := range s.Points {
		labels[i] = pt.Start.Format("2 Jan")
		clicks.Values[i], uniques.Values[i], conv.Values[i] = pt.Clicks, pt.Uniques, pt.Conversions
		perf.Days = append(perf.Days, dayRow{Day: pt.Start, Clicks: pt.Clicks, Uniques: pt.Uniques, Bots: pt.Bots, Conversions: pt.Conversions})
	}
	sort.Slice(perf.Days, func(i, j int) bool { return perf.Days[i].Day.After(perf.Days[j].Day) })
	perf.Charts = append(perf.Charts,
		ui.Chart{ID: "chart-clicks", Title: "Clicks and unique visitors per day", Labels: labels, Bars: &clicks, Lines: []ui.Series{uniques}},
		ui.Chart{ID: "chart-conversions", Title: "Conversions per day", Labels: labels, Bars: &conv, Height: 160})
	for _, m := range perf.Commission {
		cur := m.Currency
		series := ui.Series{Name: "Commission", Class: "s4", Values: make([]int64, len(s.Points))}
		for i, pt := range s.Points {
			if a := pt.Money[cur]; a != nil {
				series.Values[i] = a.Commission
			}
		}
		perf.Charts = append(perf.Charts, ui.Chart{ID: "chart-commission-" + cur, Title: "Commission per day (" + cur + ")",
			Labels: labels, Bars: &series, Height: 160,
			Format: func(v int64) string { return money.Format(money.Money{Amount: v, Currency: cur}) }})
	}
	return perf, nil
}
