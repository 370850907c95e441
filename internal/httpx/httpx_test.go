package httpx_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
)

func TestClassify(t *testing.T) {
	kinds := []struct {
		kind   apperr.Kind
		status int
	}{
		{apperr.KindInvalid, 400},
		{apperr.KindUnauthorized, 401},
		{apperr.KindForbidden, 403},
		{apperr.KindNotFound, 404},
		{apperr.KindConflict, 409},
		{apperr.KindTooLarge, 413},
		{apperr.KindUnsupported, 415},
		{apperr.KindTooMany, 429},
		{apperr.KindUnavailable, 503},
	}
	for _, k := range kinds {
		in := &apperr.Error{Kind: k.kind, Code: "c", Message: "m", Field: "f"}
		for _, err := range []error{in, fmt.Errorf("context: %w", in)} {
			status, e := httpx.Classify(err)
			if status != k.status || e != in {
				t.Errorf("Classify(%v) = %d %+v, want %d and the error itself", err, status, e, k.status)
			}
		}
	}

	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"no rows", sql.ErrNoRows, 404, "not_found"},
		{"wrapped no rows", fmt.Errorf("program.Program: %w", sql.ErrNoRows), 404, "not_found"},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413, "too_large"},
		{"plain error", errors.New("pq: password authentication failed for user secret-user"), 500, "internal"},
		{"wrapped plain", fmt.Errorf("x: %w", errors.New("dial tcp 10.0.0.1:5432")), 500, "internal"},
		{"apperr of no kind", &apperr.Error{Code: "weird", Message: "weird detail"}, 500, "internal"},
		{"apperr of unknown kind", &apperr.Error{Kind: 99, Code: "weird", Message: "weird detail"}, 500, "internal"},
	}
	for _, c := range cases {
		status, e := httpx.Classify(c.err)
		if status != c.status || e.Code != c.code || e.Message == "" {
			t.Errorf("%s: Classify = %d %+v, want %d %s", c.name, status, e, c.status, c.code)
		}
		if status == 500 {
			for _, leak := range []string{"secret-user", "password", "10.0.0.1", "weird"} {
				if strings.Contains(e.Message, leak) || strings.Contains(e.Field, leak) {
					t.Errorf("%s: 500 message leaks %q: %q", c.name, leak, e.Message)
				}
			}
		}
	}
}

