package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"affiliated/internal/program"
	"affiliated/internal/tracking"
	"affiliated/internal/ui"
)

// clickRow is a click as the affiliate sees it: no address, no user agent.
type clickRow struct {
	At       time.Time
	Landing  string
	Referrer string
	Device   string
}

type clicksData struct {
	Perf  *performance
	Day   time.Time // the day whose clicks are listed; zero when none
	Rows  []clickRow
	Pager ui.Pager
}

func (p *Portal) clicks(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	ctx := r.Context()
	v := &ui.View{Title: "Clicks", Active: "clicks"}
	rng, err := ui.ParseRange(r.URL.Query(), p.now(), "7")
	if err != nil {
		v.Error = ui.Message(err)
		rng, _ = ui.ParseRange(nil, p.now(), "7")
	}
	perf, err := p.performance(ctx, me, rng)
	if err != nil {
		return err
	}
	d := &clicksData{Perf: perf}
	v.Data = d
	for i := range perf.Days {
		q := url.Values{"range": {rng.Key}, "day": {perf.Days[i].Day.Format("2006-01-02")}}
		if rng.Key == "custom" {
			q.Set("from", rng.FromDay)
			q.Set("to", rng.ToDay)
		}
		perf.Days[i].Link = Prefix + "/clicks?" + q.Encode() + "#log"
	}
	// The log shows one day: the one asked for, else the latest day of
	// the range with clicks. The click log reads forward in time, so a
	// day is the unit that keeps "recent" both cheap and exact.
	if day, err := time.Parse("2006-01-02", r.URL.Query().Get("day")); err == nil {
		d.Day = day
	} else {
		for _, dr := range perf.Days {
			if dr.Clicks+dr.Bots > 0 {
				d.Day = dr.Day
				break
			}
		}
	}
	if d.Day.IsZero() {
		return p.render(w, r, "clicks", v)
	}
	list, next, err := p.cfg.Stats.Clicks(ctx, tracking.ClickQuery{
		AffiliateID: me.ID, From: d.Day, To: d.Day.AddDate(0, 0, 1), Cursor: r.URL.Query().Get("cursor"), Limit: pageSize,
	})
	if err != nil {
		v.Error = ui.Message(err)
		return p.surface.Render(w, r, http.StatusBadRequest, "clicks", v)
	}
	for _, c := range list {
		device := c.Device
		if c.IsBot {
			device = string(tracking.DeviceBot)
		}
		d.Rows = append(d.Rows, clickRow{At: c.At, Landing: shortURL(c.LandingURL), Referrer: shortURL(c.Referrer), Device: device})
	}
	d.Pager = ui.NewPager(r, "cursor", next)
	return p.render(w, r, "clicks", v)
}

// shortURL drops the scheme and the query of a URL for display: the
// affiliate needs to see which page, not its tracking parameters.
func shortURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	out := u.Host + u.EscapedPath()
	return strings.TrimSuffix(out, "/")
}
