package api

import (
	"net/http"

	"affiliated/internal/httpx"
	"affiliated/internal/program"
)

func (a *API) listPrograms(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.Programs.Programs(r.Context())
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []*program.Program{}
	}
	httpx.WriteJSON(w, http.StatusOK, page[*program.Program]{Data: ps})
	return nil
}

func (a *API) createProgram(w http.ResponseWriter, r *http.Request) error {
	p := program.NewProgram()
	if err := httpx.DecodeJSON(w, r, p); err != nil {
		return err
	}
	p.ID = 0
	if err := a.Programs.CreateProgram(r.Context(), p); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, p)
	return nil
}

func (a *API) getProgram(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.Programs.Program(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

// patchProgram applies the fields present in the body to the stored program.
func (a *API) patchProgram(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.Programs.Program(r.Context(), id)
	if err != nil {
		return err
	}
	created := p.CreatedAt
	if err := httpx.DecodeJSON(w, r, p); err != nil {
		return err
	}
	p.ID, p.CreatedAt = id, created // read-only
	if err := a.Programs.UpdateProgram(r.Context(), p); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}
