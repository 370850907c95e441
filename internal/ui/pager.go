package ui

import (
	"net/http"
	"net/url"
	"time"

	"affiliated/internal/apperr"
)

// Pager links the pages of a cursor-paginated list. The domain returns the
// cursor of the next page ("" on the last); the pager keeps every other
// query parameter (the filters), so paging never loses them.
type Pager struct {
	First string // the first page, "" when this is it
	Next  string // the next page, "" when this is the last
}

// NewPager builds the links for a list read with the cursor in query
// parameter param; next is the cursor the domain returned.
func NewPager(r *http.Request, param, next string) Pager {
	var p Pager
	q := r.URL.Query()
	if q.Get(param) != "" {
		q.Del(param)
		p.First = withQuery(r.URL.Path, q)
	}
	if next != "" {
		q.Set(param, next)
		p.Next = withQuery(r.URL.Path, q)
	}
	return p
}

// withQuery is path?query, or path alone when the query is empty.
func withQuery(path string, q url.Values) string {
	if e := q.Encode(); e != "" {
		return path + "?" + e
	}
	return path
}

// Range is a range of whole days chosen with the range picker: the last 7,
// 30 or 90 days, or custom dates. Days are UTC.
type Range struct {
	Key      string    // "7", "30", "90" or "custom"
	From, To time.Time // [From, To): midnights
	// FromDay and ToDay are the first and last day, for the date inputs.
	FromDay, ToDay string
}

// Days is the number of days in the range.
func (r Range) Days() int { return int(r.To.Sub(r.From).Hours() / 24) }

// RangeKeys are the choices of the range picker besides custom.
var RangeKeys = []string{"7", "30", "90"}

// MaxRangeDays bounds a custom range.
const MaxRangeDays = 366

// ParseRange reads range, from and to (YYYY-MM-DD) from a query. The
// default is def days ending today (the day of now, UTC).
func ParseRange(q url.Values, now time.Time, def string) (Range, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	key := q.Get("range")
	if key == "" {
		key = def
		if q.Get("from") != "" || q.Get("to") != "" {
			key = "custom"
		}
	}
	var r Range
	switch key {
	case "7", "30", "90":
		days := map[string]int{"7": 7, "30": 30, "90": 90}[key]
		r = Range{Key: key, From: today.AddDate(0, 0, -(days - 1)), To: today.AddDate(0, 0, 1)}
	case "custom":
		from, err := time.Parse("2006-01-02", q.Get("from"))
		if err != nil {
			return Range{}, apperr.Invalid("from", "choose a start date")
		}
		to := today
		if q.Get("to") != "" {
			if to, err = time.Parse("2006-01-02", q.Get("to")); err != nil {
				return Range{}, apperr.Invalid("to", "choose an end date")
			}
		}
		if to.Before(from) {
			return Range{}, apperr.Invalid("to", "the end date is before the start date")
		}
		if to.Sub(from) >= MaxRangeDays*24*time.Hour {
			return Range{}, apperr.Invalid("from", "choose at most %d days", MaxRangeDays)
		}
		r = Range{Key: key, From: from, To: to.AddDate(0, 0, 1)}
	default:
		return Range{}, apperr.Invalid("range", "choose 7, 30 or 90 days, or custom dates")
	}
	r.FromDay, r.ToDay = r.From.Format("2006-01-02"), r.To.AddDate(0, 0, -1).Format("2006-01-02")
	return r, nil
}
