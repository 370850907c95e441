package api

import (
	"net/http"
	"strconv"

	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
	"affiliated/internal/program"
)

// affiliateOut is an affiliate as the API shows it.
type affiliateOut struct {
	*program.Affiliate
	ReferralURL    string `json:"referral_url"`
	Clicks         int64  `json:"clicks"`
	UniqueVisitors int64  `json:"unique_visitors"`
}

// affiliateIn accepts a program slug besides program_id.
type affiliateIn struct {
	*program.Affiliate
	Program string `json:"program"`
	// Read-only fields of the output, accepted and ignored so a client can
	// send back what it read.
	ReferralURL    string `json:"referral_url"`
	Clicks         int64  `json:"clicks"`
	UniqueVisitors int64  `json:"unique_visitors"`
}

func (a *API) out(r *http.Request, af *program.Affiliate) (affiliateOut, error) {
	o := affiliateOut{Affiliate: af, ReferralURL: a.Programs.ReferralURL(af)}
	if a.Counts != nil {
		var err error
		if o.Clicks, o.UniqueVisitors, err = a.Counts(r.Context(), af.ID); err != nil {
			return o, err
		}
	}
	return o, nil
}

// resolveProgram fills ProgramID from a slug, or from the only program.
func (a *API) resolveProgram(r *http.Request, in *affiliateIn) error {
	if in.Program != "" {
		p, err := a.Programs.ProgramBySlug(r.Context(), in.Program)
		if err != nil {
			return apperr.Invalid("program", "no program with slug %q", in.Program)
		}
		in.ProgramID = p.ID
	}
	if in.ProgramID == 0 {
		ps, err := a.Programs.Programs(r.Context())
		if err != nil {
			return err
		}
		if len(ps) != 1 {
			return apperr.Invalid("program_id", "is required (or program, a slug) when there is not exactly one program")
		}
		in.ProgramID = ps[0].ID
	}
	return nil
}

func (a *API) createAffiliate(w http.ResponseWriter, r *http.Request) error {
	in := affiliateIn{Affiliate: program.NewAffiliate()}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	in.ID = 0
	if err := a.resolveProgram(r, &in); err != nil {
		return err
	}
	if err := a.Programs.CreateAffiliate(r.Context(), in.Affiliate); err != nil {
		return err
	}
	o, err := a.out(r, in.Affiliate)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, o)
	return nil
}

func (a *API) getAffiliate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	af, err := a.Programs.Affiliate(r.Context(), id)
	if err != nil {
		return err
	}
	o, err := a.out(r, af)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (a *API) patchAffiliate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	af, err := a.Programs.Affiliate(r.Context(), id)
	if err != nil {
		return err
	}
	created := af.CreatedAt
	in := affiliateIn{Affiliate: af}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Program != "" {
		if err := a.resolveProgram(r, &in); err != nil {
			return err
		}
	}
	af.ID, af.CreatedAt = id, created
	if err := a.Programs.UpdateAffiliate(r.Context(), af); err != nil {
		return err
	}
	o, err := a.out(r, af)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (a *API) listAffiliates(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := program.AffiliateFilter{Status: q.Get("status"), Query: q.Get("q")}
	var err error
	if f.ProgramID, err = queryInt64(r, "program_id"); err != nil {
		return err
	}
	if f.After, err = queryInt64(r, "cursor"); err != nil {
		return err
	}
	limit, err := queryInt64(r, "limit")
	if err != nil {
		return err
	}
	if limit == 0 || limit > 500 {
		limit = 100
	}
	f.Limit = int(limit)
	list, err := a.Programs.Affiliates(r.Context(), f)
	if err != nil {
		return err
	}
	res := page[affiliateOut]{Data: []affiliateOut{}}
	for _, af := range list {
		o, err := a.out(r, af)
		if err != nil {
			return err
		}
		res.Data = append(res.Data, o)
	}
	if len(list) == f.Limit {
		res.NextCursor = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	before, err := queryInt64(r, "cursor")
	if err != nil {
		return err
	}
	entries, err := a.Programs.Audit.List(r.Context(), before, 100)
	if err != nil {
		return err
	}
	res := page[any]{Data: []any{}}
	for _, e := range entries {
		res.Data = append(res.Data, e)
	}
	if len(entries) == 100 {
		res.NextCursor = strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}
