package analytics

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/db"
)

// part is a stretch of a series' range that one query reads, and how its
// rows count in the series. A series by hour, or one affiliate's, is read
// hour by hour from the hourly rollups, in groups (see group). A series by
// local day or month of every program (or one) reads the whole UTC days
// inside each group from the daily rollups instead, a row per day rather
// than 24: in a zone whose offset is not zero, a UTC day straddles two
// local days, so each UTC day counts in the local day that holds most of
// its hours (its date plus shift), and a second query reads from the
// hourly rollups the hours of each UTC day that belong to the other one
// (hours [lo, hi) of every day, fewer than 13), grouped by UTC date, to
// take them off the first day and add them to theirs (date plus into). The
// hours at the ends of each group, outside whole UTC days, are read hour
// by hour. Sums are the same as hour by hour, in every zone the package
// documentation describes: an hour counts in the local day in which it
// starts.
type part struct {
	group
	daily bool // whole UTC days [from, to) from a daily rollup
	moved bool // hours [lo, hi) of each UTC day in [from, to) from an hourly rollup
	shift int  // daily and moved: UTC day d counts in the local day d + shift
	into  int  // moved: its hours [lo, hi) count in the local day d + into
	lo    int
	hi    int
}

// parts divides q's range into the parts a series reads: hour by hour
// unless coarse (a daily rollup exists for q's scope), otherwise whole UTC
// days and the hours at the ends.
func (q *Query) parts(coarse bool) []part {
	var out []part
	for _, g := range q.groups() {
		d0, d1 := g.from.Truncate(24*time.Hour), g.to.Truncate(24*time.Hour)
		if !d0.Equal(g.from) {
			d0 = d0.Add(24 * time.Hour)
		}
		if !coarse || !g.byDay || !d0.Before(d1) {
			out = append(out, part{group: g})
			continue
		}
		days := group{from: d0, to: d1, byDay: true, offset: g.offset}
		if g.from.Before(d0) {
			out = append(out, part{group: group{from: g.from, to: d0, byDay: true, offset: g.offset}})
		}
		shift, into, lo, hi := dayShifts(g.offset)
		out = append(out, part{group: days, daily: true, shift: shift})
		if lo < hi {
			out = append(out, part{group: days, moved: true, shift: shift, into: into, lo: lo, hi: hi})
		}
		if d1.Before(g.to) {
			out = append(out, part{group: group{from: d1, to: g.to, byDay: true, offset: g.offset}})
		}
	}
	return out
}

// dayShifts returns, for a zone offset (seconds east of UTC), the local
// day that holds most hours of a UTC day d (d + shift) and the hours
// [lo, hi) of d that start in another local day (d + into); lo == hi when
// they all count in one.
func dayShifts(offset int) (shift, into, lo, hi int) {
	// The local day of the hour starting at UTC hour h of d, relative to d.
	dayOf := func(h int) int {
		x := h*3600 + offset
		if x < 0 {
			return -((-x + 86399) / 86400)
		}
		return x / 86400
	}
	first, last := dayOf(0), dayOf(23)
	if first == last {
		return first, first, 0, 0
	}
	k := 1 // hours [0, k) count in the day first, [k, 24) in the day last
	for dayOf(k) == first {
		k++
	}
	if k > 12 {
		return first, last, k, 24
	}
	return last, first, 0, k
}

// key is the SQL of a row's key for time column col: group.sql for hours,
// the UTC date "YYYY-MM-DD" for whole days and moved hours.
func (p part) key(dialect db.Dialect, col string) string {
	switch {
	case !p.daily && !p.moved:
		return p.group.sql(dialect, col)
	case dialect == db.Postgres:
		return "to_char(" + col + " at time zone 'UTC', 'YYYY-MM-DD')"
	default:
		return "substr(" + col + ", 1, 10)" // SQLite keeps times as UTC text
	}
}

// where is the SQL condition selecting p's rows on time column col,
// appending its arguments.
func (p part) where(dialect db.Dialect, col string, args *[]any) string {
	w := " and " + col + " >= " + param(args, p.from) + " and " + col + " < " + param(args, p.group.to)
	if p.moved {
		// The hours as a list, for the hour-of-day indexes of sale_hours
		// (sale_hours_hod): a range seek per hour of day and program.
		var hours []string
		hour := "substr(" + col + ", 12, 2)" // SQLite's UTC text
		if dialect == db.Postgres {
			hour = "extract(hour from " + col + " at time zone 'UTC')"
		}
		for h := p.lo; h < p.hi; h++ {
			if dialect == db.Postgres {
				hours = append(hours, strconv.Itoa(h))
			} else {
				hours = append(hours, fmt.Sprintf("'%02d'", h))
			}
		}
		w += " and " + hour + " in (" + strings.Join(hours, ", ") + ")"
	}
	return w
}

// each calls fn with where a row of key counts in the series, and with
// which sign: the start of its hour or local day in loc (as group.at), or
// for moved hours, minus in the local day their UTC day counts in and plus
// in their own.
func (p part) each(key string, loc *time.Location, fn func(at time.Time, sign int64)) error {
	if !p.daily && !p.moved {
		at, err := p.group.at(key, loc)
		if err != nil {
			return fmt.Errorf("analytics: unexpected group %q: %w", key, err)
		}
		fn(at, 1)
		return nil
	}
	d, err := time.Parse("2006-01-02", key)
	if err != nil {
		return fmt.Errorf("analytics: unexpected day %q: %w", key, err)
	}
	day := func(shift int) time.Time { return time.Date(d.Year(), d.Month(), d.Day()+shift, 0, 0, 0, 0, loc) }
	if p.daily {
		fn(day(p.shift), 1)
		return nil
	}
	fn(day(p.shift), -1)
	fn(day(p.into), 1)
	return nil
}
