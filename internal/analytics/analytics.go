// Package analytics answers the owner's reports: clicks, unique visitors,
// conversions, revenue, commissions and earnings per click over a range,
// as totals and series, and the top affiliates, referrers, landing pages
// and device classes. It only reads, and only rollups and indexes: the
// click rollups kept by the click writer (hourly per affiliate and per
// program, daily per affiliate, daily dimensions per affiliate and, by
// trigger, per program), and the sale rollups kept by triggers on the
// ledger's orders and commissions (hourly per program and per affiliate,
// daily per program and per affiliate, weekly per affiliate). Never the
// raw click log nor the orders.
//
// Time zones. Sums are taken per UTC hour, or per local day of the owner's
// zone (the UTC hour shifted by the zone's offset, one query per stretch
// of constant offset; whole UTC days from the daily rollups, corrected by
// the hours that belong to a neighbouring local day: see part), in SQL and
// then put into hours, days or months of the owner's zone in Go. For
// every zone whose offset from UTC is a whole number of hours
// (America/New_York, Europe/Rome, …) that is exact, including across daylight-saving changes: each UTC hour
// lies inside one local day. In the few zones with a half- or
// quarter-hour offset (Asia/Kolkata, Asia/Kathmandu, Australia/Adelaide)
// an hour is counted in the local day in which it starts, so a day's
// edges are off by up to 45 minutes.
//
// The referrer, landing page and device reports come from daily rollups
// by UTC day: their range is widened to whole UTC days, and the report
// says which days it covers.
package analytics

import (
	"context"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/money"
)

// Service runs the reports.
type Service struct {
	DB *db.DB
	// Sync, when set, waits until the clicks logged before the call are
	// in the database (tracking.ClickJournal.Sync).
	Sync func(ctx context.Context) error
}

// Intervals of a series.
const (
	Hour  = "hour"
	Day   = "day"
	Month = "month"
)

// MaxPoints bounds a series: a longer range needs a longer interval.
const MaxPoints = 10000

// Query selects what a report covers. ProgramID and AffiliateID are
// optional filters (0: all); the range is [From, To).
type Query struct {
	ProgramID   int64
	AffiliateID int64
	From, To    time.Time
	Interval    string         // hour, day (default) or month; series only
	Loc         *time.Location // the owner's zone; UTC when nil

	// The UTC hours [start, end) that the range's sums are taken over: its
	// aligned ends rounded up to whole hours (the same instants, except in
	// zones with a half-hour offset).
	start, end time.Time
}

// normalize checks q and aligns its range to whole intervals in q.Loc, so
// every point of a series covers whole hours and whole intervals. A series
// may have at most MaxPoints points.
func (q *Query) normalize() error {
	if err := q.align(); err != nil {
		return err
	}
	n := 0
	for t := q.From.In(q.Loc); t.Before(q.To); t = next(t, q.Interval, q.Loc) {
		if n++; n > MaxPoints {
			return apperr.Invalid("interval", "too many points: choose a longer interval or a shorter range")
		}
	}
	return nil
}

