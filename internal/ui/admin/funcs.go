package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"affiliated/internal/apperr"
	"affiliated/internal/money"
)

// funcs are the console's template functions, besides the shared ones:
//
//	bps 1250              → 12.5%
//	bpsp r                → the rate of a *int, "" when nil
//	rate 0.0235           → 2.35% (a ratio)
//	major 1250 "EUR"      → 12.50 (for form fields)
//	deref p               → the int64 behind a pointer, 0 for nil
//	pretty body           → JSON indented, other text as is
//	has list "x"          → whether list holds x
//	adminCSS              → the console stylesheet's URL
//	dict "K" v "L" w      → a map, for partials
func funcs() template.FuncMap {
	return template.FuncMap{
		"bps": func(v any) string {
			switch n := v.(type) {
			case int:
				return formatBps(n)
			case int64:
				return formatBps(int(n))
			}
			return fmt.Sprint(v)
		},
		"bpsp": func(r *int) string { return formatBpsPtr(r) },
		"rate": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 2, 64) + "%" },
		"major": func(amount int64, currency string) string {
			return money.FormatMajor(amount, currency)
		},
		"deref": func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		},
		"pretty":   pretty,
		"has":      func(list []string, s string) bool { return slices.Contains(list, s) },
		"adminCSS": func() string { return Prefix + "/admin.css?v=" + cssVersion },
		"dict":     dict,
		"list":     func(s ...string) []string { return s },
	}
}

// dict builds a map from key, value pairs, to pass several values to a
// partial: {{template "period" dict "P" .Period "Zones" .Zones}}.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, errors.New("dict: keys must be strings")
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// tab is one link of a section's sub-navigation.
type tab struct {
	Label, Href string
	Current     bool
	Count       int
}

// formatBps writes basis points as a percentage: 5000 → 50%, 1250 → 12.5%.
func formatBps(bps int) string {
	s := money.FormatMajor(int64(bps), "XXX") // two decimals: hundredths of a percent
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

func formatBpsPtr(r *int) string {
	if r == nil {
		return ""
	}
	return formatBps(*r)
}

// percentField writes basis points for a form field: 5000 → "50".
func percentField(bps int) string {
	return strings.TrimSuffix(formatBps(bps), "%")
}

// pretty indents a JSON body for reading; anything else is shown as is.
func pretty(s string) string {
	var out bytes.Buffer
	if json.Indent(&out, []byte(s), "", "  ") == nil {
		return out.String()
	}
	return s
}

// flashes are the messages a redirect may show, by key.
var flashes = map[string]string{
	"program-created":    "The program was created.",
	"program-saved":      "The program was saved.",
	"rate-saved":         "The product rate was saved.",
	"rate-deleted":       "The product rate was removed.",
	"affiliate-created":  "The affiliate was added.",
	"affiliate-saved":    "The affiliate was saved.",
	"approved":           "The affiliate was approved and told by email.",
	"rejected":           "The application was rejected.",
	"suspended":          "The affiliate was suspended: their links stop crediting them.",
	"reactivated":        "The affiliate is active again.",
	"attributed":         "The order was attributed and its commission booked.",
	"commission-ok":      "The commission was approved.",
	"commission-no":      "The commission was rejected.",
	"payout-created":     "The payout was created. Download its CSV to pay it, then mark it paid.",
	"payout-paid":        "The payout was marked paid; the affiliates are told by email.",
	"payout-cancelled":   "The payout was cancelled; its commissions are payable again.",
	"retried":            "The message was queued again.",
	"tz-saved":           "The time zone was saved.",
	"token-revoked":      "The token was revoked.",
	"endpoint-deleted":   "The webhook endpoint was deleted.",
	"imported":           "The affiliates were imported.",
	"nothing-to-approve": "That commission was already decided.",
}

// formString returns a trimmed form value.
func formString(r *http.Request, name string) string {
	return strings.TrimSpace(r.PostForm.Get(name))
}

// formInt reads a whole number; empty is def.
func formInt(r *http.Request, name string, def int) (int, error) {
	v := formString(r, name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, apperr.Invalid(name, "must be a whole number")
	}
	return n, nil
}

// parsePercent reads a percentage with up to two decimals ("50", "12.5")
// as basis points.
func parsePercent(field, v string) (int, error) {
	v = strings.TrimSuffix(strings.TrimSpace(v), "%")
	// Hundredths of a percent are basis points: a two-decimal amount.
	n, err := money.ParseMajor(strings.TrimSpace(v), "XXX")
	if err != nil || n < 0 || n > 10000 {
		return 0, apperr.Invalid(field, "must be a percentage from 0 to 100, with at most two decimals")
	}
	return int(n), nil
}

// parseAmount reads an amount in major units of currency ("12.50"); empty is 0.
func parseAmount(field, v, currency string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := money.ParseMajor(v, currency)
	if err != nil || n < 0 {
		return 0, apperr.Invalid(field, "must be an amount like 12.50")
	}
	return n, nil
}
