package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/httpx"
)

// SignIn is sign-in by one-time code for one kind of principal P (an
// affiliate for the portal, an owner for the console), and the gate every
// signed-in page goes through.
type SignIn[P any] struct {
	Surface  *Surface
	Kind     auth.Kind
	Codes    *auth.Codes
	Sessions *auth.Sessions
	Cookie   string // the session cookie's name; its Path is the surface's prefix
	BaseURL  string // absolute URL of the server, for magic links in emails
	// Owners, for the owner kind, serves the first owner's setup link at
	// {prefix}/setup.
	Owners *auth.Owners
	// Load returns the principal of a session and how the page header
	// names them. An error of kind NotFound or Forbidden ends the session
	// (a deleted or rejected principal).
	Load func(ctx context.Context, id int64) (P, string, error)
}

// signinData is what the sign-in pages show.
type signinData struct {
	Action string // the surface prefix
	Email  string
	Next   string
	Token  string
	Field  string // the field at fault
	Kind   auth.Kind
}

type sessionKey struct{}

// SessionFrom returns the session of a request that went through Page.
func SessionFrom(ctx context.Context) *auth.Session {
	s, _ := ctx.Value(sessionKey{}).(*auth.Session)
	return s
}

// Routes registers the sign-in routes under the surface's prefix.
func (a *SignIn[P]) Routes(mux *http.ServeMux) {
	p := a.Surface.Prefix
	mux.Handle("GET "+p+"/login", a.Surface.Public(a.loginPage))
	mux.Handle("POST "+p+"/login", a.Surface.Public(a.requestCode))
	mux.Handle("POST "+p+"/login/verify", a.Surface.Public(a.verify))
	mux.Handle("GET "+p+"/login/link", a.Surface.Public(a.linkPage))
	mux.Handle("POST "+p+"/login/link", a.Surface.Public(a.redeem))
	mux.Handle("POST "+p+"/logout", a.Page(a.logout))
	if a.Owners != nil && a.Kind == auth.KindOwner {
		mux.Handle("GET "+p+"/setup", a.Surface.Public(a.setupPage))
		mux.Handle("POST "+p+"/setup", a.Surface.Public(a.setup))
	}
}

// safeNext keeps a post-sign-in destination only when it is a path of this
// surface, so the sign-in form cannot become an open redirect.
func (a *SignIn[P]) safeNext(next string) string {
	p := a.Surface.Prefix
	if next == "" || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "//") ||
		!(next == p || strings.HasPrefix(next, p+"/") || strings.HasPrefix(next, p+"?")) ||
		strings.HasPrefix(next, p+"/login") || strings.HasPrefix(next, p+"/logout") {
		return p
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return p
	}
	return next
}

func (a *SignIn[P]) render(w http.ResponseWriter, r *http.Request, status int, page string, d *signinData, err error) error {
	d.Action, d.Kind = a.Surface.Prefix, a.Kind
	v := &View{Title: "Sign in", Data: d}
	if err != nil {
		st, e := httpx.Classify(err)
		if st >= 500 {
			return err
		}
		status, v.Error, d.Field = st, e.Message, e.Field
	}
	if r.URL.Query().Get("out") == "1" && page == "signin" && err == nil {
		v.Flash = "You are signed out."
	}
	return a.Surface.Render(w, r, status, page, v)
}

func (a *SignIn[P]) signedIn(r *http.Request) bool {
	c, err := r.Cookie(a.Cookie)
	if err != nil {
		return false
	}
	_, err = a.Sessions.Check(r.Context(), a.Kind, c.Value)
	return err == nil
}

func (a *SignIn[P]) loginPage(w http.ResponseWriter, r *http.Request) error {
	next := a.safeNext(r.URL.Query().Get("next"))
	if a.signedIn(r) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return a.render(w, r, http.StatusOK, "signin", &signinData{Next: next, Email: r.URL.Query().Get("email")}, nil)
}

// requestCode answers the same page whether or not the email belongs to
// someone: only a malformed email or a rate limit changes it.
func (a *SignIn[P]) requestCode(w http.ResponseWriter, r *http.Request) error {
	d := &signinData{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: a.safeNext(r.PostForm.Get("next"))}
	flow := ""
	if c, err := r.Cookie(PreCookie); err == nil {
		flow = c.Value
	}
	next := d.Next
	err := a.Codes.Request(r.Context(), auth.Request{
		Kind: a.Kind, Email: d.Email, IP: a.Surface.ClientIP(r), Flow: flow,
		Link: func(token string) string {
			q := url.Values{"token": {token}}
			if next != a.Surface.Prefix {
				q.Set("next", next)
			}
			return a.BaseURL + a.Surface.Prefix + "/login/link?" + q.Encode()
		},
	})
	if err != nil {
		return a.render(w, r, http.StatusOK, "signin", d, err)
	}
	if e, err := auth.NormalizeEmail(d.Email); err == nil {
		d.Email = e
	}
	return a.render(w, r, http.StatusOK, "signin_code", d, nil)
}

func (a *SignIn[P]) verify(w http.ResponseWriter, r *http.Request) error {
	d := &signinData{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: a.safeNext(r.PostForm.Get("next"))}
	id, err := a.Codes.Verify(r.Context(), a.Kind, d.Email, r.PostForm.Get("code"), a.Surface.ClientIP(r))
	if err != nil {
		return a.render(w, r, http.StatusOK, "signin_code", d, err)
	}
	return a.start(w, r, id, d.Next)
}

