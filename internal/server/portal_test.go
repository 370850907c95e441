package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/config"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/server"
	"affiliated/internal/server/servertest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSetupLink: with no owner, building the server logs a one-time link
// that makes its holder the first owner; with an owner, no link.
func TestSetupLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		start := func() string {
			cfg, err := config.Load("serve", []string{"--base-url", "https://aff.example"}, func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var log syncBuffer
			srv, err := server.New(cfg, d, slog.New(slog.NewTextHandler(&log, nil)))
			if err != nil {
				t.Fatal(err)
			}
			// Stop what New started: serve with a context that is done.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			stopped, cancel := context.WithCancel(ctx)
			cancel()
			if err := srv.Serve(stopped, ln); err != nil {
				t.Fatal(err)
			}
			return log.String()
		}
		out := start()
		m := regexp.MustCompile(`url="?https://aff\.example/admin/setup\?token=([a-z2-7]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no setup link in the log:\n%s", out)
		}
		owners := &auth.Owners{DB: d, Audit: &audit.Log{DB: d}}
		if err := owners.CheckSetup(ctx, m[1]); err != nil {
			t.Fatalf("the logged link does not work: %v", err)
		}
		if _, err := owners.Add(ctx, "boss@example.com"); err != nil {
			t.Fatal(err)
		}
		if out := start(); strings.Contains(out, "/admin/setup") {
			t.Fatalf("a setup link with an owner:\n%s", out)
		}
	})
}

// TestPortalSignInByEmail: the code travels through the outbox and a real
// SMTP server, ahead of other mail, and signs in.
func TestPortalSignInByEmail(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		smtp := smtptest.Start(t)
		app := servertest.Start(t, d, "--smtp="+smtp.URL())
		var p struct{ ID int64 }
		app.MustDo(http.StatusCreated, "POST", "/api/v1/programs", map[string]any{"name": "Course", "destination_url": "https://shop.example/"}, &p)
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{"program_id": p.ID, "email": "ann@example.com"}, nil)

		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(path string) string {
			res, err := c.Get(app.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return string(b)
		}
		post := func(path string, form url.Values) *http.Response {
			res, err := c.PostForm(app.URL+path, form)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("/portal/login"))[1]
		if res := post("/portal/login", url.Values{"csrf": {csrf}, "email": {"ann@example.com"}}); res.StatusCode != 200 {
			t.Fatalf("request code: %d", res.StatusCode)
		}
		msgs := smtp.WaitFor(1, 20*time.Second)
		m := msgs[0]
		code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(m.Text)
		link := regexp.MustCompile(`http://\S+/portal/login/link\?token=[a-z2-7]+`).FindString(m.Text)
		if code == "" || link == "" || !strings.Contains(m.HTML, code) || m.To[0] != "ann@example.com" {
			t.Fatalf("sign-in email: %q\n%s", m.Subject, m.Text)
		}
		if strings.Contains(m.Subject, code) {
			t.Fatalf("the code is in the subject, which the outbox keeps: %q", m.Subject)
		}
		res := post("/portal/login/verify", url.Values{"csrf": {csrf}, "email": {"ann@example.com"}, "code": {code}})
		if res.StatusCode != 303 || res.Header.Get("Location") != "/portal" {
			t.Fatalf("verify: %d %v", res.StatusCode, res.Header)
		}
		if !strings.Contains(get("/portal"), "ann@example.com") {
			t.Fatal("not signed in")
		}
		// The stylesheet and script are served.
		for _, a := range []string{"/ui/ui.css", "/ui/ui.js"} {
			res, err := http.Get(app.URL + a)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("%s: %v %v", a, res, err)
			}
			res.Body.Close()
		}
	})
}
