package tracking

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestLocation(t *testing.T) {
	const id = "AAAAAAAAAAAAAAAAAAAAAA"
	base := Link{Destination: "https://shop.example.com/", Program: "course", Code: "anna"}
	with := func(f func(*Link)) Link { l := base; f(&l); return l }

	tests := []struct {
		name  string
		link  Link
		ref   string
		deep  string
		extra url.Values
		want  string
	}{
		{
			name: "defaults",
			link: base, ref: id,
			want: "https://shop.example.com/?utm_source=anna&utm_medium=referral&utm_campaign=course&ref=" + id,
		},
		{
			name: "destination query kept verbatim, utm not duplicated",
			link: with(func(l *Link) { l.Destination = "https://shop.example.com/p?z=1&utm_medium=email&a=%2Fx" }),
			ref:  id,
			want: "https://shop.example.com/p?z=1&utm_medium=email&a=%2Fx&utm_source=anna&utm_campaign=course&ref=" + id,
		},
		{
			name: "existing ref replaced",
			link: with(func(l *Link) { l.Destination = "https://shop.example.com/?ref=old&x=1" }),
			ref:  id,
			want: "https://shop.example.com/?x=1&utm_source=anna&utm_medium=referral&utm_campaign=course&ref=" + id,
		},
		{
			name: "no referral id: destination ref kept, none added",
			link: with(func(l *Link) { l.Destination = "https://shop.example.com/?ref=old" }),
			want: "https://shop.example.com/?ref=old&utm_source=anna&utm_medium=referral&utm_campaign=course",
		},
		{
			name: "templates with placeholders, one disabled",
			link: with(func(l *Link) {
				l.UTMSource, l.UTMMedium, l.UTMCampaign = "partner-{code}", "-", "{program} & {code}"
			}),
			ref:  id,
			want: "https://shop.example.com/?utm_source=partner-anna&utm_campaign=course+%26+anna&ref=" + id,
		},
		{
			name:  "extra forwarded, sorted, never over destination or ref",
			link:  with(func(l *Link) { l.Destination = "https://shop.example.com/?plan=pro" }),
			ref:   id,
			extra: url.Values{"utm_content": {"bio"}, "plan": {"free"}, "ref": {"stolen"}, "b": {"2", "3"}},
			want:  "https://shop.example.com/?plan=pro&b=2&b=3&utm_content=bio&utm_source=anna&utm_medium=referral&utm_campaign=course&ref=" + id,
		},
		{
			name:  "extra utm wins over template",
			link:  base,
			ref:   id,
			extra: url.Values{"utm_source": {"newsletter"}},
			want:  "https://shop.example.com/?utm_source=newsletter&utm_medium=referral&utm_campaign=course&ref=" + id,
		},
		{
			name: "deep path on destination host, destination query kept, fragment",
			link: with(func(l *Link) { l.Destination = "https://shop.example.com/landing?promo=1#top" }),
			ref:  id,
			deep: "pricing/pro#faq",
			want: "https://shop.example.com/pricing/pro?promo=1&utm_source=anna&utm_medium=referral&utm_campaign=course&ref=" + id + "#faq",
		},
		{
			name:  "deep path with its own query beats extra",
			link:  base,
			ref:   id,
			deep:  "/pricing?plan=pro&ref=x",
			extra: url.Values{"plan": {"free"}, "c": {"1"}},
			want:  "https://shop.example.com/pricing?c=1&plan=pro&utm_source=anna&utm_medium=referral&utm_campaign=course&ref=" + id,
		},
		{
			name: "deep path characters escaped",
			link: base,
			deep: "a b/ü/@user/100%",
			want: "https://shop.example.com/a%20b/%C3%BC/@user/100%25?utm_source=anna&utm_medium=referral&utm_campaign=course",
		},
		{
			name: "absolute deep link to an allowed host",
			link: with(func(l *Link) { l.AllowedHosts = []string{"Blog.Example.com", "docs.example.com:8443"} }),
			deep: "https://blog.example.com/post/1",
			want: "https://blog.example.com/post/1?utm_source=anna&utm_medium=referral&utm_campaign=course",
		},
		{
			name: "absolute deep link as left by path cleaning, allowed port",
			link: with(func(l *Link) { l.AllowedHosts = []string{"docs.example.com:8443"} }),
			deep: "https:/docs.example.com:8443/guide",
			want: "https://docs.example.com:8443/guide?utm_source=anna&utm_medium=referral&utm_campaign=course",
		},
		{
			name: "destination with default port and upper-case scheme",
			link: with(func(l *Link) { l.Destination = "HTTPS://Shop.Example.com:443/x" }),
			deep: "y",
			want: "https://Shop.Example.com:443/y?utm_source=anna&utm_medium=referral&utm_campaign=course",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Location(tt.link, tt.ref, tt.deep, tt.extra)
			if err != nil {
				t.Fatalf("Location: %v", err)
			}
			if got != tt.want {
				t.Errorf("Location\n got %s\nwant %s", got, tt.want)
			}
			// A resolved target answers the same, from its template or not.
			target := (&Target{Link: tt.link}).withTemplate()
			if got, err := target.Location(tt.ref, tt.deep, tt.extra); err != nil || got != tt.want {
				t.Errorf("Target.Location\n got %s (%v)\nwant %s", got, err, tt.want)
			}
		})
	}
}

