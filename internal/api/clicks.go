package api

import (
	"net/http"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
	"affiliated/internal/tracking"
)

// timeParam parses an RFC 3339 time or a YYYY-MM-DD date (midnight in loc).
func timeParam(r *http.Request, name string, loc *time.Location) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, apperr.Invalid(name, "must be an RFC 3339 time (2026-11-23T10:00:00Z) or a date (2026-11-23)")
}

// rangeParams reads from, to and tz; the default range is the last 30 days.
func rangeParams(r *http.Request) (from, to time.Time, loc *time.Location, err error) {
	loc = time.UTC
	if tz := r.URL.Query().Get("tz"); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return from, to, nil, apperr.Invalid("tz", "unknown time zone %q (use an IANA name like Europe/Rome)", tz)
		}
	}
	if from, err = timeParam(r, "from", loc); err != nil {
		return
	}
	if to, err = timeParam(r, "to", loc); err != nil {
		return
	}
	if to.IsZero() {
		to = time.Now().UTC()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	return from, to, loc, nil
}

func (a *API) affiliateStats(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.Programs.Affiliate(r.Context(), id); err != nil {
		return err
	}
	from, to, loc, err := rangeParams(r)
	if err != nil {
		return err
	}
	s, err := a.Stats.Series(r.Context(), tracking.SeriesQuery{
		AffiliateID: id, From: from, To: to, Interval: r.URL.Query().Get("interval"), Loc: loc,
	})
	if err != nil {
		return err
	}
	if a.Ledger != nil {
		if err := a.Ledger.AddSales(r.Context(), s, id, loc); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, s)
	return nil
}

func (a *API) listClicks(w http.ResponseWriter, r *http.Request) error {
	var q tracking.ClickQuery
	var err error
	if q.AffiliateID, err = queryInt64(r, "affiliate_id"); err != nil {
		return err
	}
	if q.ProgramID, err = queryInt64(r, "program_id"); err != nil {
		return err
	}
	if q.From, err = timeParam(r, "from", time.UTC); err != nil {
		return err
	}
	if q.To, err = timeParam(r, "to", time.UTC); err != nil {
		return err
	}
	limit, err := queryInt64(r, "limit")
	if err != nil {
		return err
	}
	q.Limit = int(min(limit, 1000))
	q.Cursor = r.URL.Query().Get("cursor")
	clicks, next, err := a.Stats.Clicks(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page[tracking.Click]{Data: clicks, NextCursor: next})
	return nil
}
