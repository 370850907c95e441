package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"affiliated/internal/analytics"
	"affiliated/internal/audit"
	"affiliated/internal/ledger"
	"affiliated/internal/notify"
	"affiliated/internal/outreach"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// recorder is a ServeMux that notes every pattern registered on it.
type recorder struct {
	*http.ServeMux
	patterns []string
}

func (m *recorder) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// catchAll is the one pattern without a method: the JSON 404 for unknown
// paths under /api/, which the document does not describe.
const catchAll = "/api/"

// routes returns every pattern Routes registers on its mux, with every
// optional service present so that no route is left out.
func routes(t *testing.T) ([]string, *http.ServeMux) {
	t.Helper()
	a := &API{Notify: &notify.Service{}, Outreach: &outreach.Service{}}
	mux := &recorder{ServeMux: http.NewServeMux()}
	a.Routes(mux)
	if len(mux.patterns) < 10 {
		t.Fatalf("only %d routes recorded", len(mux.patterns))
	}
	return mux.patterns, mux.ServeMux
}

type openapiDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas    map[string]schema          `json:"schemas"`
		Parameters map[string]json.RawMessage `json:"parameters"`
	} `json:"components"`
}

type schema struct {
	Properties map[string]json.RawMessage `json:"properties"`
}

type operation struct {
	OperationID string            `json:"operationId"`
	Parameters  []json.RawMessage `json:"parameters"`
	Security    *[]any            `json:"security"`
	Responses   map[string]struct {
		Description string `json:"description"`
		Ref         string `json:"$ref"`
	} `json:"responses"`
}

type parameter struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

func loadDoc(t *testing.T) *openapiDoc {
	t.Helper()
	var d openapiDoc
	if err := json.Unmarshal(openapiJSON, &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", d.OpenAPI)
	}
	return &d
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIListsEveryRoute fails when a route exists that the document
// lacks, or the document lists one that does not exist.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	patterns, _ := routes(t)
	doc := loadDoc(t)
	registered := map[string]bool{}
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if p == catchAll {
			continue
		}
		if !ok {
			t.Errorf("route %q has no method: the document cannot describe it", p)
			continue
		}
		registered[strings.ToLower(method)+" "+path] = true
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if slices.Contains(methods, m) {
				documented[m+" "+path] = true
			}
		}
	}
	for r := range registered {
		if !documented[r] {
			t.Errorf("route %s is missing from internal/api/openapi.json", strings.ToUpper(r[:strings.IndexByte(r, ' ')])+r[strings.IndexByte(r, ' '):])
		}
	}
	for r := range documented {
		if !registered[r] {
			t.Errorf("openapi.json documents %s, which is not a route", r)
		}
	}
}

var pathParam = regexp.MustCompile(`\{([^}.]+)(\.\.\.)?\}`)

// TestOpenAPIIsConsistent checks what a client generator relies on: unique
// operation ids, declared path parameters, resolvable references, a
// success and an error response everywhere, and the token required on all
// but the document itself.
func TestOpenAPIIsConsistent(t *testing.T) {
	doc := loadDoc(t)
	var all any
	if err := json.Unmarshal(openapiJSON, &all); err != nil {
		t.Fatal(err)
	}
	checkRefs(t, all, all, "")
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for m, raw := range ops {
			if !slices.Contains(methods, m) {
				continue
			}
			var o operation
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatalf("%s %s: %v", m, path, err)
			}
			where := m + " " + path
			if o.OperationID == "" || ids[o.OperationID] != "" {
				t.Errorf("%s: operationId %q missing or already used by %s", where, o.OperationID, ids[o.OperationID])
			}
			ids[o.OperationID] = where
			declared := map[string]bool{}
			for _, rawp := range o.Parameters {
				var p parameter
				if err := json.Unmarshal(rawp, &p); err != nil {
					t.Fatal(err)
				}
				if p.Ref != "" {
					if err := json.Unmarshal(doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")], &p); err != nil {
						t.Fatalf("%s: parameter %s: %v", where, p.Ref, err)
					}
				}
				if p.In == "path" {
					if !p.Required {
						t.Errorf("%s: path parameter %s must be required", where, p.Name)
					}
					declared[p.Name] = true
				}
			}
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", where, m[1])
				}
				delete(declared, m[1])
			}
			for name := range declared {
				t.Errorf("%s: declares path parameter %s that the path lacks", where, name)
			}
			ok := false
			for code, r := range o.Responses {
				if r.Description == "" && r.Ref == "" {
					t.Errorf("%s: response %s has no description", where, code)
				}
				ok = ok || strings.HasPrefix(code, "2")
			}
			if !ok || o.Responses["default"].Ref == "" {
				t.Errorf("%s: needs a 2xx response and a default error response", where)
			}
			public := o.Security != nil && len(*o.Security) == 0
			if public != (path == "/api/v1/openapi.json") {
				t.Errorf("%s: public = %v; only the document itself is served without a token", where, public)
			}
			if !public && o.Responses["401"].Ref == "" {
				t.Errorf("%s: the 401 response is not documented", where)
			}
		}
	}
}