func TestJSONWritesErrors(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cases := []struct {
		err    error
		status int
		body   string
		logged bool
	}{
		{apperr.Invalid("email", "must be an email address"), 400,
			`{"error":{"code":"invalid","message":"must be an email address","field":"email"}}`, false},
		{apperr.NotFound("program"), 404, `{"error":{"code":"not_found","message":"program not found"}}`, false},
		{apperr.Conflict("duplicate", "code", "is <taken>"), 409,
			`{"error":{"code":"duplicate","message":"is <taken>","field":"code"}}`, false},
		{errors.New("disk on fire at /var/lib/x"), 500,
			`{"error":{"code":"internal","message":"internal error; it has been logged"}}`, true},
	}
	for _, c := range cases {
		logs.Reset()
		h := httpx.JSON(log, func(w http.ResponseWriter, r *http.Request) error { return c.err })
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		if rec.Code != c.status || strings.TrimSpace(rec.Body.String()) != c.body {
			t.Errorf("%v: %d %s, want %d %s", c.err, rec.Code, rec.Body, c.status, c.body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
		}
		if got := strings.Contains(logs.String(), c.err.Error()); got != c.logged {
			t.Errorf("%v: logged = %v, want %v: %s", c.err, got, c.logged, logs.String())
		}
	}

	// A handler that succeeds writes its own response untouched.
	h := httpx.JSON(log, func(w http.ResponseWriter, r *http.Request) error {
		httpx.WriteJSON(w, http.StatusCreated, map[string]string{"a": "<b>"})
		return nil
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 201 || strings.TrimSpace(rec.Body.String()) != `{"a":"<b>"}` {
		t.Errorf("success: %d %s", rec.Code, rec.Body)
	}
}

// Inner is embedded by outer, as the API embeds domain types in its inputs.
type Inner struct {
	X    int    `json:"x"`
	Name string `json:"name"`
}

type outer struct {
	*Inner
	Y     int `json:"y"`
	Named struct {
		Inner
		Z bool `json:"z"`
	} `json:"named"`
	Tagged Inner               `json:"tagged"`
	List   []struct{ V int }   `json:"list"`
	Map    map[string]Inner    `json:"map"`
	Plain  int                 // no tag: JSON calls it Plain
	Opts   *struct{ Q int8 }   `json:"opts,omitempty"`
	Skip   string              `json:"-"`
	Rate   *int                `json:"rate"`
	Any    any                 `json:"any"`
	Raw    json.RawMessage     `json:"raw"`
	Deep   struct{ In *Inner } `json:"deep"`
}

func TestUnmarshal(t *testing.T) {
	cases := []struct {
		body    string
		field   string // "" and msg "" for no error
		message string // a part of the message
	}{
		{`{"x":1,"y":2,"name":"n","named":{"x":3,"z":true},"tagged":{"x":1},"list":[{"V":1}],"map":{"k":{"x":1}},"Plain":1,"rate":null,"any":[1],"raw":{"a":1}}`, "", ""},
		{"  {}\n\t ", "", ""},
		{`{"x":"1"}`, "x", "must be a JSON int, not string"},
		{`{"name":5}`, "name", "must be a JSON string, not number"},
		{`{"y":1.5}`, "y", "must be a JSON int, not number"},
		{`{"named":{"x":true}}`, "named.x", "must be a JSON int, not bool"},
		{`{"named":{"z":"yes"}}`, "named.z", "must be a JSON bool, not string"},
		{`{"tagged":{"x":"1"}}`, "tagged.x", "must be a JSON int"},
		{`{"list":[{"V":"1"}]}`, "list.V", "must be a JSON int"},
		{`{"list":{}}`, "list", "not object"},
		{`{"map":{"k":{"x":[]}}}`, "map.x", "must be a JSON int"},
		{`{"Plain":"1"}`, "Plain", "must be a JSON int"},
		{`{"opts":{"Q":300}}`, "opts.Q", "must be a JSON int8"},
		{`{"rate":"10"}`, "rate", "must be a JSON int"},
		{`{"deep":{"In":{"x":"1"}}}`, "deep.In.x", "must be a JSON int"},
		{`[]`, "", "not array"},
		{`{"nope":1}`, "nope", "unknown field"},
		{`{"Skip":"x"}`, "Skip", "unknown field"},
		{`{"named":{"nope":1}}`, "nope", "unknown field"},
		{``, "", "empty body"},
		{`   `, "", "empty body"},
		{`{"x":`, "", "malformed JSON"},
		{`{"x":1,}`, "", "malformed JSON at byte 8"},
		{`{'x':1}`, "", "malformed JSON at byte 2"},
		{`{} x`, "", "unexpected data after the JSON object"},
		{`{}}`, "", "unexpected data after the JSON object"},
		{`{}]`, "", "unexpected data after the JSON object"},
		{`{}{}`, "", "unexpected data after the JSON object"},
		{`{} 1`, "", "unexpected data after the JSON object"},
	}
	for _, c := range cases {
		var v outer
		err := httpx.Unmarshal([]byte(c.body), &v)
		if c.message == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindInvalid || e.Code != "invalid" {
			t.Errorf("%s: error %#v, want an invalid apperr", c.body, err)
			continue
		}
		if e.Field != c.field || !strings.Contains(e.Message, c.message) {
			t.Errorf("%s: field %q message %q, want field %q message with %q", c.body, e.Field, e.Message, c.field, c.message)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		S string `json:"s"`
	}
	exactly := `{"s":"` + strings.Repeat("x", httpx.MaxBody-8) + `"}`
	if len(exactly) != httpx.MaxBody {
		t.Fatalf("test body is %d bytes", len(exactly))
	}
	cases := []struct {
		name, ct, body string
		kind           apperr.Kind // 0: accepted
	}{
		{"json", "application/json", `{"s":"a"}`, 0},
		{"charset", "application/json; charset=utf-8", `{"s":"a"}`, 0},
		{"upper case", "APPLICATION/JSON", `{"s":"a"}`, 0},
		{"+json", "application/merge-patch+json", `{"s":"a"}`, 0},
		{"exactly the limit", "application/json", exactly, 0},
		{"one byte over", "application/json", exactly + " ", apperr.KindTooLarge},
		{"far over", "application/json", exactly + strings.Repeat(" ", 1<<20), apperr.KindTooLarge},
		{"no content type", "", `{"s":"a"}`, apperr.KindUnsupported},
		{"text", "text/plain", `{"s":"a"}`, apperr.KindUnsupported},
		{"form", "application/x-www-form-urlencoded", `s=a`, apperr.KindUnsupported},
		{"garbled type", "application/json; charset", `{"s":"a"}`, apperr.KindUnsupported},
		{"bad json", "application/json", `{"s":}`, apperr.KindInvalid},
	}
	for _, c := range cases {
		req := httptest.NewRequest("POST", "/x", strings.NewReader(c.body))
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		var v body
		err := httpx.DecodeJSON(httptest.NewRecorder(), req, &v)
		if c.kind == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !apperr.Is(err, c.kind) {
			t.Errorf("%s: error %v, want kind %d", c.name, err, c.kind)
			continue
		}
		if status, _ := httpx.Classify(err); c.kind == apperr.KindTooLarge && status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status %d", c.name, status)
		}
	}
}

func TestWrap(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	m := httpx.NewMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /made", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	mux.HandleFunc("GET /empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) })
	h := httpx.Wrap(log, m, mux)

	for _, rq := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/ok/1", 200}, {"GET", "/ok/2", 200}, {"POST", "/made", 201}, {"GET", "/empty", 200},
		{"GET", "/panic", 500}, {"GET", "/fail", 502}, {"GET", "/nowhere", 404}, {"DELETE", "/made", 405},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(rq.method, rq.path, nil))
		if rec.Code != rq.status {
			t.Errorf("%s %s: %d, want %d", rq.method, rq.path, rec.Code, rq.status)
		}
	}
	counts, series := map[string]float64{}, 0
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetName() {
			case "affiliated_http_requests_total":
				counts[labels["route"]+" "+labels["status"]] = m.GetCounter().GetValue()
			case "affiliated_http_request_duration_seconds":
				series++
			}
		}
	}
	want := map[string]float64{
		"GET /empty 200": 1, "GET /fail 502": 1, "GET /ok/{id} 200": 2, "GET /panic 500": 1,
		"POST /made 201": 1, "unmatched 404": 1, "unmatched 405": 1,
	}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("request counts %v, want %v", counts, want)
	}
	if series != 6 {
		t.Errorf("%d latency series, want one per route (6)", series)
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "status=502") {
		t.Errorf("panic and 5xx not logged: %s", logs.String())
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := httpx.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for k, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
}