// TestTargetTemplate checks the redirect's fast path against Location for
// destinations of every shape, a fresh referral id each time.
func TestTargetTemplate(t *testing.T) {
	for _, dest := range []string{
		"https://shop.example.com/",
		"https://shop.example.com",
		"http://shop.example.com:8080/a/b?x=1&y=%2F#frag",
		"https://shop.example.com/?ref=old&utm_source=x",
		"https://shop.example.com/?utm_medium=a&utm_campaign=b&utm_source=c",
		"https://shop.example.com/p?" + refPlaceholder + "=1",
		"https://shop.example.com/#" + refPlaceholder,
		"https://shop.example.com/?q=%E2%9C%93&empty=&flag",
	} {
		for _, utm := range []string{"", "-", "{code}-{program}"} {
			l := Link{Destination: dest, Program: "course", Code: "anna", UTMSource: utm, UTMCampaign: utm}
			target := (&Target{Link: l}).withTemplate()
			if strings.Contains(dest, refPlaceholder) != (target.template == "") {
				t.Errorf("%s: template %q", dest, target.template)
			}
			for range 3 {
				id := NewReferralID()
				want, err := Location(l, id, "", nil)
				got, gerr := target.Location(id, "", nil)
				if got != want || (err == nil) != (gerr == nil) {
					t.Errorf("%s utm %q:\n got %s (%v)\nwant %s (%v)", dest, utm, got, gerr, want, err)
				}
			}
			// Without a referral id (HEAD), or with a deep path, the slow path.
			for _, c := range []struct{ ref, deep string }{{"", ""}, {NewReferralID(), "x/y"}} {
				want, err := Location(l, c.ref, c.deep, nil)
				got, gerr := target.Location(c.ref, c.deep, nil)
				if got != want || (err == nil) != (gerr == nil) {
					t.Errorf("%s %+v:\n got %s (%v)\nwant %s (%v)", dest, c, got, gerr, want, err)
				}
			}
		}
	}
}

