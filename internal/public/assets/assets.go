// Package assets holds t.js, the tracking script merchants put on their
// site, embedded in the binary with a content hash for cache busting.
package assets

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

//go:embed t.js
var trackerJS []byte

// trackerVersion is the first 12 hex digits of the SHA-256 of t.js: it
// changes whenever the script does, so a versioned URL can be cached for a
// year.
var trackerVersion = func() string {
	sum := sha256.Sum256(trackerJS)
	return hex.EncodeToString(sum[:6])
}()

// Headers for serving t.js.
const (
	ContentType = "text/javascript; charset=utf-8"
	// CacheImmutable is for /t.js?v=<TrackerVersion()>: that URL never
	// changes content.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheShort is for the plain /t.js that merchants paste, and for a
	// stale or missing v: an hour, so a new release reaches their pages
	// the same day while browsers and CDNs still absorb most requests.
	CacheShort = "public, max-age=3600"
)

// TrackerJS returns the bytes of t.js. The slice is shared: do not modify.
func TrackerJS() []byte { return trackerJS }

// TrackerVersion returns a short content hash of t.js, also usable as a
// strong ETag (quoted).
func TrackerVersion() string { return trackerVersion }

// TrackerPath returns the long-cacheable, versioned path of t.js, such as
// "/t.js?v=0123456789ab", for the snippet that pages render.
func TrackerPath() string { return "/t.js?v=" + trackerVersion }

// CacheControl returns the Cache-Control header for a request of t.js
// whose v query parameter is v: immutable only when v is the current
// version, otherwise short, so a page with an old or no version never pins
// old code for a year.
func CacheControl(v string) string {
	if v == trackerVersion {
		return CacheImmutable
	}
	return CacheShort
}
