package api

import (
	_ "embed"
	"net/http"
)

// openapiJSON describes every /api/v1 endpoint. It is written by hand;
// openapi_test.go fails when it and the route table disagree.
//
//go:embed openapi.json
var openapiJSON []byte

// openapiRoutes serves the document without a token: it holds no data, and
// tools (code generators, Swagger UI) fetch it before they have one.
func (a *API) openapiRoutes(mux Mux) {
	mux.Handle("GET /api/v1/openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(openapiJSON)
	}))
}