// attacks are deep paths that must never leave the allowed hosts; they are
// also the fuzz seeds.
var attacks = []string{
	"//evil.com",
	"///evil.com",
	"%2F%2Fevil.com",
	"%2f%2fevil.com/x",
	"%252F%252Fevil.com",
	"%25252F%25252F%25252Fevil.com",
	`\\evil.com`,
	`/\evil.com`,
	`\/evil.com`,
	"%5C%5Cevil.com",
	"%5c/evil.com",
	"%255Cevil.com",
	"https://evil.com",
	"https:/evil.com",
	"https:evil.com",
	"HTTPS://EVIL.COM/x",
	"http://shop.example.com@evil.com/",
	"https://shop.example.com:443@evil.com",
	"https://user:pass@shop.example.com/",
	"https://evil.com#@shop.example.com",
	"https://evil.com?@shop.example.com",
	"https://shop.example.com.evil.com/",
	"https://shop.example.com:8080/",
	"https://[::1]/",
	"javascript:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"/../../evil.com",
	"a/../../evil.com",
	"%2e%2e/%2e%2e/evil.com",
	".%2E/x",
	"./x",
	"\t//evil.com",
	"/\t/evil.com",
	"/%09/evil.com",
	"/\n/evil.com",
	"/%0d%0aSet-Cookie:x=1",
	"x\r\nLocation: https://evil.com",
	"/%00/evil.com",
	"\u2028//evil.com",
	"\u200b//evil.com",
	"\xff//evil.com",
	"%ff%2f%2fevil.com",
}

func TestLocationRefusesAttacks(t *testing.T) {
	l := Link{Destination: "https://shop.example.com/", AllowedHosts: []string{"blog.example.com"}, Program: "p", Code: "c"}
	for _, deep := range attacks {
		got, err := Location(l, "", deep, nil)
		if !errors.Is(err, ErrBadDeepLink) {
			t.Errorf("Location(%q) = %q, %v; want ErrBadDeepLink", deep, got, err)
		}
	}
}

// Paths an attacker may send that are harmless once on our host: they are
// kept as a path rather than refused (a real site can have /@user).
func TestLocationNeutralizes(t *testing.T) {
	l := Link{Destination: "https://shop.example.com/", Program: "p", Code: "c"}
	for _, deep := range []string{"@evil.com", "user@evil.com", "/evil.com", "evil.com/https://x", "a//b", "%"} {
		got, err := Location(l, "", deep, nil)
		if err != nil {
			t.Errorf("Location(%q): %v", deep, err)
			continue
		}
		if u, _ := url.Parse(got); u.Host != "shop.example.com" || u.User != nil {
			t.Errorf("Location(%q) = %q: left the host", deep, got)
		}
	}
}

func TestLocationBadDestination(t *testing.T) {
	for _, dest := range []string{"", "shop.example.com", "/relative", "ftp://shop.example.com/", "javascript:alert(1)", "https://u:p@shop.example.com/", "https:shop", "https://", "://x"} {
		_, err := Location(Link{Destination: dest}, "", "", nil)
		if !errors.Is(err, ErrBadDestination) {
			t.Errorf("Location(destination %q): err = %v, want ErrBadDestination", dest, err)
		}
	}
}

func TestLocationExtraTooLong(t *testing.T) {
	l := Link{Destination: "https://shop.example.com/"}
	_, err := Location(l, "", "", url.Values{"x": {strings.Repeat("a", maxExtraQuery)}})
	if !errors.Is(err, ErrBadDeepLink) {
		t.Fatalf("err = %v, want ErrBadDeepLink", err)
	}
	_, err = Location(l, "", strings.Repeat("a/", maxDeepPath), nil)
	if !errors.Is(err, ErrBadDeepLink) {
		t.Fatalf("long path: err = %v, want ErrBadDeepLink", err)
	}
}

func TestHostAllowed(t *testing.T) {
	allowed := []string{"example.com", "Blog.Example.com.", "api.example.com:8443", "[2001:db8::1]"}
	tests := []struct {
		scheme, host string
		want         bool
	}{
		{"https", "example.com", true},
		{"https", "EXAMPLE.COM", true},
		{"https", "example.com.", true},
		{"https", "example.com:443", true},
		{"http", "example.com:80", true},
		{"http", "example.com:443", false},
		{"https", "example.com:8443", false},
		{"https", "blog.example.com", true},
		{"https", "api.example.com", false},
		{"https", "api.example.com:8443", true},
		{"https", "[2001:db8::1]", true},
		{"https", "[2001:db8::1]:443", true},
		{"https", "evil.com", false},
		{"https", "example.com.evil.com", false},
		{"https", "", false},
	}
	for _, tt := range tests {
		if got := hostAllowed(tt.scheme, tt.host, allowed); got != tt.want {
			t.Errorf("hostAllowed(%s, %q) = %v, want %v", tt.scheme, tt.host, got, tt.want)
		}
	}
}

