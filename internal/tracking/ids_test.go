package tracking

import (
	"encoding/base64"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNewReferralID(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		id := NewReferralID()
		if !ValidReferralID(id) {
			t.Fatalf("NewReferralID() = %q: not valid", id)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(id)
		if err != nil || len(b) != 16 {
			t.Fatalf("NewReferralID() = %q: %d bytes, %v; want 16 (a time prefix and 98 random bits)", id, len(b), err)
		}
		if seen[id] {
			t.Fatalf("NewReferralID() repeated %q", id)
		}
		seen[id] = true
	}
}

// The shape t.js checks must be the same as ValidReferralID.
var jsReferralID = regexp.MustCompile(`^[A-Za-z0-9_-]{21}[AQgw]$`)

func TestValidReferralID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"AAAAAAAAAAAAAAAAAAAAAA", true},
		{"abcdefghijklmnopqrstuw", true},
		{"_-09azAZ_-09azAZ_-09aQ", true},
		{"AAAAAAAAAAAAAAAAAAAAAB", false}, // non-zero unused bits
		{"AAAAAAAAAAAAAAAAAAAAA", false},
		{"AAAAAAAAAAAAAAAAAAAAAAA", false},
		{"AAAAAAAAAAAAAAAAAAAAA=", false},
		{"AAAAAAAAAAAAAAAAAAAA+A", false},
		{"AAAAAAAAAAAAAAAAAAAA/A", false},
		{"AAAAAAAAAAAAAAAAAAAA A", false},
		{"AAAAAAAAAAAAAAAAAAAAé", false},
		{"", false},
		{"anna", false},
		{"<script>alert(1)</script>", false},
	}
	for _, tt := range tests {
		if got := ValidReferralID(tt.id); got != tt.want {
			t.Errorf("ValidReferralID(%q) = %v, want %v", tt.id, got, tt.want)
		}
		if got := jsReferralID.MatchString(tt.id); got != tt.want {
			t.Errorf("t.js pattern on %q = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestAnonymizeIP(t *testing.T) {
	salt := []byte("secret salt")
	tests := []struct {
		ip, mode string
		salt     []byte
		want     string
	}{
		{"203.0.113.77", "", nil, "203.0.113.0"},
		{"203.0.113.77", IPTruncate, nil, "203.0.113.0"},
		{"203.0.113.77:51234", IPTruncate, nil, "203.0.113.0"},
		{"::ffff:203.0.113.77", IPTruncate, nil, "203.0.113.0"},
		{"[::ffff:203.0.113.77]:443", IPTruncate, nil, "203.0.113.0"},
		{"2001:db8:abcd:12:1:2:3:4", IPTruncate, nil, "2001:db8:abcd::"},
		{"[2001:db8:abcd:12::1]:8080", IPTruncate, nil, "2001:db8:abcd::"},
		{"[2001:db8:abcd:12::1]", IPTruncate, nil, "2001:db8:abcd::"},
		{"fe80::1%eth0", IPTruncate, nil, "fe80::"},
		{" 10.1.2.3 ", IPTruncate, nil, "10.1.2.0"},
		{"203.0.113.77", IPNone, nil, ""},
		{"203.0.113.77:80", IPFull, nil, "203.0.113.77"},
		{"[2001:DB8::1]:80", IPFull, nil, "2001:db8::1"},
		{"203.0.113.77", "bogus", nil, ""},
		{"203.0.113.77", IPHash, nil, ""},
		{"not an ip", IPTruncate, nil, ""},
		{"", IPFull, nil, ""},
		{"203.0.113.777", IPTruncate, nil, ""},
		{"example.com:80", IPFull, nil, ""},
	}
	for _, tt := range tests {
		if got := AnonymizeIP(tt.ip, tt.mode, tt.salt); got != tt.want {
			t.Errorf("AnonymizeIP(%q, %q) = %q, want %q", tt.ip, tt.mode, got, tt.want)
		}
	}

	h1 := AnonymizeIP("203.0.113.77", IPHash, salt)
	if len(h1) != 32 || strings.Trim(h1, "0123456789abcdef") != "" {
		t.Errorf("hash = %q, want 32 hex characters", h1)
	}
	if h2 := AnonymizeIP("203.0.113.77:9999", IPHash, salt); h2 != h1 {
		t.Errorf("hash depends on the port: %q vs %q", h1, h2)
	}
	if h3 := AnonymizeIP("::ffff:203.0.113.77", IPHash, salt); h3 != h1 {
		t.Errorf("hash differs for the IPv4-mapped form: %q vs %q", h1, h3)
	}
	if h4 := AnonymizeIP("203.0.113.78", IPHash, salt); h4 == h1 {
		t.Error("two addresses hash the same")
	}
	if h5 := AnonymizeIP("203.0.113.77", IPHash, []byte("other salt")); h5 == h1 {
		t.Error("the salt does not change the hash")
	}
}

func TestValidIPMode(t *testing.T) {
	for _, m := range []string{"", "truncate", "hash", "none", "full"} {
		if !ValidIPMode(m) {
			t.Errorf("ValidIPMode(%q) = false", m)
		}
	}
	for _, m := range []string{"Truncate", "sha256", " none"} {
		if ValidIPMode(m) {
			t.Errorf("ValidIPMode(%q) = true", m)
		}
	}
}

func FuzzAnonymizeIP(f *testing.F) {
	for _, s := range []string{"203.0.113.77", "[::1]:80", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4:5", "[fe80::1%25en0]:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ip string) {
		tr := AnonymizeIP(ip, IPTruncate, nil)
		full := AnonymizeIP(ip, IPFull, nil)
		if (tr == "") != (full == "") {
			t.Fatalf("%q: truncate %q but full %q", ip, tr, full)
		}
		if tr == "" {
			return
		}
		a, err := netip.ParseAddr(tr)
		if err != nil {
			t.Fatalf("%q: truncate gave %q: %v", ip, tr, err)
		}
		bits := 24
		if a.Is6() {
			bits = 48
		}
		if p, _ := a.Prefix(bits); p.Addr() != a {
			t.Fatalf("%q: truncate gave %q with host bits set", ip, tr)
		}
		if h := AnonymizeIP(ip, IPHash, []byte("s")); len(h) != 32 {
			t.Fatalf("%q: hash gave %q", ip, h)
		}
	})
}

// Ids made later sort after earlier ones by their time prefix, in bytes
// (SQLite) and as base64url values, and the rest stays random.
func TestReferralIDTimePrefix(t *testing.T) {
	// The prefix replaces idTimeChars of the 22 characters (6 bits each) of
	// 128 random bits; the rest must stay at least 96 bits.
	if random := 128 - 6*idTimeChars; random < 96 {
		t.Fatalf("a referral id keeps %d random bits, want ≥ 96", random)
	}
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	prev := newReferralID(base)
	for i := 1; i < 3000; i++ {
		at := base.Add(time.Duration(i) * 7 * time.Millisecond)
		id := newReferralID(at)
		if !ValidReferralID(id) || !jsReferralID.MatchString(id) {
			t.Fatalf("newReferralID(%v) = %q: not valid", at, id)
		}
		p, q := prev[:idTimeChars], id[:idTimeChars]
		if strings.Trim(q, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Fatalf("prefix %q: not capital letters", q)
		}
		if q < p {
			t.Fatalf("prefix of %v (%q) sorts before the one 7 ms earlier (%q)", at, q, p)
		}
		pb, _ := base64.RawURLEncoding.DecodeString(p[:4] + "AAAA")
		qb, _ := base64.RawURLEncoding.DecodeString(q[:4] + "AAAA")
		if string(qb) < string(pb) {
			t.Fatalf("decoded prefix of %q sorts before %q's", q, p)
		}
		prev = id
	}
	// Same instant: same prefix, different ids.
	a, b := newReferralID(base), newReferralID(base)
	if a[:idTimeChars] != b[:idTimeChars] || a == b {
		t.Fatalf("two ids at one instant: %q, %q", a, b)
	}
	// 16 ms apart: different prefixes.
	if c := newReferralID(base.Add(16 * time.Millisecond)); c[:idTimeChars] == a[:idTimeChars] {
		t.Fatalf("ids 16 ms apart share prefix %q", a[:idTimeChars])
	}
}
