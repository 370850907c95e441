package tracking

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/db"
)

// Report dimensions of a click, counted per affiliate and UTC day in the
// click_dims table (referrers, landing pages and devices reports).
const (
	DimReferrerHost = "referrer_host" // the Referer's host without "www." and port; "" for none
	DimLandingPath  = "landing_path"  // host and path of where the visitor landed, no query
	DimDevice       = "device"        // desktop, mobile, tablet, unknown
)

// Longest dimension values kept: a visitor controls the Referer, so what
// one click can add to the table is bounded.
const (
	maxHostLen = 253
	maxPathLen = 300
)

// ClickDims returns the report dimensions of c.
func ClickDims(c Click) (referrerHost, landingPath, device string) {
	if c.Referrer != "" {
		if u, err := url.Parse(c.Referrer); err == nil {
			referrerHost = strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
		}
		referrerHost = clip(referrerHost, maxHostLen)
	}
	if c.LandingURL != "" {
		if u, err := url.Parse(c.LandingURL); err == nil && u.Host != "" {
			p := u.EscapedPath()
			if p == "" {
				p = "/"
			}
			landingPath = clip(strings.ToLower(u.Host)+p, maxPathLen)
		}
	}
	device = c.Device
	if device == "" {
		device = string(DeviceUnknown)
	}
	return referrerHost, landingPath, device
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// DimKey identifies one daily counter.
type DimKey struct {
	AffiliateID int64
	ProgramID   int64
	Day         time.Time // midnight UTC
	Dim         string
	Value       string
}

// DimCounts accumulates daily dimension counters before they are saved.
type DimCounts map[DimKey]int64

// Add counts c's dimensions, unless c is a bot: like click_rollups.clicks,
// the dimensions count human clicks only.
func (m DimCounts) Add(c Click) {
	if c.IsBot {
		return
	}
	day := utcDay(c.At)
	ref, landing, device := ClickDims(c)
	for _, d := range [...][2]string{{DimReferrerHost, ref}, {DimLandingPath, landing}, {DimDevice, device}} {
		m[DimKey{c.AffiliateID, c.ProgramID, day, d[0], d[1]}]++
	}
}

func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Save adds the counters to click_dims through the transaction in ctx (or
// alone when there is none).
func (m DimCounts) Save(ctx context.Context, d *db.DB) error {
	return upsertCounts(ctx, d, "click_dims", []string{"affiliate_id", "dim", "day", "value", "program_id"}, 4, []string{"clicks"}, m.rows())
}

// rows returns the counters as rows of click_dims, in key order.
func (m DimCounts) rows() []countRow {
	rows := make([]countRow, 0, len(m))
	for k, n := range m {
		rows = append(rows, countRow{key: []any{k.AffiliateID, k.Dim, k.Day, k.Value, k.ProgramID}, counts: []int64{n}})
	}
	return sortRows(rows)
}

// Counts are human clicks, their unique visitors, and bot clicks.
type Counts struct{ Clicks, Uniques, Bots int64 }

func (n *Counts) add(c Click) {
	switch {
	case c.IsBot:
		n.Bots++
	case c.IsUnique:
		n.Clicks++
		n.Uniques++
	default:
		n.Clicks++
	}
}

type programHour struct {
	program int64
	hour    time.Time
}

type affiliateDay struct {
	affiliate, program int64
	day                time.Time
}

// Rollups accumulates the report rollups of a set of clicks, besides
// click_rollups: the daily dimension counters (click_dims), the clicks per
// program and hour (click_program_hours) and per affiliate and day
// (click_days). The click writer saves them with each batch; bulk loaders
// (the demo) use them too, so that both keep the same counters.
type Rollups struct {
	Dims  DimCounts
	hours map[programHour]*Counts
	days  map[affiliateDay]*Counts
}

// NewRollups returns empty rollups.
func NewRollups() *Rollups {
	return &Rollups{Dims: DimCounts{}, hours: map[programHour]*Counts{}, days: map[affiliateDay]*Counts{}}
}

// Add counts c.
func (r *Rollups) Add(c Click) {
	r.Dims.Add(c)
	hk := programHour{c.ProgramID, c.At.UTC().Truncate(time.Hour)}
	if r.hours[hk] == nil {
		r.hours[hk] = &Counts{}
	}
	r.hours[hk].add(c)
	dk := affiliateDay{c.AffiliateID, c.ProgramID, utcDay(c.At)}
	if r.days[dk] == nil {
		r.days[dk] = &Counts{}
	}
	r.days[dk].add(c)
}

// Save adds every counter to its table through the transaction in ctx.
func (r *Rollups) Save(ctx context.Context, d *db.DB) error {
	cols := []string{"clicks", "uniques", "bots"}
	if err := upsertCounts(ctx, d, "click_program_hours", []string{"program_id", "hour"}, 2, cols, r.hourRows()); err != nil {
		return err
	}
	if err := upsertCounts(ctx, d, "click_days", []string{"affiliate_id", "program_id", "day"}, 3, cols, r.dayRows()); err != nil {
		return err
	}
	return r.Dims.Save(ctx, d)
}

// hourRows returns the rows of click_program_hours, in key order.
func (r *Rollups) hourRows() []countRow {
	rows := make([]countRow, 0, len(r.hours))
	for k, n := range r.hours {
		rows = append(rows, countRow{key: []any{k.program, k.hour}, counts: []int64{n.Clicks, n.Uniques, n.Bots}})
	}
	return sortRows(rows)
}

// dayRows returns the rows of click_days, in key order.
func (r *Rollups) dayRows() []countRow {
	rows := make([]countRow, 0, len(r.days))
	for k, n := range r.days {
		rows = append(rows, countRow{key: []any{k.affiliate, k.program, k.day}, counts: []int64{n.Clicks, n.Uniques, n.Bots}})
	}
	return sortRows(rows)
}

// countRow is one row of counters: its key values, then its counts.
type countRow struct {
	key    []any // int64, string or time.Time
	counts []int64
}

// rowsPerStatement keeps a statement's parameters far below SQLite's and
// PostgreSQL's limits.
const rowsPerStatement = 500

// upsertCounts adds rows to table: keyCols then countCols, the first
// conflictCols of keyCols being the table's primary key (the others are
// stored on insert). Rows are written in key order, so two writers
// (replicas) touch shared rows in the same order and cannot deadlock.
func upsertCounts(ctx context.Context, d *db.DB, table string, keyCols []string, conflictCols int, countCols []string, rows []countRow) error {
	sortRows(rows)
	width := len(keyCols) + len(countCols)
	var set []string
	for _, c := range countCols {
		set = append(set, c+" = "+table+"."+c+" + excluded."+c)
	}
	tail := " on conflict (" + strings.Join(keyCols[:conflictCols], ", ") + ") do update set " + strings.Join(set, ", ")
	head := "/* tracking.upsertCounts */ insert into " + table + " (" + strings.Join(keyCols, ", ") + ", " + strings.Join(countCols, ", ") + ") values "
	var sb strings.Builder
	for part := range slices.Chunk(rows, rowsPerStatement) {
		sb.Reset()
		sb.WriteString(head)
		args := make([]any, 0, len(part)*width)
		for i, r := range part {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for j := range width {
				if j > 0 {
					sb.WriteByte(',')
				}
				if d.Dialect() == db.SQLite {
					// Anonymous parameters: SQLite looks a numbered one up by
					// name in a list, so thousands of "$N" cost quadratic time
					// (13× slower at 3000 parameters).
					sb.WriteByte('?')
				} else {
					sb.WriteString("$" + strconv.Itoa(i*width+j+1))
				}
			}
			sb.WriteByte(')')
			args = append(args, r.key...)
			for _, n := range r.counts {
				args = append(args, n)
			}
		}
		sb.WriteString(tail)
		if _, err := d.Q(ctx).ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("update %s: %w", table, err)
		}
	}
	return nil
}

// sortRows sorts rows by key and returns them.
func sortRows(rows []countRow) []countRow {
	slices.SortFunc(rows, func(a, b countRow) int {
		for i := range a.key {
			if c := compareKey(a.key[i], b.key[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return rows
}

func compareKey(a, b any) int {
	switch x := a.(type) {
	case int64:
		return cmp.Compare(x, b.(int64))
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	return 0
}

// commitDims updates the report rollups of a batch (see Rollups); the
// writer calls it inside the batch's transaction.
func (w *Writer) commitDims(ctx context.Context, batch []Click) error {
	r := NewRollups()
	for _, c := range batch {
		r.Add(c)
	}
	return r.Save(ctx, w.db)
}
