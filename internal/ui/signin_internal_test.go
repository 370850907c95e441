package ui

import (
	"net/url"
	"strings"
	"testing"

	"affiliated/internal/auth"
)

func TestSafeNext(t *testing.T) {
	a := &SignIn[*auth.Owner]{Surface: &Surface{Prefix: "/admin"}}
	for in, want := range map[string]string{
		"":                          "/admin",
		"/admin":                    "/admin",
		"/admin/payouts?id=3":       "/admin/payouts?id=3",
		"/admin?range=7":            "/admin?range=7",
		"/adminx":                   "/admin",
		"/portal":                   "/admin",
		"//evil.example/admin":      "/admin",
		"https://evil.example/":     "/admin",
		"/admin/../portal":          "/admin/../portal", // a path of this host: harmless, the mux cleans it
		"/admin\\@evil.example":     "/admin",
		"/admin/login":              "/admin",
		"/admin/logout":             "/admin",
		"/admin/x\r\nSet-Cookie: a": "/admin",
		"javascript:alert(1)":       "/admin",
	} {
		if got := a.safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/admin/x", "//x", "/admin/%2F%2Fevil", "https://x/admin", "/admin\\x"} {
		f.Add(s)
	}
	a := &SignIn[*auth.Owner]{Surface: &Surface{Prefix: "/admin"}}
	f.Fuzz(func(t *testing.T, s string) {
		got := a.safeNext(s)
		if got != "/admin" && !strings.HasPrefix(got, "/admin/") && !strings.HasPrefix(got, "/admin?") {
			t.Fatalf("safeNext(%q) = %q leaves the console", s, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q is not a local path", s, got)
		}
	})
}
