package analytics

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/tracking"
)

// Orders of the top-affiliates list.
const (
	ByClicks      = "clicks"
	ByConversions = "conversions"
	ByRevenue     = "revenue"    // net revenue in one currency
	ByCommission  = "commission" // in one currency
)

// MaxLimit is the longest top list.
const MaxLimit = 1000

// TopQuery selects a top-affiliates list.
type TopQuery struct {
	Query
	By       string // clicks (default), conversions, revenue, commission
	Currency string // for revenue and commission; default: the range's largest by net revenue
	Limit    int    // 10 when 0; at most MaxLimit
}

// AffiliateStats are one affiliate's figures over a range.
type AffiliateStats struct {
	AffiliateID int64  `json:"affiliate_id"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Code        string `json:"code"`
	Status      string `json:"status"`
	Stats
}

// TopAffiliates is the ranking and what it was ranked by.
type TopAffiliates struct {
	From     time.Time        `json:"from"`
	To       time.Time        `json:"to"`
	TZ       string           `json:"tz"`
	By       string           `json:"by"`
	Currency string           `json:"currency,omitempty"`
	Data     []AffiliateStats `json:"data"`
}

// TopAffiliates ranks the affiliates of q's program (or of every program)
// over q's range. Ties are broken by clicks, then by id. Affiliates with
// neither clicks nor sales in the range are left out.
func (s *Service) TopAffiliates(ctx context.Context, q TopQuery) (*TopAffiliates, error) {
	tracking.Await(ctx, s.Sync)
	if err := q.align(); err != nil {
		return nil, err
	}
	switch q.By {
	case "":
		q.By = ByClicks
	case ByClicks, ByConversions, ByRevenue, ByCommission:
	default:
		return nil, apperr.Invalid("by", "must be clicks, conversions, revenue or commission")
	}
	if q.Limit <= 0 {
		q.Limit = 10
	}
	q.Limit = min(q.Limit, MaxLimit)
	q.Currency = strings.ToUpper(q.Currency)

	by, netBy, err := s.perAffiliate(ctx, &q.Query, nil)
	if err != nil {
		return nil, err
	}
	out := &TopAffiliates{From: q.From, To: q.To, TZ: q.Loc.String(), By: q.By, Data: []AffiliateStats{}}
	if q.By == ByRevenue || q.By == ByCommission {
		if q.Currency == "" {
			q.Currency = largest(netBy)
		}
		out.Currency = q.Currency
	}
	list := make([]*AffiliateStats, 0, len(by))
	for _, a := range by {
		a.finish()
		list = append(list, a)
	}
	key := func(a *AffiliateStats) int64 {
		switch q.By {
		case ByConversions:
			return a.Conversions
		case ByRevenue, ByCommission:
			m := a.Money[q.Currency]
			if m == nil {
				return 0
			}
			if q.By == ByRevenue {
				return m.Net
			}
			return m.Commission
		}
		return a.Clicks
	}
	slices.SortFunc(list, func(x, y *AffiliateStats) int {
		if c := cmp.Compare(key(y), key(x)); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Clicks, x.Clicks); c != 0 {
			return c
		}
		return cmp.Compare(x.AffiliateID, y.AffiliateID)
	})
	list = list[:min(len(list), q.Limit)]
	if err := s.names(ctx, list); err != nil {
		return nil, err
	}
	for _, a := range list {
		out.Data = append(out.Data, *a)
	}
	return out, nil
}

// AffiliateTotals returns the figures of each affiliate in ids over q's
// range (q's program and affiliate filters apply too), with the same sums
// as TopAffiliates: one set of queries for the whole list, not one per
// affiliate. An affiliate with nothing in the range has zero Stats.
func (s *Service) AffiliateTotals(ctx context.Context, q Query, ids []int64) (map[int64]Stats, error) {
	tracking.Await(ctx, s.Sync)
	if err := q.align(); err != nil {
		return nil, err
	}
	out := make(map[int64]Stats, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	by, _, err := s.perAffiliate(ctx, &q, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		var st Stats
		if a := by[id]; a != nil {
			st = a.Stats
		}
		st.finish()
		out[id] = st
	}
	return out, nil
}

// perAffiliate sums clicks and attributed sales per affiliate over q's
// aligned range, for every affiliate in q's scope or, when ids is not
// empty, for those alone; it also returns the net revenue per currency.
// Whole UTC days come from the daily rollups (click_days; sale_days, and
// sale_affiliate_weeks for the whole weeks inside them), the hours at the
// edges from the hourly ones (click_rollups, sale_affiliate_hours).
func (s *Service) perAffiliate(ctx context.Context, q *Query, ids []int64) (map[int64]*AffiliateStats, map[string]int64, error) {
	by := map[int64]*AffiliateStats{}
	get := func(id int64) *AffiliateStats {
		a := by[id]
		if a == nil {
			a = &AffiliateStats{AffiliateID: id}
			by[id] = a
		}
		return a
	}
	netBy := map[string]int64{}
	addClicks := func(id, c, u, b int64) {
		a := get(id)
		a.Clicks += c
		a.Uniques += u
		a.Bots += b
	}
	addSales := func(id int64, r salesRow) {
		if r.empty() {
			return
		}
		r.addTo(&get(id).Stats)
	}
	// among narrows a scope to ids, on table alias t.
	among := func(t string, args *[]any) string {
		if len(ids) == 0 {
			return ""
		}
		ph := make([]string, len(ids))
		for i, id := range ids {
			ph[i] = param(args, id)
		}
		return " and " + t + "affiliate_id in (" + strings.Join(ph, ",") + ")"
	}
	days, hours := q.cover()
	if !days[0].IsZero() {
		var args []any
		where := q.scope("", &args) + among("", &args) + " and day >= " + param(&args, days[0]) + " and day < " + param(&args, days[1])
		if err := s.scan(ctx, `/* analytics.Service.perAffiliate */ select affiliate_id, sum(clicks), sum(uniques), sum(bots)
			from click_days where `+where+` group by affiliate_id`, args, addClicks); err != nil {
			return nil, nil, err
		}
		// Sales: whole UTC weeks from their rollup, the days around them
		// from the daily one.
		for _, r := range weeks(days[0], days[1]) {
			table, col := "sale_days", "day"
			if r.weeks {
				table, col = "sale_affiliate_weeks", "week"
			}
			var args []any
			where := q.scope("", &args) + among("", &args) + " and " + col + " >= " + param(&args, r.from) + " and " + col + " < " + param(&args, r.to)
			if err := s.scanSales(ctx, `/* analytics.Service.perAffiliate */ select affiliate_id, currency, kind, sum(orders),
				sum(gross), sum(net), sum(commission) from `+table+` where `+where+` group by affiliate_id, currency, kind`, args, addSales); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, h := range hours {
		var args []any
		where := q.scope("", &args) + among("", &args) + " and hour >= " + param(&args, h.from) + " and hour < " + param(&args, h.to)
		err := s.scan(ctx, `/* analytics.Service.perAffiliate */ select affiliate_id, sum(clicks), sum(uniques), sum(bots)
			from click_rollups where `+where+` group by affiliate_id`, args, func(id, c, u, b int64) {
			addClicks(id, h.sign*c, h.sign*u, h.sign*b)
		})
		if err != nil {
			return nil, nil, err
		}
		// The hours of every affiliate (or of the listed ones) from their
		// hourly rollup, keyed by affiliate: a seek per affiliate.
		if len(ids) == 0 {
			where += " and affiliate_id in (select id from affiliates)"
		}
		err = s.scanSales(ctx, `/* analytics.Service.perAffiliate */ select affiliate_id, currency, kind, sum(orders),
			sum(gross), sum(net), sum(commission) from sale_affiliate_hours where `+where+` group by 1, 2, 3`, args, func(id int64, r salesRow) {
			if h.sign < 0 {
				r = r.neg()
			}
			addSales(id, r)
		})
		if err != nil {
			return nil, nil, err
		}
	}
	// An affiliate whose hours taken off were all it had in a day is not
	// in the range, nor is a currency whose orders were all taken off.
	for id, a := range by {
		if a.Clicks == 0 && a.Uniques == 0 && a.Bots == 0 && a.Conversions == 0 && a.Renewals == 0 && !a.hasMoney() {
			delete(by, id)
			continue
		}
		for cur, m := range a.Money {
			if !m.empty() {
				netBy[cur] += m.Net
			}
		}
	}
	return by, netBy, nil
}

// span is a stretch of whole UTC days, or of whole UTC weeks.
type span struct {
	from, to time.Time
	weeks    bool
}

// weeks divides the whole UTC days [from, to) into the whole weeks inside
// them (Monday to Monday) and the days around those.
func weeks(from, to time.Time) []span {
	monday := func(d time.Time) time.Time { return d.AddDate(0, 0, -(int(d.Weekday())+6)%7) }
	w0, w1 := monday(from), monday(to)
	if w0.Before(from) {
		w0 = w0.AddDate(0, 0, 7)
	}
	if !w0.Before(w1) {
		return []span{{from: from, to: to}}
	}
	var out []span
	if from.Before(w0) {
		out = append(out, span{from: from, to: w0})
	}
	out = append(out, span{from: w0, to: w1, weeks: true})
	if w1.Before(to) {
		out = append(out, span{from: w1, to: to})
	}
	return out
}

// hourSpan is a stretch of UTC hours whose sums are added (sign 1) or
// taken off (sign -1).
type hourSpan struct {
	from, to time.Time
	sign     int64
}

// cover divides the UTC hours [q.start, q.end) into whole UTC days read
// from the daily rollups (zero when there are none) and hours read from
// the hourly ones. An edge of more than half a day is read as its whole
// UTC day minus the hours of that day outside the range: a quarter in New
// York starts at 04:00 or 05:00 UTC, so 4 or 5 hours rather than 19 or 20.
func (q *Query) cover() (days [2]time.Time, hours []hourSpan) {
	days, edges := q.split()
	if days[0].IsZero() {
		for _, e := range edges {
			hours = append(hours, hourSpan{e[0], e[1], 1})
		}
		return days, hours
	}
	for _, e := range edges {
		d := e[0].Truncate(24 * time.Hour)
		if e[1].Sub(e[0]) <= 12*time.Hour {
			hours = append(hours, hourSpan{e[0], e[1], 1})
			continue
		}
		// The day before the whole days, or the one after them.
		if d.Before(days[0]) {
			days[0] = d
		} else {
			days[1] = d.Add(24 * time.Hour)
		}
		if d.Before(e[0]) {
			hours = append(hours, hourSpan{d, e[0], -1})
		}
		if end := d.Add(24 * time.Hour); e[1].Before(end) {
			hours = append(hours, hourSpan{e[1], end, -1})
		}
	}
	return days, hours
}

// split divides the UTC hours [q.start, q.end) into the whole UTC days
// inside them (zero when there are none) and the hours at the edges.
func (q *Query) split() (days [2]time.Time, edges [][2]time.Time) {
	d0 := q.start.Truncate(24 * time.Hour)
	if !d0.Equal(q.start) {
		d0 = d0.Add(24 * time.Hour)
	}
	d1 := q.end.Truncate(24 * time.Hour)
	if !d0.Before(d1) {
		return days, [][2]time.Time{{q.start, q.end}}
	}
	if q.start.Before(d0) {
		edges = append(edges, [2]time.Time{q.start, d0})
	}
	if d1.Before(q.end) {
		edges = append(edges, [2]time.Time{d1, q.end})
	}
	return [2]time.Time{d0, d1}, edges
}

// scan runs a query of (affiliate_id, clicks, uniques, bots) rows.
func (s *Service) scan(ctx context.Context, query string, args []any, fn func(id, c, u, b int64)) error {
	rows, err := s.DB.R(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, c, u, b int64
		if err := rows.Scan(&id, &c, &u, &b); err != nil {
			return err
		}
		fn(id, c, u, b)
	}
	return rows.Err()
}

// scanSales runs a query of (affiliate_id, salesRow) rows.
func (s *Service) scanSales(ctx context.Context, query string, args []any, fn func(id int64, r salesRow)) error {
	rows, err := s.DB.R(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var r salesRow
		if err := rows.Scan(&id, &r.currency, &r.kind, &r.orders, &r.gross, &r.net, &r.commission); err != nil {
			return err
		}
		fn(id, r)
	}
	return rows.Err()
}

// largest returns the key with the largest value (the first by name on a tie).
func largest(m map[string]int64) string {
	best, bestV := "", int64(0)
	for k, v := range m {
		if best == "" || v > bestV || v == bestV && k < best {
			best, bestV = k, v
		}
	}
	return best
}

// names fills in who the affiliates are.
func (s *Service) names(ctx context.Context, list []*AffiliateStats) error {
	if len(list) == 0 {
		return nil
	}
	by := map[int64]*AffiliateStats{}
	var args []any
	ph := make([]string, 0, len(list))
	for _, a := range list {
		by[a.AffiliateID] = a
		ph = append(ph, param(&args, a.AffiliateID))
	}
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* analytics.Service.names */
		select id, name, email, code, status from affiliates where id in (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, email, code, status string
		if err := rows.Scan(&id, &name, &email, &code, &status); err != nil {
			return err
		}
		if a := by[id]; a != nil {
			a.Name, a.Email, a.Code, a.Status = name, email, code, status
		}
	}
	return rows.Err()
}

// Dimensions of the breakdown reports.
const (
	DimReferrerHost = tracking.DimReferrerHost
	DimLandingPath  = tracking.DimLandingPath
	DimDevice       = tracking.DimDevice
)

// DimRow is one value of a dimension.
type DimRow struct {
	Value  string  `json:"value"` // "" is no referrer (direct, or hidden by the browser)
	Clicks int64   `json:"clicks"`
	Share  float64 `json:"share"` // of Total, rounded to 4 places
}

// DimReport breaks human clicks down by one dimension.
type DimReport struct {
	// From and To are the whole UTC days the report covers: q's range widened.
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Dim   string    `json:"dimension"`
	Total int64     `json:"total_clicks"`
	Other int64     `json:"other_clicks"` // clicks of the values past the limit
	Data  []DimRow  `json:"data"`
}

// Breakdown returns the top values of dim (referrer_host, landing_path or
// device) by human clicks over the UTC days that cover q's range, most
// clicks first (ties by value). limit is 10 when 0, at most MaxLimit.
func (s *Service) Breakdown(ctx context.Context, q Query, dim string, limit int) (*DimReport, error) {
	tracking.Await(ctx, s.Sync)
	switch dim {
	case DimReferrerHost, DimLandingPath, DimDevice:
	default:
		return nil, apperr.Invalid("dimension", "must be referrer_host, landing_path or device")
	}
	q.Interval, q.Loc = Day, time.UTC // whole UTC days
	if err := q.align(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 10
	}
	limit = min(limit, MaxLimit)
	// A program's (or every program's) counters from the per-program
	// rollup; one affiliate's from its own.
	table := "click_program_dims"
	if q.AffiliateID != 0 {
		table = "click_dims"
	}
	args := []any{dim}
	where := q.scope("", &args) + " and dim = $1 and day >= " + param(&args, q.From) + " and day < " + param(&args, q.To)
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* analytics.Service.Breakdown */
		select value, sum(clicks) from `+table+` where `+where+` group by value`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &DimReport{From: q.From, To: q.To, Dim: dim, Data: []DimRow{}}
	for rows.Next() {
		var r DimRow
		if err := rows.Scan(&r.Value, &r.Clicks); err != nil {
			return nil, err
		}
		out.Total += r.Clicks
		out.Data = append(out.Data, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Data, func(x, y DimRow) int {
		if c := cmp.Compare(y.Clicks, x.Clicks); c != 0 {
			return c
		}
		return strings.Compare(x.Value, y.Value)
	})
	for _, r := range out.Data[min(len(out.Data), limit):] {
		out.Other += r.Clicks
	}
	out.Data = out.Data[:min(len(out.Data), limit)]
	for i := range out.Data {
		out.Data[i].Share = share(out.Data[i].Clicks, out.Total)
	}
	return out, nil
}

func share(n, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return math.Round(float64(n)/float64(total)*10000) / 10000
}
