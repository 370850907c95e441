package ui

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"affiliated/internal/money"
)

// Funcs are the template functions every page has:
//
//	money 1250 "EUR"      → €12.50
//	date t                → 23 Nov 2026
//	datetime t            → 23 Nov 2026, 14:05 UTC
//	isodate t             → 2026-11-23 (for <input type=date> and <time datetime>)
//	status "in_payout"    → In payout
//	percent 3 120         → 2.5%
//	asset "ui.css"        → /ui/ui.css?v=… (cache-busting URL)
//	browser ua            → Firefox on Linux
func Funcs() template.FuncMap {
	return template.FuncMap{
		"money": func(amount int64, currency string) string {
			return money.Format(money.Money{Amount: amount, Currency: currency})
		},
		"date":     FormatDate,
		"datetime": FormatDateTime,
		"isodate":  func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"status":   StatusLabel,
		"percent":  Percent,
		"asset":    func(name string) string { return AssetPrefix + name + "?v=" + assetVersion(name) },
		"browser":  Browser,
	}
}

// FormatDate writes a day for people: "23 Nov 2026" (UTC).
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

// FormatDateTime writes a moment for people: "23 Nov 2026, 14:05 UTC".
func FormatDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006, 15:04 MST")
}

// StatusLabel turns a status code into words: "in_payout" → "In payout".
func StatusLabel(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Percent is part of whole as a percentage with one decimal, "–" for no whole.
func Percent(part, whole int64) string {
	if whole <= 0 {
		return "–"
	}
	tenths := (part*1000 + whole/2) / whole
	return fmt.Sprintf("%d.%d%%", tenths/10, tenths%10)
}

// Browser names a browser and system from a User-Agent, for a list of
// signed-in devices: "Firefox on Linux". Good enough to recognise one's
// own devices, not a parser.
func Browser(ua string) string {
	l := strings.ToLower(ua)
	has := func(s string) bool { return strings.Contains(l, s) }
	name := "A browser"
	switch {
	case has("edg/"):
		name = "Edge"
	case has("opr/") || has("opera"):
		name = "Opera"
	case has("firefox/"):
		name = "Firefox"
	case has("headlesschrome"):
		name = "Headless Chrome"
	case has("chrome/") || has("chromium/") || has("crios/"):
		name = "Chrome"
	case has("safari/"):
		name = "Safari"
	case has("curl/") || has("go-http-client"):
		name = "A program"
	}
	sys := ""
	switch {
	case has("iphone") || has("ipad"):
		sys = "iOS"
	case has("android"):
		sys = "Android"
	case has("windows"):
		sys = "Windows"
	case has("mac os x") || has("macintosh"):
		sys = "macOS"
	case has("cros"):
		sys = "ChromeOS"
	case has("linux"):
		sys = "Linux"
	}
	if sys == "" {
		return name
	}
	return name + " on " + sys
}