func TestCodes(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"anna", "anna", true},
		{"Anna_B-2", "anna_b-2", true},
		{strings.Repeat("a", 64), strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), "", false},
		{"", "", false},
		{"a b", "", false},
		{"a/b", "", false},
		{"a.b", "", false},
		{"\u212a", "", false}, // Kelvin sign folds to "k" in Unicode
		{"café", "", false},
		{"a%20", "", false},
	}
	for _, tt := range tests {
		if got := ValidCode(tt.in); got != tt.ok {
			t.Errorf("ValidCode(%q) = %v, want %v", tt.in, got, tt.ok)
		}
		got, ok := NormalizeCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func BenchmarkLocation(b *testing.B) {
	l := Link{Destination: "https://shop.example.com/landing?promo=1", Program: "course", Code: "anna"}
	id := NewReferralID()
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Location(l, id, "", nil)
		}
	})
	b.Run("deep+extra", func(b *testing.B) {
		extra := url.Values{"utm_content": {"bio"}}
		b.ReportAllocs()
		for b.Loop() {
			Location(l, id, "pricing/pro", extra)
		}
	})
}

func FuzzLocation(f *testing.F) {
	for _, a := range attacks {
		f.Add(a, "")
		f.Add("x", a)
	}
	f.Add("pricing?plan=pro#faq", "utm_content=bio&ref=x")
	f.Add("https://blog.example.com/post", "a=1&a=2")
	l := Link{
		Destination:  "https://shop.example.com/landing?promo=1",
		AllowedHosts: []string{"blog.example.com", "docs.example.com:8443"},
		Program:      "p", Code: "c",
	}
	allowed := append([]string{"shop.example.com"}, l.AllowedHosts...)
	f.Fuzz(func(t *testing.T, deep, rawExtra string) {
		extra, _ := url.ParseQuery(rawExtra)
		got, err := Location(l, "AAAAAAAAAAAAAAAAAAAAAA", deep, extra)
		if err != nil {
			if !errors.Is(err, ErrBadDeepLink) {
				t.Fatalf("Location(%q, %q): unexpected error %v", deep, rawExtra, err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("Location(%q, %q) = %q: does not parse: %v", deep, rawExtra, got, err)
		}
		if u.Scheme != "https" && u.Scheme != "http" {
			t.Fatalf("Location(%q, %q) = %q: scheme %q", deep, rawExtra, got, u.Scheme)
		}
		if u.User != nil || !hostAllowed(u.Scheme, u.Host, allowed) {
			t.Fatalf("Location(%q, %q) = %q: host %q not allowed", deep, rawExtra, got, u.Host)
		}
		// What a browser sees: no backslash or control character anywhere
		// in the header value, and the path never starts with "//".
		for _, r := range got {
			if r == '\\' || r < 0x20 || r == 0x7f || r > 0x7e {
				t.Fatalf("Location(%q, %q) = %q: raw character %q", deep, rawExtra, got, r)
			}
		}
		if strings.HasPrefix(u.EscapedPath(), "//") {
			t.Fatalf("Location(%q, %q) = %q: path starts with //", deep, rawExtra, got)
		}
		if q := u.Query(); len(q["ref"]) != 1 || q.Get("ref") != "AAAAAAAAAAAAAAAAAAAAAA" {
			t.Fatalf("Location(%q, %q) = %q: ref = %q", deep, rawExtra, got, q["ref"])
		}
	})
}
