package tracking

import (
	"errors"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors returned by Location.
var (
	// ErrBadDeepLink means the part of the link that the visitor's URL
	// controls (the deep path or the forwarded query) was refused. The
	// handler falls back to Location(l, refID, "", nil).
	ErrBadDeepLink = errors.New("tracking: deep link refused")
	// ErrBadDestination means the program's destination URL is not an
	// absolute http(s) URL: a configuration error, not the visitor's.
	ErrBadDestination = errors.New("tracking: bad destination url")
)

// Limits on the visitor-controlled parts of a link. Real deep links are
// short; anything longer is refused rather than passed on in a Location
// header that some proxies would truncate.
const (
	maxDeepPath   = 2048
	maxExtraQuery = 2048
)

// Link is what a referral redirect needs to know about a program and an
// affiliate to build the Location.
type Link struct {
	Destination  string   // program destination_url, absolute http(s)
	AllowedHosts []string // hosts a deep link may land on, "host" or "host:port"; the destination's host is always allowed
	// UTM templates with {code} and {program} placeholders. Empty means the
	// default ("{code}", "referral", "{program}"); "-" means do not add it.
	UTMSource, UTMMedium, UTMCampaign string
	Program                           string // program slug
	Code                              string // affiliate code (as stored, lower-case)
}

// Location returns where a referral redirect sends the visitor.
//
// The destination's own query is kept byte for byte (a signed or
// order-sensitive URL survives), except that any ref parameter is replaced:
// ref is ours, and t.js on the landing page must read our id, not a stale
// one. Then, each added only when no earlier source has that key:
//
//  1. the destination's own parameters (the merchant's configuration wins);
//  2. the deep link's own query ("/r/code/pricing%3Fplan=pro"), then extra
//     (the query of the request to /r/{code}: forwarded like Dub does, so an
//     affiliate can tag a link with its own utm_content, say); any ref in
//     either is dropped;
//  3. utm_source, utm_medium, utm_campaign from the templates;
//  4. ref=refID, when refID is not empty.
//
// deepPath is the {path...} of /r/{code}/{path...}. It is either a path on
// the destination's host ("pricing/pro", "docs#install") or an absolute
// http(s) URL whose host is allowed ("https://blog.example.com/post"; the
// "https:/blog…" form that path cleaning leaves is accepted too). Anything
// that could leave the allowed hosts, or that only an attack would contain
// (backslashes, control characters, "..", a leading "//", userinfo, double
// encoding), is refused with ErrBadDeepLink rather than repaired. A deep
// link keeps the destination's query; its own fragment, if any, replaces
// the destination's.
//
// Whatever the input, the returned URL is parsed again and its scheme and
// host are checked before it is returned.
func Location(l Link, refID, deepPath string, extra url.Values) (string, error) {
	dest, err := url.Parse(l.Destination)
	if err != nil || !httpScheme(dest.Scheme) || dest.Host == "" || dest.User != nil || dest.Opaque != "" {
		return "", ErrBadDestination
	}
	dest.Scheme = strings.ToLower(dest.Scheme)
	allowed := append([]string{dest.Host}, l.AllowedHosts...)

	u := *dest
	var deepQuery url.Values
	if deepPath != "" {
		target, q, err := resolveDeepPath(dest, deepPath, allowed)
		if err != nil {
			return "", err
		}
		u.Scheme, u.Host, u.Path, u.RawPath, u.Fragment, u.RawFragment = target.Scheme, target.Host, target.Path, "", target.Fragment, ""
		deepQuery = q
	}

	// Keep the destination's raw query minus ref, and note which keys it has.
	have := map[string]bool{}
	var kept []string
	for part := range strings.SplitSeq(dest.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if k == "ref" && refID != "" {
			continue
		}
		have[k] = true
		kept = append(kept, part)
	}

	var add url.Values = map[string][]string{}
	addAll := func(q url.Values) {
		for _, k := range slices.Sorted(maps.Keys(q)) {
			if k == "" || k == "ref" || have[k] || len(q[k]) == 0 {
				continue
			}
			have[k] = true
			add[k] = q[k]
		}
	}
	addAll(deepQuery)
	addAll(extra)
	added := add.Encode()
	if len(added) > maxExtraQuery {
		return "", ErrBadDeepLink
	}

	query := strings.Join(kept, "&")
	appendQ := func(s string) {
		if s == "" {
			return
		}
		if query != "" {
			query += "&"
		}
		query += s
	}
	appendQ(added)
	for _, p := range [...]struct{ key, tmpl, def string }{
		{"utm_source", l.UTMSource, "{code}"},
		{"utm_medium", l.UTMMedium, "referral"},
		{"utm_campaign", l.UTMCampaign, "{program}"},
	} {
		if have[p.key] || p.tmpl == "-" {
			continue
		}
		tmpl := p.tmpl
		if tmpl == "" {
			tmpl = p.def
		}
		v := strings.ReplaceAll(strings.ReplaceAll(tmpl, "{code}", l.Code), "{program}", l.Program)
		if v != "" {
			appendQ(url.QueryEscape(p.key) + "=" + url.QueryEscape(v))
		}
	}
	if refID != "" {
		appendQ("ref=" + url.QueryEscape(refID))
	}
	u.RawQuery = query
	u.ForceQuery = false

	out := u.String()
	// Defence in depth: whatever happened above, the Location must parse to
	// an http(s) URL on an allowed host.
	check, err := url.Parse(out)
	if err != nil || !httpScheme(check.Scheme) || check.User != nil || !hostAllowed(check.Scheme, check.Host, allowed) {
		if deepPath != "" || len(extra) > 0 {
			return "", ErrBadDeepLink
		}
		return "", ErrBadDestination
	}
	return out, nil
}

// resolveDeepPath turns the visitor-controlled deep path into a URL (scheme,
// host, path, fragment) on an allowed host plus the path's own query.
func resolveDeepPath(dest *url.URL, deepPath string, allowed []string) (*url.URL, url.Values, error) {
	if len(deepPath) > maxDeepPath || !utf8.ValidString(deepPath) {
		return nil, nil, ErrBadDeepLink
	}
	rest, frag, _ := strings.Cut(deepPath, "#")
	rest, rawQuery, _ := strings.Cut(rest, "?")
	p, ok := unescapeFully(rest)
	if !ok || unsafeText(p) {
		return nil, nil, ErrBadDeepLink
	}
	if frag, ok = unescapeFully(frag); !ok || unsafeText(frag) {
		return nil, nil, ErrBadDeepLink
	}
	// The query is decoded here and re-encoded on output, so what it holds
	// cannot change the host; only its syntax is checked.
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, nil, ErrBadDeepLink
	}

	target := &url.URL{Scheme: dest.Scheme, Host: dest.Host, Fragment: frag}
	if scheme, after, ok := cutScheme(p); ok {
		// An absolute URL: only http(s), only to an allowed host, no userinfo.
		if !httpScheme(scheme) || !strings.HasPrefix(after, "/") {
			return nil, nil, ErrBadDeepLink
		}
		after = strings.TrimPrefix(after, "/")
		after = strings.TrimPrefix(after, "/")
		host, path, _ := strings.Cut(after, "/")
		if !validHost(host) {
			return nil, nil, ErrBadDeepLink
		}
		target.Scheme, target.Host, p = strings.ToLower(scheme), strings.ToLower(host), "/"+path
	}
	if strings.HasPrefix(p, "//") {
		// A scheme-relative URL in disguise: never a real path.
		return nil, nil, ErrBadDeepLink
	}
	p = strings.TrimPrefix(p, "/")
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return nil, nil, ErrBadDeepLink
		}
	}
	target.Path = "/" + p
	if !hostAllowed(target.Scheme, target.Host, allowed) {
		return nil, nil, ErrBadDeepLink
	}
	return target, q, nil
}

