package assets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"testing"
)

func TestTrackerJSSize(t *testing.T) {
	// The budget: merchants load this on every page.
	if n := len(TrackerJS()); n == 0 || n >= 4096 {
		t.Fatalf("t.js is %d bytes, want 0 < n < 4096", n)
	}
}

func TestTrackerJSIsTheFile(t *testing.T) {
	disk, err := os.ReadFile("t.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(disk, TrackerJS()) {
		t.Fatal("embedded t.js differs from t.js on disk")
	}
}

func TestTrackerJSHasNoEval(t *testing.T) {
	// A merchant's Content-Security-Policy may forbid 'unsafe-eval'.
	for _, bad := range []string{"eval(", "new Function", "setTimeout('", "document.write"} {
		if bytes.Contains(TrackerJS(), []byte(bad)) {
			t.Errorf("t.js contains %q", bad)
		}
	}
}

func TestTrackerVersion(t *testing.T) {
	sum := sha256.Sum256(TrackerJS())
	want := hex.EncodeToString(sum[:])[:12]
	if v := TrackerVersion(); v != want {
		t.Errorf("TrackerVersion() = %q, want %q", v, want)
	}
	if !regexp.MustCompile(`^/t\.js\?v=[0-9a-f]{12}$`).MatchString(TrackerPath()) {
		t.Errorf("TrackerPath() = %q", TrackerPath())
	}
}

func TestCacheControl(t *testing.T) {
	tests := []struct{ v, want string }{
		{TrackerVersion(), CacheImmutable},
		{"", CacheShort},
		{"000000000000", CacheShort},
		{TrackerVersion() + "x", CacheShort},
	}
	for _, tt := range tests {
		if got := CacheControl(tt.v); got != tt.want {
			t.Errorf("CacheControl(%q) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
