// Package servertest starts the whole application in-process on a fresh
// database, for end-to-end tests of any surface.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"affiliated/internal/config"
	"affiliated/internal/db"
	"affiliated/internal/server"
)

// App is a running server.
type App struct {
	*server.Server
	URL   string // base URL, e.g. http://127.0.0.1:41234
	Token string // an API token
	t     testing.TB
}

// Start runs a server on d with the default configuration, changed by
// args (flags as on the command line, e.g. "--cookie-domain=example.com").
// It stops at the end of the test.
func Start(t testing.TB, d *db.DB, args ...string) *App {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	all := append([]string{"--addr", ln.Addr().String(), "--base-url", base}, args...)
	env := func(string) string { return "" }
	cfg, err := config.Load("serve", all, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(cfg, d, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	secret, _, err := srv.Tokens.Create(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return &App{Server: srv, URL: base, Token: secret, t: t}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it cannot.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Error returns error.code and error.field of a JSON error body.
func (r *Response) Error(t testing.TB) (code, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	r.JSON(t, &e)
	if e.Error.Message == "" {
		t.Fatalf("error body without a message: %s", r.Body)
	}
	return e.Error.Code, e.Error.Field
}

// Client never follows redirects, so tests see the 302s.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Do sends a request with the API token; body may be nil, a []byte, a
// string, or a value marshalled to JSON.
func (a *App) Do(method, path string, body any) *Response {
	a.t.Helper()
	return a.DoWith(method, path, body, http.Header{"Authorization": {"Bearer " + a.Token}})
}

// DoWith sends a request with exactly the given headers (plus
// Content-Type: application/json for a JSON body, unless set).
func (a *App) DoWith(method, path string, body any, h http.Header) *Response {
	a.t.Helper()
	var rd io.Reader
	isJSON := false
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case url.Values:
		rd = strings.NewReader(b.Encode())
		if h.Get("Content-Type") == "" {
			h = h.Clone()
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd, isJSON = bytes.NewReader(j), true
	}
	req, err := http.NewRequest(method, a.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if (isJSON || rd != nil) && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return &Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// MustDo is Do that fails the test unless the status is want.
func (a *App) MustDo(want int, method, path string, body any, out any) *Response {
	a.t.Helper()
	r := a.Do(method, path, body)
	if r.Status != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if out != nil {
		r.JSON(a.t, out)
	}
	return r
}