// unescapeFully percent-decodes s until it stops changing, so that an
// encoded "/", "\\" or ".." is judged as what it stands for. A "%" that is
// not a valid escape stays literal (it is re-escaped as %25 on output). More
// than three rounds of encoding is never a real link, only filter evasion.
func unescapeFully(s string) (string, bool) {
	for range 4 {
		u, err := url.PathUnescape(s)
		if err != nil || u == s {
			return s, true
		}
		s = u
	}
	return "", false
}

// unsafeText reports characters that browsers strip, fold or treat as
// separators when they parse a URL: backslashes (read as "/"), control
// characters and line separators (tab/newline injection), invalid UTF-8.
func unsafeText(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r == '\\' || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// cutScheme splits "scheme:rest" when s starts with a URL scheme.
func cutScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i], s[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}

func httpScheme(s string) bool {
	return strings.EqualFold(s, "http") || strings.EqualFold(s, "https")
}

// validHost accepts "name[:port]" and "[ipv6][:port]": no userinfo, no
// percent signs, nothing that another URL parser could read differently.
func validHost(h string) bool {
	name := h
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		port := h[i+1:]
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
		name = h[:i]
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		a, err := netip.ParseAddr(name[1 : len(name)-1])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// hostAllowed reports whether host (as in url.URL.Host) matches one of
// allowed, case-insensitively and port-aware: an entry without a port
// matches the scheme's default port only, an entry with one matches that
// port only. A trailing dot ("example.com.") is the same host.
func hostAllowed(scheme, host string, allowed []string) bool {
	name, port := splitHostPort(host, scheme)
	if name == "" {
		return false
	}
	for _, a := range allowed {
		an, ap := splitHostPort(a, scheme)
		if an != "" && an == name && ap == port {
			return true
		}
	}
	return false
}

// splitHostPort lower-cases the host, drops a trailing dot and fills in the
// scheme's default port.
func splitHostPort(h, scheme string) (name, port string) {
	h = strings.ToLower(strings.TrimSpace(h))
	if host, p, err := net.SplitHostPort(h); err == nil {
		name, port = host, p
	} else {
		name = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	}
	name = strings.TrimSuffix(name, ".")
	if port == "" {
		port = "443"
		if strings.EqualFold(scheme, "http") {
			port = "80"
		}
	}
	return name, port
}

// ValidCode reports whether s is a well-formed affiliate code: 1 to 64 of
// [a-z0-9_-], upper case accepted (codes are case-insensitive).
func ValidCode(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NormalizeCode returns s in its stored, lower-case form and whether it is
// a valid code. Only ASCII is folded, so the Kelvin sign is not a "k".
func NormalizeCode(s string) (string, bool) {
	if !ValidCode(s) {
		return "", false
	}
	return strings.ToLower(s), true
}
