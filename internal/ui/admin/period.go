package admin

import (
	"net/http"
	"net/url"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/ui"
)

// period is the range a report covers, in the owner's time zone: today,
// the last 7, 30 or 90 days (today included), or custom dates; and the
// interval of its series.
type period struct {
	Key      string    // today, 7, 30, 90, custom
	From, To time.Time // [From, To): local midnights in Loc
	// FromDay and ToDay are the first and the last day (YYYY-MM-DD), for
	// the date inputs.
	FromDay, ToDay string
	Interval       string // hour, day or month
	Loc            *time.Location
}

// TZ is the name of the period's time zone.
func (p period) TZ() string { return p.Loc.String() }

// Query returns the parameters that select p, for links and CSV downloads.
func (p period) Query() url.Values {
	q := url.Values{"range": {p.Key}, "interval": {p.Interval}, "tz": {p.TZ()}}
	if p.Key == "custom" {
		q.Set("from", p.FromDay)
		q.Set("to", p.ToDay)
	}
	return q
}

// periodKeys are the choices of the range picker.
var periodKeys = []struct{ Key, Label string }{
	{"today", "Today"}, {"7", "Last 7 days"}, {"30", "Last 30 days"}, {"90", "Last 90 days"}, {"custom", "Custom dates"},
}

// maxPeriodDays bounds a custom range; maxHourDays bounds hourly series,
// which past a month have more bars than a chart can show.
const (
	maxPeriodDays = 732
	maxHourDays   = 31
)

// parsePeriod reads range, from, to and interval from q. Days are those of
// loc; the default is def ("30") ending today.
func parsePeriod(q url.Values, now time.Time, loc *time.Location, def string) (period, error) {
	l := now.In(loc)
	today := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	day := func(t time.Time, n int) time.Time { return time.Date(t.Year(), t.Month(), t.Day()+n, 0, 0, 0, 0, loc) }
	key := q.Get("range")
	if key == "" {
		key = def
		if q.Get("from") != "" {
			key = "custom"
		}
	}
	p := period{Key: key, Loc: loc}
	switch key {
	case "today":
		p.From, p.To = today, day(today, 1)
	case "7", "30", "90":
		n := map[string]int{"7": 7, "30": 30, "90": 90}[key]
		p.From, p.To = day(today, -(n-1)), day(today, 1)
	case "custom":
		from, err := time.ParseInLocation("2006-01-02", q.Get("from"), loc)
		if err != nil {
			return period{}, apperr.Invalid("from", "choose a start date")
		}
		to := today
		if q.Get("to") != "" {
			if to, err = time.ParseInLocation("2006-01-02", q.Get("to"), loc); err != nil {
				return period{}, apperr.Invalid("to", "choose an end date")
			}
		}
		if to.Before(from) {
			return period{}, apperr.Invalid("to", "the end date is before the start date")
		}
		if day(from, maxPeriodDays).Before(day(to, 1)) {
			return period{}, apperr.Invalid("from", "choose at most %d days", maxPeriodDays)
		}
		p.From, p.To = from, day(to, 1)
	default:
		return period{}, apperr.Invalid("range", "choose today, 7, 30 or 90 days, or custom dates")
	}
	p.FromDay, p.ToDay = p.From.Format("2006-01-02"), day(p.To, -1).Format("2006-01-02")
	days := 0
	for t := p.From; t.Before(p.To); t = day(t, 1) {
		days++
	}
	switch p.Interval = q.Get("interval"); p.Interval {
	case "":
		switch {
		case days <= 2:
			p.Interval = "hour"
		case days <= 120:
			p.Interval = "day"
		default:
			p.Interval = "month"
		}
	case "hour":
		if days > maxHourDays {
			return period{}, apperr.Invalid("interval", "hours are for ranges up to %d days: choose days or months", maxHourDays)
		}
	case "day", "month":
	default:
		return period{}, apperr.Invalid("interval", "choose hours, days or months")
	}
	return p, nil
}

// tzCookie keeps the owner's chosen time zone in this browser.
const tzCookie = "aff_admin_tz"

// location returns the time zone of the request: the tz parameter, else
// the one saved in the settings (a cookie), else the console's default.
// An unknown name is an error naming the field.
func (c *Console) location(r *http.Request) (*time.Location, error) {
	name := r.URL.Query().Get("tz")
	if name == "" {
		if ck, err := r.Cookie(tzCookie); err == nil {
			name, _ = url.QueryUnescape(ck.Value)
		}
	}
	if name == "" {
		return c.loc, nil
	}
	loc, err := loadZone(name)
	if err != nil {
		return c.loc, err
	}
	return loc, nil
}

// loadZone loads an IANA zone by name, refusing names that are not one.
func loadZone(name string) (*time.Location, error) {
	if name == "" || len(name) > 64 || name == "Local" {
		return nil, apperr.Invalid("tz", "choose a time zone like Europe/Rome or UTC")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, apperr.Invalid("tz", "%q is not a time zone; use a name like Europe/Rome or UTC", name)
	}
	return loc, nil
}

// requestPeriod is parsePeriod for the request, in the owner's zone. An
// invalid choice is reported in msg and the default period is used, so the
// page still shows something.
func (c *Console) requestPeriod(r *http.Request, def string) (p period, msg string) {
	loc, err := c.location(r)
	if err != nil {
		msg = ui.Message(err)
	}
	p, err = parsePeriod(r.URL.Query(), c.now(), loc, def)
	if err != nil {
		msg = ui.Message(err)
		p, _ = parsePeriod(url.Values{}, c.now(), loc, def)
	}
	return p, msg
}

// zones are offered in the time zone pickers; any IANA name is accepted.
var zones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Rome",
	"Europe/Madrid", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens", "Europe/Istanbul",
	"Africa/Lagos", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai",
	"Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo", "America/Buenos_Aires",
	"America/New_York", "America/Toronto", "America/Chicago", "America/Denver", "America/Phoenix",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
}