// align checks q and aligns its range, for reports without a series.
func (q *Query) align() error {
	if q.Loc == nil {
		q.Loc = time.UTC
	}
	switch q.Interval {
	case "":
		q.Interval = Day
	case Hour, Day, Month:
	default:
		return apperr.Invalid("interval", "must be hour, day or month")
	}
	if q.From.IsZero() || q.To.IsZero() {
		return apperr.Invalid("from", "from and to are both required")
	}
	if !q.To.After(q.From) {
		return apperr.Invalid("to", "must be after from")
	}
	q.From = bucket(q.From, q.Interval, q.Loc)
	if b := bucket(q.To, q.Interval, q.Loc); !b.Equal(q.To) {
		q.To = next(b, q.Interval, q.Loc)
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	q.start, q.end = ceilHour(q.From), ceilHour(q.To)
	return nil
}

func ceilHour(t time.Time) time.Time {
	if h := t.Truncate(time.Hour); !h.Equal(t) {
		return h.Add(time.Hour)
	}
	return t
}

// bucket returns the start of the interval (hour, day or month in loc)
// that holds t. Hours are UTC hours: whole-hour zones share them.
func bucket(t time.Time, interval string, loc *time.Location) time.Time {
	l := t.In(loc)
	switch interval {
	case Hour:
		return t.Truncate(time.Hour).In(loc)
	case Month:
		return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	}
}

// next returns the start of the interval after the one starting at t.
// time.Date normalizes a local midnight that a DST change skips.
func next(t time.Time, interval string, loc *time.Location) time.Time {
	l := t.In(loc)
	switch interval {
	case Hour:
		return t.Add(time.Hour).In(loc)
	case Month:
		return time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
	}
}

// Money is revenue and commission in one currency, in minor units.
type Money struct {
	// Gross is what buyers paid (tax included), minus refunds and chargebacks.
	Gross int64 `json:"gross"`
	// Net is the merchant's revenue, minus what refunds took back.
	Net int64 `json:"net"`
	// Commission is what the affiliates earn on these orders as it stands
	// now (after refunds; 0 for a rejected one).
	Commission int64 `json:"commission"`
	// EPC is earnings per click: Commission divided by human clicks, in
	// major units as a decimal string rounded half up to 4 places ("0.3712").
	EPC string `json:"epc"`

	// orders counts the orders summed, so that finish can drop a currency
	// that a series' corrections (see part) added and took off again.
	orders int64
}

// Stats are the figures of a period.
type Stats struct {
	Clicks  int64 `json:"clicks"`          // human clicks
	Uniques int64 `json:"unique_visitors"` // human first clicks of a referral id
	Bots    int64 `json:"bot_clicks"`
	// Conversions are attributed first payments (kind sale); renewals of
	// subscriptions are counted apart, though their money is included.
	Conversions int64 `json:"conversions"`
	Renewals    int64 `json:"renewals"`
	// ConversionRate is Conversions / Clicks, rounded to 4 places (0 without clicks).
	ConversionRate float64           `json:"conversion_rate"`
	Money          map[string]*Money `json:"money"` // by ISO currency
}

func (s *Stats) money(currency string) *Money {
	if s.Money == nil {
		s.Money = map[string]*Money{}
	}
	m := s.Money[currency]
	if m == nil {
		m = &Money{}
		s.Money[currency] = m
	}
	return m
}

func (s *Stats) add(o *Stats) {
	s.Clicks += o.Clicks
	s.Uniques += o.Uniques
	s.Bots += o.Bots
	s.Conversions += o.Conversions
	s.Renewals += o.Renewals
	for cur, m := range o.Money {
		t := s.money(cur)
		t.Gross += m.Gross
		t.Net += m.Net
		t.Commission += m.Commission
		t.orders += m.orders
	}
}

// hasMoney reports a currency with any sum left.
func (s *Stats) hasMoney() bool {
	for _, m := range s.Money {
		if !m.empty() {
			return true
		}
	}
	return false
}

// empty reports sums that corrections (see part) took back to nothing.
func (m *Money) empty() bool {
	return m.orders == 0 && m.Gross == 0 && m.Net == 0 && m.Commission == 0
}

// finish computes the derived figures (rate, EPC) from the sums.
func (s *Stats) finish() {
	if s.Money == nil {
		s.Money = map[string]*Money{}
	}
	s.ConversionRate = 0
	if s.Clicks > 0 {
		s.ConversionRate = math.Round(float64(s.Conversions)/float64(s.Clicks)*10000) / 10000
	}
	for cur, m := range s.Money {
		if m.empty() {
			delete(s.Money, cur) // no order of this currency is left here
			continue
		}
		m.EPC = EPC(m.Commission, s.Clicks, cur)
	}
}

// EPC returns commission / clicks in major units of currency, rounded half
// away from zero to 4 decimal places, as a decimal string; "0.0000"
// without clicks. Integer arithmetic throughout: money is never a float.
func EPC(commission, clicks int64, currency string) string {
	if clicks <= 0 {
		return "0.0000"
	}
	// commission × 10⁴ / (clicks × 10^exp), in units of 10⁻⁴ major.
	num := new(big.Int).Mul(big.NewInt(commission), big.NewInt(10000))
	den := new(big.Int).Mul(big.NewInt(clicks), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(money.Exponent(currency))), nil))
	neg := num.Sign() < 0
	num.Abs(num)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Lsh(r, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	s := q.String()
	if len(s) < 5 {
		s = strings.Repeat("0", 5-len(s)) + s
	}
	s = s[:len(s)-4] + "." + s[len(s)-4:]
	if neg && strings.Trim(s, "0.") != "" {
		s = "-" + s
	}
	return s
}

