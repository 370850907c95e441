package ui

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strings"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
)

// PreCookie names the cookie that a browser carries before it signs in.
// It keys the CSRF token of the sign-in and signup forms (a double-submit
// cookie, hashed), and ties a magic link to the browser that asked for it.
const PreCookie = "aff_pre"

// maxForm bounds a form body.
const maxForm = 64 << 10

// ErrCSRF is the answer to a state-changing request without the page's token.
var ErrCSRF = &apperr.Error{Kind: apperr.KindForbidden, Code: "csrf",
	Message: "This form has expired or did not come from this site. Go back, reload the page and try again."}

// CSRFToken derives the token that forms carry from a secret the browser
// holds in an HttpOnly cookie (the session token, or the pre-session
// cookie). A page from another site can neither read the cookie nor guess
// the token; nothing needs storing.
func CSRFToken(key string) string {
	sum := sha256.Sum256([]byte("affiliated csrf\x00" + key))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// checkCSRF checks a state-changing request against want, in constant time.
func checkCSRF(w http.ResponseWriter, r *http.Request, want string) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	// Browsers say where a request comes from (Sec-Fetch-Site, Origin):
	// refuse other sites before any token is looked at. The zero value
	// trusts no other origin.
	if err := (&http.CrossOriginProtection{}).Check(r); err != nil {
		return ErrCSRF
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return apperr.Invalid("", "the form could not be read")
	}
	got := r.PostForm.Get("csrf")
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return ErrCSRF
	}
	return nil
}

// preSession returns the browser's pre-session cookie, setting a new one
// when it has none.
func (s *Surface) preSession(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(PreCookie); err == nil && len(c.Value) >= 20 && len(c.Value) <= 100 {
		return c.Value
	}
	v := auth.RandomSecret(20)
	http.SetCookie(w, &http.Cookie{Name: PreCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: 7 * 24 * 3600})
	return v
}

// Public adapts a page that needs no sign-in (sign-in itself, signup):
// security headers, error pages, and for POST the CSRF check against the
// pre-session cookie.
func (s *Surface) Public(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return s.Handle(func(w http.ResponseWriter, r *http.Request) error {
		tok := CSRFToken("pre\x00" + s.preSession(w, r))
		if err := checkCSRF(w, r, tok); err != nil {
			return err
		}
		return h(w, r.WithContext(withCSRF(r.Context(), tok)))
	})
}

// ClientIP returns the client's address: the last X-Forwarded-For entry
// when TrustProxy is set (the one the trusted proxy added; earlier entries
// are whatever the client sent), else the connection's.
func (s *Surface) ClientIP(r *http.Request) string {
	if s.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := strings.TrimSpace(last); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
