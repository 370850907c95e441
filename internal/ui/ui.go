// Package ui is what the server-rendered surfaces share: the page layout,
// the stylesheet and the little script, sign-in by one-time code with
// sessions and CSRF protection, and helpers for charts (server-side SVG),
// CSV downloads, pagination and date ranges. The affiliate portal
// (internal/ui/portal) is built on it; the owner console is built the same way.
//
// # Adding a surface (the owner console, say)
//
// 1. Templates: an embed.FS with one file per page, each defining
// "content" (the page body: its <h1>, then {{template "messages" .}}).
// Files named _*.html hold the surface's own partials. The shared layout
// wraps every page, and the shared pages (signin, signin_code,
// signin_link, setup, error) and partials (messages, csrf, pager, chart,
// range) come with it; Funcs lists the template functions:
//
//	//go:embed templates/*.html
//	var templates embed.FS
//	r, err := ui.NewRenderer(templates, "templates/*.html", nil)
//
// 2. A Surface names the app and its navigation:
//
//	s := &ui.Surface{Name: "Owner console", Prefix: "/admin", Renderer: r, Log: log,
//		Secure: https, Nav: []ui.NavItem{{Key: "overview", Label: "Overview", Href: "/admin"}, …}}
//
// 3. A SignIn for the kind of principal, with a Load that turns a session
// into the principal (an error of kind NotFound or Forbidden ends the session):
//
//	in := &ui.SignIn[*auth.Owner]{Surface: s, Kind: auth.KindOwner, Codes: codes,
//		Sessions: sessions, Cookie: "aff_admin", BaseURL: base, Owners: owners,
//		Load: func(ctx context.Context, id int64) (*auth.Owner, string, error) {
//			o, err := owners.Owner(ctx, id); if err != nil { return nil, "", err }; return o, o.Email, nil }}
//	in.Routes(mux) // GET/POST /admin/login, /admin/login/verify, /admin/login/link, /admin/logout, /admin/setup
//
// 4. Pages: every route goes through in.Page (signed in; POSTs CSRF-checked)
// or s.Public (no sign-in; POSTs CSRF-checked against a pre-session cookie).
// Both go through s.Handle, which sets the security headers
// (httpx.SecurityHeaders) and turns a returned error into an error page:
//
//	mux.Handle("GET /admin/programs", in.Page(func(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
//		return s.Render(w, r, http.StatusOK, "programs", &ui.View{Title: "Programs", Active: "programs", Data: …})
//	}))
//
// Forms that POST carry {{template "csrf" .CSRF}}. A handler returns
// apperr errors and the page says what they mean; someone else's id is
// apperr.NotFound, the same 404 as a missing one. Changes made in a Page
// are audited as "owner:EMAIL" (audit.Actor). Downloads use NewCSV,
// lists NewPager, period pickers ParseRange and the "range" partial.
// Pages must work without JavaScript: ui.js only adds copy buttons
// (button[data-copy]). The stylesheet and the script are served once, by
// Assets at AssetPrefix (/ui/).
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
)

//go:embed templates/*.html
var baseTemplates embed.FS

//go:embed assets/*
var assets embed.FS

// NavItem is one link of a surface's main navigation.
type NavItem struct {
	Key   string // matched against View.Active
	Label string
	Href  string
}

// View is what every page template receives. The page's own data is in
// Data; the rest is filled by Surface.Render.
type View struct {
	Title  string // the page's title, and usually its <h1>
	Active string // the NavItem.Key of this page
	Flash  string // a success message
	Error  string // a page-level error message
	Data   any

	// Filled by Render.
	App    string // the surface's name
	Home   string // the surface's home URL
	Nav    []NavItem
	User   string // who is signed in, "" when nobody
	CSRF   string // the token every POST form carries
	Logout string // where the sign-out form posts
}

// Renderer holds the parsed page templates: each page is the shared layout
// plus the page's file.
type Renderer struct {
	pages map[string]*template.Template
}

