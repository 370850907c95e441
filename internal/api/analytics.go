package api

import (
	"net/http"

	"affiliated/internal/analytics"
	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
	"affiliated/internal/money"
)

func (a *API) analyticsRoutes(h func(string, httpx.HandlerFunc)) {
	h("GET /api/v1/analytics/overview", a.analyticsOverview)
	h("GET /api/v1/analytics/top-affiliates", a.analyticsTopAffiliates)
	h("GET /api/v1/analytics/top-referrers", a.analyticsBreakdown(analytics.DimReferrerHost))
	h("GET /api/v1/analytics/top-landing-pages", a.analyticsBreakdown(analytics.DimLandingPath))
	h("GET /api/v1/analytics/devices", a.analyticsBreakdown(analytics.DimDevice))
}

// analyticsQuery reads the parameters every report shares: from, to, tz
// (see rangeParams), interval, program_id and affiliate_id, and checks
// that the program and the affiliate exist.
func (a *API) analyticsQuery(r *http.Request) (analytics.Query, error) {
	var q analytics.Query
	var err error
	if q.From, q.To, q.Loc, err = rangeParams(r); err != nil {
		return q, err
	}
	q.Interval = r.URL.Query().Get("interval")
	if q.ProgramID, err = queryInt64(r, "program_id"); err != nil {
		return q, err
	}
	if q.AffiliateID, err = queryInt64(r, "affiliate_id"); err != nil {
		return q, err
	}
	if q.ProgramID != 0 {
		if _, err := a.Programs.Program(r.Context(), q.ProgramID); apperr.Is(err, apperr.KindNotFound) {
			return q, apperr.Invalid("program_id", "no program with id %d", q.ProgramID)
		} else if err != nil {
			return q, err
		}
	}
	if q.AffiliateID != 0 {
		if _, err := a.Programs.Affiliate(r.Context(), q.AffiliateID); apperr.Is(err, apperr.KindNotFound) {
			return q, apperr.Invalid("affiliate_id", "no affiliate with id %d", q.AffiliateID)
		} else if err != nil {
			return q, err
		}
	}
	return q, nil
}

// wantCSV reads ?format=: json (the default) or csv.
func wantCSV(r *http.Request) (bool, error) {
	switch r.URL.Query().Get("format") {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	}
	return false, apperr.Invalid("format", "must be json or csv")
}

// limitParam reads ?limit= (0 when absent: the report's default).
func limitParam(r *http.Request) (int, error) {
	n, err := queryInt64(r, "limit")
	if err != nil {
		return 0, err
	}
	if n > analytics.MaxLimit {
		return 0, apperr.Invalid("limit", "must be at most %d", analytics.MaxLimit)
	}
	return int(n), nil
}

func (a *API) analyticsOverview(w http.ResponseWriter, r *http.Request) error {
	asCSV, err := wantCSV(r)
	if err != nil {
		return err
	}
	q, err := a.analyticsQuery(r)
	if err != nil {
		return err
	}
	o, err := a.Analytics.Overview(r.Context(), q)
	if err != nil {
		return err
	}
	if asCSV {
		return writeCSV(w, "overview", o.From, o.To, overviewCSV(o))
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (a *API) analyticsTopAffiliates(w http.ResponseWriter, r *http.Request) error {
	asCSV, err := wantCSV(r)
	if err != nil {
		return err
	}
	q, err := a.analyticsQuery(r)
	if err != nil {
		return err
	}
	tq := analytics.TopQuery{Query: q, By: r.URL.Query().Get("by")}
	if cur := r.URL.Query().Get("currency"); cur != "" {
		if tq.Currency, err = money.ParseCurrency(cur); err != nil {
			return apperr.Invalid("currency", "must be an ISO 4217 code like USD")
		}
	}
	if tq.Limit, err = limitParam(r); err != nil {
		return err
	}
	top, err := a.Analytics.TopAffiliates(r.Context(), tq)
	if err != nil {
		return err
	}
	if asCSV {
		return writeCSV(w, "top-affiliates", top.From, top.To, topAffiliatesCSV(top))
	}
	httpx.WriteJSON(w, http.StatusOK, top)
	return nil
}

func (a *API) analyticsBreakdown(dim string) httpx.HandlerFunc {
	name := map[string]string{
		analytics.DimReferrerHost: "top-referrers",
		analytics.DimLandingPath:  "top-landing-pages",
		analytics.DimDevice:       "devices",
	}[dim]
	return func(w http.ResponseWriter, r *http.Request) error {
		asCSV, err := wantCSV(r)
		if err != nil {
			return err
		}
		q, err := a.analyticsQuery(r)
		if err != nil {
			return err
		}
		limit, err := limitParam(r)
		if err != nil {
			return err
		}
		rep, err := a.Analytics.Breakdown(r.Context(), q, dim, limit)
		if err != nil {
			return err
		}
		if asCSV {
			return writeCSV(w, name, rep.From, rep.To, breakdownCSV(rep))
		}
		httpx.WriteJSON(w, http.StatusOK, rep)
		return nil
	}
}
