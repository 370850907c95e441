package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

// TestOpenAPIServedByTheServer: the whole application serves the document
// without a token, and answers every operation it lists from a route of
// its own, not from the catch-all "no such endpoint" (which would mean the
// server leaves out a route that the API's own route table has, e.g. when
// an optional service is not wired).
func TestOpenAPIServedByTheServer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		r := app.DoWith("GET", "/api/v1/openapi.json", nil, http.Header{})
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET /api/v1/openapi.json without a token: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
		var doc struct {
			OpenAPI string                                `json:"openapi"`
			Paths   map[string]map[string]json.RawMessage `json:"paths"`
		}
		r.JSON(t, &doc)
		if doc.OpenAPI != "3.1.0" || len(doc.Paths) < 10 {
			t.Fatalf("served document: openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
		}
		// Path parameters get an id that does not exist: handlers answer
		// 404 or 400 of their own, and change nothing.
		param := regexp.MustCompile(`\{[^}]+\}`)
		n := 0
		for path, ops := range doc.Paths {
			for method := range ops {
				m := strings.ToUpper(method)
				if m != "GET" && m != "POST" && m != "PATCH" && m != "DELETE" && m != "PUT" {
					continue
				}
				n++
				var body any
				if m != "GET" && m != "DELETE" {
					body = "{}"
				}
				res := app.Do(m, param.ReplaceAllString(path, "987654321"), body)
				if res.Status == http.StatusMethodNotAllowed {
					t.Errorf("%s %s: 405: the server has no such route", m, path)
					continue
				}
				if res.Status == http.StatusNotFound {
					var e struct{ Error struct{ Message string } }
					_ = json.Unmarshal(res.Body, &e)
					if strings.HasPrefix(e.Error.Message, "no such endpoint") {
						t.Errorf("%s %s: the server has no such route: %s", m, path, res.Body)
					}
				}
			}
		}
		if n < 40 {
			t.Errorf("only %d operations documented", n)
		}
	})
}