// NewRenderer parses the shared layout and pages, then the files of fsys
// matching pattern: a file whose name starts with "_" holds partials
// (named templates every page of the surface can use); any other is a
// page named after its file ("templates/home.html" is "home"). funcs are
// added to the shared ones (see Funcs).
func NewRenderer(fsys fs.FS, pattern string, funcs template.FuncMap) (*Renderer, error) {
	all := Funcs()
	for k, v := range funcs {
		all[k] = v
	}
	base, err := template.New("layout.html").Funcs(all).ParseFS(baseTemplates, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	var pages []string
	if fsys != nil {
		files, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if strings.HasPrefix(path.Base(f), "_") {
				if base, err = base.ParseFS(fsys, f); err != nil {
					return nil, err
				}
				continue
			}
			pages = append(pages, f)
		}
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	add := func(fsys fs.FS, f string) error {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if _, dup := r.pages[name]; dup {
			return fmt.Errorf("ui: two pages named %q", name)
		}
		t, err := template.Must(base.Clone()).ParseFS(fsys, f)
		if err != nil {
			return err
		}
		r.pages[name] = t
		return nil
	}
	shared, _ := fs.Glob(baseTemplates, "templates/*.html")
	for _, f := range shared {
		if n := path.Base(f); n == "layout.html" || n == "partials.html" {
			continue
		}
		if err := add(baseTemplates, f); err != nil {
			return nil, err
		}
	}
	for _, f := range pages {
		if err := add(fsys, f); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Surface is one server-rendered application: the portal or the console.
type Surface struct {
	Name     string // "Affiliate portal"
	Prefix   string // "/portal": its pages live under it
	Nav      []NavItem
	Renderer *Renderer
	Log      *slog.Logger
	// Secure sets the Secure attribute on cookies (the base URL is https).
	Secure bool
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
}

type ctxKey int

const (
	csrfKey ctxKey = iota
	userKey
	principalKey
)

func withCSRF(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey, token)
}

// CSRFFrom returns the CSRF token of the request's page, "" outside Page and Public.
func CSRFFrom(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey).(string)
	return s
}

// Render writes the page name with v, filling the surface's parts of v.
// It renders into a buffer first, so a template error becomes a clean 500.
func (s *Surface) Render(w http.ResponseWriter, r *http.Request, status int, name string, v *View) error {
	t := s.Renderer.pages[name]
	if t == nil {
		return fmt.Errorf("ui: no page %q", name)
	}
	if v == nil {
		v = &View{}
	}
	v.App, v.Home, v.Nav, v.Logout = s.Name, s.Prefix, s.Nav, s.Prefix+"/logout"
	v.CSRF = CSRFFrom(r.Context())
	v.User, _ = r.Context().Value(userKey).(string)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("ui: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Handle adapts a handler that may fail: it sets the security headers
// (httpx.SecurityHeaders), and an error becomes an error page with the
// status its kind maps to (httpx.Classify); 5xx are logged.
func (s *Surface) Handle(h httpx.HandlerFunc) http.Handler {
	return httpx.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.Fail(w, r, err)
		}
	}))
}

// Fail writes err as an error page.
func (s *Surface) Fail(w http.ResponseWriter, r *http.Request, err error) {
	status, e := httpx.Classify(err)
	if status >= 500 {
		s.Log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	title := http.StatusText(status)
	msg := e.Message
	if status == http.StatusNotFound {
		title, msg = "Not found", "There is nothing here. It may have moved, or it belongs to someone else."
	}
	if rerr := s.Render(w, r, status, "error", &View{Title: title, Error: msg}); rerr != nil {
		s.Log.Error("error page failed", "err", rerr)
		http.Error(w, msg, status)
	}
}

// NotFound is the handler for unknown paths under the surface's prefix.
func (s *Surface) NotFound() http.Handler {
	return s.Handle(func(w http.ResponseWriter, r *http.Request) error { return apperr.NotFound("page") })
}

// assetVersion is a content hash per asset, for cache-busting URLs.
func assetVersion(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:4])
}

// AssetPrefix is where the shared stylesheet and script are served.
const AssetPrefix = "/ui/"

// Assets serves the embedded stylesheet and script under AssetPrefix. A
// URL with the right ?v= is cached for a year: its content never changes.
func Assets() http.Handler {
	versions := map[string]string{}
	entries, _ := fs.ReadDir(assets, "assets")
	for _, e := range entries {
		versions[e.Name()] = assetVersion(e.Name())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, AssetPrefix)
		v, ok := versions[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, _ := assets.ReadFile("assets/" + name)
		switch path.Ext(name) {
		case ".css":
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
		case ".js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		if r.URL.Query().Get("v") == v {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(b)
	})
}

// errField returns the field an error is about, "" when none.
func errField(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Field
	}
	return ""
}

// Message is the text of err to show people: the domain's message for
// errors they can act on, a generic one otherwise.
func Message(err error) string {
	_, e := httpx.Classify(err)
	return e.Message
}