func (a *SignIn[P]) linkPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := &signinData{Token: q.Get("token"), Next: a.safeNext(q.Get("next"))}
	flow := ""
	if c, err := r.Cookie(PreCookie); err == nil {
		flow = c.Value
	}
	info, err := a.Codes.Peek(r.Context(), a.Kind, d.Token, flow)
	if err != nil {
		d.Token = ""
		return a.render(w, r, http.StatusOK, "signin", d, err)
	}
	if info.SameBrowser {
		return a.redeemToken(w, r, d)
	}
	d.Email = info.Email
	return a.render(w, r, http.StatusOK, "signin_link", d, nil)
}

func (a *SignIn[P]) redeem(w http.ResponseWriter, r *http.Request) error {
	return a.redeemToken(w, r, &signinData{Token: r.PostForm.Get("token"), Next: a.safeNext(r.PostForm.Get("next"))})
}

func (a *SignIn[P]) redeemToken(w http.ResponseWriter, r *http.Request, d *signinData) error {
	id, err := a.Codes.Redeem(r.Context(), a.Kind, d.Token, a.Surface.ClientIP(r))
	if err != nil {
		d.Token = ""
		return a.render(w, r, http.StatusOK, "signin", d, err)
	}
	return a.start(w, r, id, d.Next)
}

// start begins a session for principal id and sends the browser on.
func (a *SignIn[P]) start(w http.ResponseWriter, r *http.Request, id int64, next string) error {
	token, ss, err := a.Sessions.Create(r.Context(), a.Kind, id, r.UserAgent(), a.Surface.ClientIP(r))
	if err != nil {
		return err
	}
	a.setCookie(w, token, ss.ExpiresAt)
	http.Redirect(w, r, a.safeNext(next), http.StatusSeeOther)
	return nil
}

func (a *SignIn[P]) setCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: a.Cookie, Value: token, Path: a.Surface.Prefix, HttpOnly: true,
		Secure: a.Surface.Secure, SameSite: http.SameSiteLaxMode, Expires: expires,
		MaxAge: max(1, int(time.Until(expires).Seconds()))})
}

func (a *SignIn[P]) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: a.Cookie, Value: "", Path: a.Surface.Prefix, HttpOnly: true,
		Secure: a.Surface.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

func (a *SignIn[P]) logout(w http.ResponseWriter, r *http.Request, _ P) error {
	if c, err := r.Cookie(a.Cookie); err == nil {
		if err := a.Sessions.End(r.Context(), c.Value); err != nil {
			return err
		}
	}
	a.clearCookie(w)
	http.Redirect(w, r, a.Surface.Prefix+"/login?out=1", http.StatusSeeOther)
	return nil
}

// Page adapts a page that needs a signed-in principal: without a live
// session the browser is sent to sign in (and back here afterwards); a
// POST must carry the session's CSRF token. The handler gets the
// principal; the request's context carries the session (SessionFrom) and
// the audit actor ("affiliate:ann@example.com").
func (a *SignIn[P]) Page(fn func(w http.ResponseWriter, r *http.Request, me P) error) http.Handler {
	return a.Surface.Handle(func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		c, err := r.Cookie(a.Cookie)
		var ss *auth.Session
		if err == nil {
			ss, err = a.Sessions.Check(ctx, a.Kind, c.Value)
		}
		if err != nil {
			if !errors.Is(err, http.ErrNoCookie) && !errors.Is(err, auth.ErrNoSession) {
				return err
			}
			return a.toLogin(w, r)
		}
		me, label, err := a.Load(ctx, ss.PrincipalID)
		if err != nil {
			if apperr.Is(err, apperr.KindNotFound) || apperr.Is(err, apperr.KindForbidden) {
				_ = a.Sessions.End(ctx, c.Value)
				return a.toLogin(w, r)
			}
			return err
		}
		tok := CSRFToken("session\x00" + c.Value)
		if err := checkCSRF(w, r, tok); err != nil {
			return err
		}
		if r.Method == http.MethodGet {
			a.setCookie(w, c.Value, ss.ExpiresAt) // the cookie slides with the session
		}
		ctx = withCSRF(ctx, tok)
		ctx = context.WithValue(ctx, userKey, label)
		ctx = context.WithValue(ctx, sessionKey{}, ss)
		ctx = audit.WithActor(ctx, string(a.Kind)+":"+label)
		return fn(w, r.WithContext(ctx), me)
	})
}

func (a *SignIn[P]) toLogin(w http.ResponseWriter, r *http.Request) error {
	a.clearCookie(w)
	to := a.Surface.Prefix + "/login"
	if r.Method == http.MethodGet && r.URL.Path != a.Surface.Prefix && r.URL.Path != a.Surface.Prefix+"/" {
		to += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (a *SignIn[P]) setupPage(w http.ResponseWriter, r *http.Request) error {
	d := &signinData{Token: r.URL.Query().Get("token"), Action: a.Surface.Prefix}
	if err := a.Owners.CheckSetup(r.Context(), d.Token); err != nil {
		return err
	}
	return a.Surface.Render(w, r, http.StatusOK, "setup", &View{Title: "Set up the console", Data: d})
}

func (a *SignIn[P]) setup(w http.ResponseWriter, r *http.Request) error {
	d := &signinData{Token: r.PostForm.Get("token"), Email: strings.TrimSpace(r.PostForm.Get("email")), Action: a.Surface.Prefix}
	ow, err := a.Owners.ClaimSetup(r.Context(), d.Token, d.Email)
	if err != nil {
		if apperr.Is(err, apperr.KindInvalid) {
			d.Field = errField(err)
			return a.Surface.Render(w, r, http.StatusBadRequest, "setup", &View{Title: "Set up the console", Error: Message(err), Data: d})
		}
		return err
	}
	return a.start(w, r, ow.ID, a.Surface.Prefix)
}
