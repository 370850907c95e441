// Package api is the /api/v1 JSON surface. It decodes requests, calls the
// domain, and writes JSON; errors are mapped to statuses by internal/httpx.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"affiliated/internal/analytics"
	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/httpx"
	"affiliated/internal/ledger"
	"affiliated/internal/notify"
	"affiliated/internal/outreach"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// API holds what the handlers need.
type API struct {
	Log      *slog.Logger
	Programs *program.Store
	Tokens   *auth.Tokens
	Stats    *tracking.Stats
	Ledger   *ledger.Ledger
	Notify   *notify.Service   // nil: the one the ledger announces through
	Outreach *outreach.Service // nil: no outreach routes

	// Counts, when set, returns an affiliate's running click and unique
	// visitor counts (from the tracking rollups).
	Counts func(ctx context.Context, affiliateID int64) (clicks, uniques int64, err error)

	Analytics *analytics.Service
}

// Mux is what Routes registers on: an *http.ServeMux. Every route goes
// through Handle, so the OpenAPI test sees each one, however registered.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// Routes registers every /api/v1 route on mux.
func (a *API) Routes(mux Mux) {
	h := func(pattern string, fn httpx.HandlerFunc) {
		mux.Handle(pattern, a.authed(fn))
	}
	h("GET /api/v1/programs", a.listPrograms)
	h("POST /api/v1/programs", a.createProgram)
	h("GET /api/v1/programs/{id}", a.getProgram)
	h("PATCH /api/v1/programs/{id}", a.patchProgram)

	h("GET /api/v1/affiliates", a.listAffiliates)
	h("POST /api/v1/affiliates", a.createAffiliate)
	h("GET /api/v1/affiliates/{id}", a.getAffiliate)
	h("PATCH /api/v1/affiliates/{id}", a.patchAffiliate)

	h("GET /api/v1/affiliates/{id}/stats", a.affiliateStats)
	h("GET /api/v1/clicks", a.listClicks)

	a.ledgerRoutes(h)
	a.approvalRoutes(h)
	a.notifyRoutes(h)
	a.analyticsRoutes(h)
	a.openapiRoutes(mux)
	a.outreachRoutes(h)

	h("GET /api/v1/audit", a.listAudit)
	mux.Handle("/api/", httpx.JSON(a.Log, func(w http.ResponseWriter, r *http.Request) error {
		return apperr.New(apperr.KindNotFound, "not_found", "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
}

// authed checks the bearer token before fn runs and records the token's
// name as the actor of any change fn makes.
func (a *API) authed(fn httpx.HandlerFunc) http.Handler {
	return httpx.JSON(a.Log, func(w http.ResponseWriter, r *http.Request) error {
		h := r.Header.Get("Authorization")
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="affiliated"`)
			return apperr.New(apperr.KindUnauthorized, "unauthorized", "missing Authorization: Bearer <token> header")
		}
		tok, err := a.Tokens.Check(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="affiliated", error="invalid_token"`)
			return err
		}
		ctx := audit.WithActor(r.Context(), "token:"+tok.Name)
		return fn(w, r.WithContext(ctx))
	})
}

// pathID parses the {id} path value.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.NotFound(name)
	}
	return id, nil
}

// queryInt64 parses an optional integer query parameter.
func queryInt64(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, apperr.Invalid(name, "must be a non-negative whole number")
	}
	return n, nil
}

// page is the shape of every list response.
type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}
