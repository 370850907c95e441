package tracking

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"
)

// referralIDLen is the length of a referral id: 128 bits in unpadded
// base64url. t.js checks the same shape (/^[A-Za-z0-9_-]{21}[AQgw]$/).
const referralIDLen = 22

// A referral id starts with the time it was made, so that the ids of the
// clicks of one batch sit next to each other in the clicks_referral index:
// with fully random ids every click of a batch dirtied its own page of that
// index, written again to the WAL at each commit (most of a batch's pages).
// The prefix is idTimeChars capital letters, the time in units of
// 2^idTimeShift ms in base 26, most significant first: capital letters sort
// the same in base64url, bytes, and any collation. It wraps every 26^5 ×
// 16 ms ≈ 2.2 days, which only costs a little locality (a batch's ids still
// sit together, among the few older ids of the same prefix). The other 98
// bits are random: an id stays unguessable (≥ 96 random bits).
const (
	idTimeChars = 5
	idTimeShift = 4 // 16 ms
)

// NewReferralID returns a new referral id: 22 characters of unpadded
// base64url, safe in a URL, a cookie and a Stripe client_reference_id; a
// time prefix (see idTimeChars), then 98 bits from crypto/rand.
func NewReferralID() string { return newReferralID(time.Now()) }

func newReferralID(now time.Time) string {
	var b [16]byte
	rand.Read(b[:]) // never fails (Go 1.24+ crashes the program instead)
	var s [referralIDLen]byte
	base64.RawURLEncoding.Encode(s[:], b[:])
	t := uint64(now.UnixMilli()) >> idTimeShift
	for i := idTimeChars - 1; i >= 0; i-- {
		s[i] = 'A' + byte(t%26)
		t /= 26
	}
	return string(s[:])
}

// ValidReferralID reports whether s has the exact shape of an id that
// NewReferralID makes, so a cookie or parameter with garbage is ignored
// rather than stored.
func ValidReferralID(s string) bool {
	if len(s) != referralIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	// 16 bytes leave 4 unused bits in the last character; a canonical
	// encoding has them zero, so only A, Q, g and w can end an id.
	switch s[len(s)-1] {
	case 'A', 'Q', 'g', 'w':
		return true
	}
	return false
}

// IP privacy modes for AnonymizeIP.
const (
	IPTruncate = "truncate" // IPv4 /24, IPv6 /48; the default
	IPHash     = "hash"     // HMAC-SHA256 with a secret salt, 32 hex characters
	IPNone     = "none"     // store nothing
	IPFull     = "full"     // keep the address: allowed, never the default
)

// ValidIPMode reports whether mode is one AnonymizeIP knows ("" is the
// default, truncate). Configuration validates with it.
func ValidIPMode(mode string) bool {
	switch mode {
	case "", IPTruncate, IPHash, IPNone, IPFull:
		return true
	}
	return false
}

// AnonymizeIP returns the form of a client address that may be stored with
// a click. ip may be "addr", "addr:port" or "[v6]:port" (as in
// http.Request.RemoteAddr); an IPv4-mapped IPv6 address counts as IPv4 and
// a zone is dropped. It returns "" for an address that does not parse, for
// mode none, for an unknown mode (fail closed: configuration should have
// refused it) and for mode hash without a salt: an unsalted hash of an IPv4
// address is reversed by trying all 2³² of them.
func AnonymizeIP(ip string, mode string, salt []byte) string {
	addr, ok := parseIP(ip)
	if !ok {
		return ""
	}
	switch mode {
	case "", IPTruncate:
		bits := 24
		if addr.Is6() {
			bits = 48
		}
		p, _ := addr.Prefix(bits)
		return p.Addr().String()
	case IPHash:
		if len(salt) == 0 {
			return ""
		}
		mac := hmac.New(sha256.New, salt)
		mac.Write([]byte(addr.String()))
		return hex.EncodeToString(mac.Sum(nil)[:16])
	case IPFull:
		return addr.String()
	}
	return ""
}

func parseIP(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(s); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		addr = a
	} else {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}