// scope returns the SQL condition selecting q's program and affiliate on
// table alias t (a "." included, or ""), appending its arguments.
func (q *Query) scope(t string, args *[]any) string {
	var conds []string
	if q.AffiliateID != 0 {
		conds = append(conds, t+"affiliate_id = "+param(args, q.AffiliateID))
	}
	if q.ProgramID != 0 {
		conds = append(conds, t+"program_id = "+param(args, q.ProgramID))
	}
	if len(conds) == 0 {
		// Every program, through the per-program indexes.
		return t + "program_id in (select id from programs)"
	}
	return strings.Join(conds, " and ")
}

func param(args *[]any, v any) string {
	*args = append(*args, v)
	return "$" + strconv.Itoa(len(*args))
}

// group is a stretch of q's UTC hours whose sums are taken together in
// SQL, and how they are grouped there: by UTC hour for an hourly series;
// otherwise by the owner's local day (the day in which each hour starts),
// so that a quarter comes back as ~90 rows per currency and kind rather
// than ~2,000. A local day is the date of the hour shifted by the zone's
// offset, which is constant over the stretch.
type group struct {
	from, to time.Time // UTC hours
	byDay    bool
	offset   int // seconds east of UTC, for byDay
}

// groups divides q's hours [start, end) into stretches of one UTC offset
// (one, or two over a daylight-saving change), or returns one hourly group.
func (q *Query) groups() []group {
	if q.Interval == Hour {
		return []group{{from: q.start, to: q.end}}
	}
	var out []group
	for t := q.start; t.Before(q.end); {
		l := t.In(q.Loc)
		_, offset := l.Zone()
		end := q.end
		// The hour in which the offset changes starts under the old one.
		if _, zoneEnd := l.ZoneBounds(); !zoneEnd.IsZero() && ceilHour(zoneEnd.UTC()).Before(end) {
			end = ceilHour(zoneEnd.UTC())
		}
		out = append(out, group{from: t, to: end, byDay: true, offset: offset})
		t = end
	}
	return out
}

// sql is the SQL of g's key for time column col, as text: the UTC hour
// "YYYY-MM-DD HH", or the local date "YYYY-MM-DD" of the hour col lies in.
// SQLite keeps times as UTC text, whose first 13 characters are the hour.
func (g group) sql(dialect db.Dialect, col string) string {
	pg := dialect == db.Postgres
	off := strconv.Itoa(g.offset)
	switch {
	case !g.byDay && pg:
		return "to_char(" + col + " at time zone 'UTC', 'YYYY-MM-DD HH24')"
	case !g.byDay:
		return "substr(" + col + ", 1, 13)"
	case pg:
		return "to_char(date_trunc('hour', " + col + " at time zone 'UTC') + interval '" + off + " seconds', 'YYYY-MM-DD')"
	default:
		return "date(substr(" + col + ", 1, 13) || ':00:00', '" + off + " seconds')"
	}
}

// at reads what sql returns: the UTC hour, or the local midnight of the
// day in loc (as time.Date normalizes it when a change skips midnight).
func (g group) at(key string, loc *time.Location) (time.Time, error) {
	if !g.byDay {
		return time.Parse("2006-01-02 15", key)
	}
	d, err := time.Parse("2006-01-02", key)
	if err != nil {
		return time.Time{}, err
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc), nil
}