// checkRefs fails on a $ref that does not resolve in root.
func checkRefs(t *testing.T, root, v any, at string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		if r, ok := x["$ref"].(string); ok {
			var cur any = root
			for _, seg := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
				m, _ := cur.(map[string]any)
				cur = m[seg]
			}
			if cur == nil {
				t.Errorf("%s: $ref %s does not resolve", at, r)
			}
		}
		for k, e := range x {
			checkRefs(t, root, e, at+"/"+k)
		}
	case []any:
		for _, e := range x {
			checkRefs(t, root, e, at+"/[]")
		}
	}
}

// jsonFields returns the JSON names of t's fields, embedded structs flattened.
func jsonFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && tag == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out = append(out, tag)
	}
	return out
}

// TestOpenAPISchemasMatchTypes fails when a type the API writes gains or
// loses a JSON field that its schema does not follow.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := loadDoc(t)
	exact := map[string]any{
		"Program": program.Program{}, "Affiliate": affiliateOut{}, "Click": tracking.Click{}, "Series": tracking.Series{},
		"ConversionInput": conversionIn{}, "Order": ledger.Order{}, "OrderDetail": ledger.OrderDetail{}, "Refund": ledger.Refund{},
		"Delivery": ledger.Delivery{}, "Commission": ledger.Commission{}, "Balance": ledger.Balance{}, "Payout": ledger.Payout{},
		"PayoutLine": ledger.PayoutLine{}, "WebhookEndpoint": notify.Endpoint{}, "WebhookEndpointInput": notify.EndpointInput{},
		"OutboxMessage": notify.Message{}, "MailboxEntry": notify.MailboxEntry{}, "AnalyticsMoney": analytics.Money{},
		"AnalyticsStats": analytics.Stats{}, "Overview": analytics.Overview{}, "TopAffiliates": analytics.TopAffiliates{},
		"Breakdown": analytics.DimReport{}, "CampaignInput": outreach.Content{}, "Campaign": outreach.Campaign{},
		"CampaignWithHistory": campaignOut{}, "Transition": outreach.Transition{}, "Progress": outreach.Progress{},
		"Review": outreach.Review{}, "RecipientStatus": outreach.RecipientStatus{}, "PreviewLink": outreach.PreviewLink{},
		"Task": outreach.Task{}, "AuditEntry": audit.Entry{},
	}
	// Inputs may list fewer fields than the type accepts (read-only ones are ignored).
	subset := map[string]any{"ProgramInput": program.Program{}, "AffiliateInput": affiliateIn{}, "TaskInput": outreach.Task{},
		"CampaignPatch": campaignPatch{Content: &outreach.Content{}}}
	check := func(name string, v any, both bool) {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s is missing", name)
			return
		}
		fields := jsonFields(reflect.TypeOf(v))
		for _, f := range fields {
			if _, ok := s.Properties[f]; !ok && both {
				t.Errorf("schema %s lacks %q, which %T has", name, f, v)
			}
		}
		for p := range s.Properties {
			if !slices.Contains(fields, p) {
				t.Errorf("schema %s has %q, which %T does not", name, p, v)
			}
		}
	}
	for name, v := range exact {
		check(name, v, true)
	}
	for name, v := range subset {
		check(name, v, false)
	}
}

// TestOpenAPIServed: the document is served as is, without a token.
func TestOpenAPIServed(t *testing.T) {
	_, mux := routes(t)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") ||
		rec.Body.String() != string(openapiJSON) {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}
