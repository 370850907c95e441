package tracking

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
)

// Stats reads clicks back: running counts, time series from the hourly
// rollups, and the raw log.
type Stats struct {
	DB *db.DB
	// Sync, when set, waits until the clicks logged before the call are
	// in the database (ClickJournal.Sync).
	Sync func(ctx context.Context) error
}

// SyncWait bounds how long a read waits for the click journal's loader;
// past it the read goes on with the clicks loaded so far (the loader's
// trouble is logged and in the metrics).
const SyncWait = 2 * time.Second

// Await waits, at most SyncWait, until the clicks logged before the call
// are in the database.
func (s *Stats) Await(ctx context.Context) { Await(ctx, s.Sync) }

// Await calls sync, when not nil, for at most SyncWait. Inside a
// transaction it does not wait: on SQLite the transaction holds the only
// write connection, which the loader needs, so the wait would only time
// out. Callers that read clicks in a transaction await before it.
func Await(ctx context.Context, sync func(ctx context.Context) error) {
	if sync == nil || db.InTX(ctx) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, SyncWait)
	defer cancel()
	_ = sync(ctx)
}

// Counts returns an affiliate's human clicks and unique visitors so far.
func (s *Stats) Counts(ctx context.Context, affiliateID int64) (clicks, uniques int64, err error) {
	Await(ctx, s.Sync)
	err = s.DB.R(ctx).QueryRowContext(ctx, `/* tracking.Stats.Counts */
		select coalesce(sum(clicks), 0), coalesce(sum(uniques), 0) from click_rollups where affiliate_id = $1`,
		affiliateID).Scan(&clicks, &uniques)
	return clicks, uniques, err
}

// Point is one interval of a series. Sales fields are filled by the ledger
// (conversions, and money per currency).
type Point struct {
	Start       time.Time          `json:"start"`
	Clicks      int64              `json:"clicks"`
	Uniques     int64              `json:"unique_visitors"`
	Bots        int64              `json:"bot_clicks"`
	Conversions int64              `json:"conversions"`
	Money       map[string]*Amount `json:"money,omitempty"` // by currency
}

// Amount is revenue and commission in one currency.
type Amount struct {
	Gross      int64 `json:"gross"`
	Net        int64 `json:"net"`
	Commission int64 `json:"commission"`
}

// Series is a time series with its totals.
type Series struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Interval string    `json:"interval"`
	TZ       string    `json:"tz"`
	Points   []Point   `json:"points"`
	Totals   Totals    `json:"totals"`
}

// Totals sums a series.
type Totals struct {
	Clicks      int64              `json:"clicks"`
	Uniques     int64              `json:"unique_visitors"`
	Bots        int64              `json:"bot_clicks"`
	Conversions int64              `json:"conversions"`
	Money       map[string]*Amount `json:"money,omitempty"`
}

// SeriesQuery selects a series. Exactly one of AffiliateID and ProgramID
// may be set; neither means every affiliate.
type SeriesQuery struct {
	AffiliateID, ProgramID int64
	From, To               time.Time // [From, To)
	Interval               string    // hour, day or month
	Loc                    *time.Location
}

// Bucket returns the start of the interval (hour, day or month in loc) holding t.
func Bucket(t time.Time, interval string, loc *time.Location) time.Time {
	return bucket(t, interval, loc)
}

// bucket returns the start of t's interval in loc.
func bucket(t time.Time, interval string, loc *time.Location) time.Time {
	l := t.In(loc)
	switch interval {
	case "hour":
		return t.Truncate(time.Hour)
	case "month":
		return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	}
}

func next(t time.Time, interval string, loc *time.Location) time.Time {
	l := t.In(loc)
	switch interval {
	case "hour":
		return t.Add(time.Hour)
	case "month":
		return time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, loc)
	default:
		return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
	}
}

// Series returns clicks per interval from the hourly rollups, every interval
// present (zeros included), with day and month boundaries in q.Loc. Zones
// with a non-whole-hour offset get hours assigned by their start.
func (s *Stats) Series(ctx context.Context, q SeriesQuery) (*Series, error) {
	Await(ctx, s.Sync)
	if q.Loc == nil {
		q.Loc = time.UTC
	}
	switch q.Interval {
	case "":
		q.Interval = "day"
	case "hour", "day", "month":
	default:
		return nil, apperr.Invalid("interval", "must be hour, day or month")
	}
	if !q.To.After(q.From) {
		return nil, apperr.Invalid("to", "must be after from")
	}
	// Align to interval boundaries so every point covers whole hours.
	from := bucket(q.From, q.Interval, q.Loc)
	to := q.To
	if b := bucket(to, q.Interval, q.Loc); !b.Equal(to) {
		to = next(b, q.Interval, q.Loc)
	}
	n := 0
	for t := from; t.Before(to); t = next(t, q.Interval, q.Loc) {
		if n++; n > 10000 {
			return nil, apperr.Invalid("interval", "too many points: choose a longer interval or a shorter range")
		}
	}
	where := `hour >= $1 and hour < $2`
	args := []any{db.Time(from), db.Time(to)}
	if q.AffiliateID != 0 {
		where += ` and affiliate_id = $3`
		args = append(args, q.AffiliateID)
	} else if q.ProgramID != 0 {
		where += ` and program_id = $3`
		args = append(args, q.ProgramID)
	}
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* tracking.Stats.Series */
		select hour, sum(clicks), sum(uniques), sum(bots) from click_rollups where `+where+` group by hour order by hour`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byStart := map[int64]*Point{}
	out := &Series{From: from.UTC(), To: to.UTC(), Interval: q.Interval, TZ: q.Loc.String(), Points: []Point{}}
	for t := from; t.Before(to); t = next(t, q.Interval, q.Loc) {
		out.Points = append(out.Points, Point{Start: t})
	}
	for i := range out.Points {
		byStart[out.Points[i].Start.Unix()] = &out.Points[i]
	}
	for rows.Next() {
		var hour time.Time
		var c, u, b int64
		if err := rows.Scan(&hour, &c, &u, &b); err != nil {
			return nil, err
		}
		p := byStart[bucket(hour.UTC(), q.Interval, q.Loc).Unix()]
		if p == nil {
			continue
		}
		p.Clicks += c
		p.Uniques += u
		p.Bots += b
		out.Totals.Clicks += c
		out.Totals.Uniques += u
		out.Totals.Bots += b
	}
	return out, rows.Err()
}

// ClickQuery selects a page of the raw click log in time order.
type ClickQuery struct {
	AffiliateID, ProgramID int64
	From, To               time.Time // zero: unbounded
	Cursor                 string    // from the previous page
	Limit                  int
}

// Clicks returns a page of clicks ordered by time, and the cursor of the next page.
//
// The log is read through an index that starts with the affiliate or the
// program. Without either filter the page is the merge of each program's
// page: there is no index of all clicks by time, which every click batch
// would pay for (see the 97-click-indexes migration) for a view that is
// rarely opened and has a few programs to merge.
func (s *Stats) Clicks(ctx context.Context, q ClickQuery) ([]Click, string, error) {
	Await(ctx, s.Sync)
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	var after struct {
		at time.Time
		id int64
	}
	if q.Cursor != "" {
		at, id, ok := parseCursor(q.Cursor)
		if !ok {
			return nil, "", apperr.Invalid("cursor", "is not a cursor from a previous page")
		}
		after.at, after.id = at, id
	}
	var out []Click
	if q.AffiliateID != 0 || q.ProgramID != 0 {
		var err error
		if out, err = s.clickPage(ctx, q, after.at, after.id); err != nil {
			return nil, "", err
		}
	} else {
		programs, err := s.programIDs(ctx)
		if err != nil {
			return nil, "", err
		}
		for _, p := range programs {
			pq := q
			pq.ProgramID = p
			page, err := s.clickPage(ctx, pq, after.at, after.id)
			if err != nil {
				return nil, "", err
			}
			out = append(out, page...)
		}
		slices.SortFunc(out, func(a, b Click) int {
			return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
		})
		out = out[:min(len(out), q.Limit)]
	}
	if out == nil {
		out = []Click{}
	}
	cursor := ""
	if len(out) == q.Limit {
		last := out[len(out)-1]
		cursor = strconv.FormatInt(last.At.UnixMicro(), 10) + "-" + strconv.FormatInt(last.ID, 10)
	}
	return out, cursor, nil
}

// programIDs lists every program, for the merged click log.
func (s *Stats) programIDs(ctx context.Context) ([]int64, error) {
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* tracking.Stats.programIDs */ select id from programs order by id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// clickPage reads up to q.Limit clicks of q's affiliate or program after
// (afterAt, afterID) when afterAt is set.
func (s *Stats) clickPage(ctx context.Context, q ClickQuery, afterAt time.Time, afterID int64) ([]Click, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.AffiliateID != 0 {
		add("affiliate_id = ?", q.AffiliateID)
	}
	if q.ProgramID != 0 {
		add("program_id = ?", q.ProgramID)
	}
	if !q.From.IsZero() {
		add("at >= ?", db.Time(q.From))
	}
	if !q.To.IsZero() {
		add("at < ?", db.Time(q.To))
	}
	if !afterAt.IsZero() || afterID != 0 {
		args = append(args, afterAt, afterID)
		n := len(args)
		conds = append(conds, fmt.Sprintf("(at > $%d or (at = $%d and id > $%d))", n-1, n-1, n))
	}
	args = append(args, q.Limit)
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* tracking.Stats.Clicks */
		select id, referral_id, affiliate_id, program_id, at, referrer, user_agent, landing_url, ip, device, is_bot, is_unique
		from clicks where `+strings.Join(conds, " and ")+` order by at, id limit $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Click
	for rows.Next() {
		var c Click
		if err := rows.Scan(&c.ID, &c.ReferralID, &c.AffiliateID, &c.ProgramID, &c.At, &c.Referrer, &c.UserAgent,
			&c.LandingURL, &c.IP, &c.Device, &c.IsBot, &c.IsUnique); err != nil {
			return nil, err
		}
		c.At = c.At.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

func parseCursor(s string) (time.Time, int64, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return time.Time{}, 0, false
	}
	us, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, false
	}
	return time.UnixMicro(us).UTC(), id, true
}

// ReferralClick returns the click a referral id is attributed to: the
// first human click of that id (first touch) or the latest one at or
// before `before` (last touch). ok is false when the id has no click.
//
// It does not wait for the click journal: it runs inside the ledger's
// transaction, which on SQLite holds the only write connection the
// journal's loader needs. The ledger calls Await before its transaction.
func (s *Stats) ReferralClick(ctx context.Context, referralID string, before time.Time, lastTouch bool) (c Click, ok bool, err error) {
	order := "at asc, id asc"
	if lastTouch {
		order = "at desc, id desc"
	}
	err = s.DB.R(ctx).QueryRowContext(ctx, `/* tracking.Stats.ReferralClick */
		select id, affiliate_id, program_id, at from clicks
		where referral_id = $1 and at <= $2 and not is_bot order by `+order+` limit 1`,
		referralID, db.Time(before)).Scan(&c.ID, &c.AffiliateID, &c.ProgramID, &c.At)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, false, nil
		}
		return c, false, err
	}
	c.ReferralID = referralID
	c.At = c.At.UTC()
	return c, true, nil
}
