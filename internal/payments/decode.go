package payments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"affiliated/internal/money"
)

// Helpers shared by the platform parsers: strict JSON decoding with field
// names in errors, exact integer amounts, and the checks every Event gets.

// decodeJSON unmarshals body into v, turning decoder errors into a
// *MalformedError that names the field where possible; prefix is the path
// of body inside the whole payload ("data"), or "".
func decodeJSON(platform, prefix string, body []byte, v any) error {
	if !json.Valid(body) {
		// json.Valid first so that a truncated body reports as one error,
		// not as whatever field the decoder happened to be in.
		return malformed(platform, "", "body is not valid JSON")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if prefix != "" {
				field = prefix + "." + field
			}
			return malformed(platform, field, "JSON %s where %s was expected", te.Value, te.Type)
		}
		return malformed(platform, "", "%v", err)
	}
	return nil
}

// intDigits parses an optionally signed run of ASCII digits into an int64.
// strconv.ParseInt alone would also take "+5"; amounts never carry a plus.
func intDigits(s string) (int64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// amountString reads a minor-unit amount sent as a JSON string of digits
// (Paddle Billing, Gumroad form values). A nil or empty value is 0 unless
// required.
func amountString(platform, field string, s *string, required bool) (int64, error) {
	if s == nil || *s == "" {
		if required {
			return 0, malformed(platform, field, "missing")
		}
		return 0, nil
	}
	v, ok := intDigits(*s)
	if !ok {
		return 0, malformed(platform, field, "%q is not an integer amount in minor units", clip(*s))
	}
	return v, nil
}

// amountNumber reads a minor-unit amount sent as a JSON number (Lemon
// Squeezy, Stripe). Fractions and exponents are malformed: these platforms
// always send integers, and a float here would mean a misread field.
func amountNumber(platform, field string, n *json.Number, required bool) (int64, error) {
	if n == nil {
		if required {
			return 0, malformed(platform, field, "missing")
		}
		return 0, nil
	}
	v, ok := intDigits(string(*n))
	if !ok {
		return 0, malformed(platform, field, "%s is not an integer amount in minor units", clip(string(*n)))
	}
	return v, nil
}

// amountMajor reads a decimal amount in major units (Paddle Classic).
func amountMajor(platform, field, s, currency string, required bool) (int64, error) {
	if s == "" {
		if required {
			return 0, malformed(platform, field, "missing")
		}
		return 0, nil
	}
	v, err := money.ParseMajor(s, currency)
	if err != nil {
		return 0, malformed(platform, field, "%v", err)
	}
	return v, nil
}

func currencyCode(platform, field, s string) (string, error) {
	if s == "" {
		return "", malformed(platform, field, "missing")
	}
	c, err := money.ParseCurrency(s)
	if err != nil {
		return "", malformed(platform, field, "%q is not a currency code", clip(s))
	}
	return c, nil
}

func required(platform, field, s string) (string, error) {
	if s == "" {
		return "", malformed(platform, field, "missing")
	}
	return s, nil
}

func timeRFC3339(platform, field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, malformed(platform, field, "missing")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, malformed(platform, field, "%q is not an RFC 3339 time", clip(s))
	}
	return t.UTC(), nil
}

// jsonID reads an id that platforms send as a string or a number (Lemon
// Squeezy's product_id is a number, its data.id a string).
func jsonID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// referralFromJSON reads the "referral" key of a custom-data object that
// may be null, absent, or not an object at all (a merchant may put
// anything there); a number is accepted as its decimal text.
func referralFromJSON(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return cleanReferral(jsonID(m["referral"]))
}

// maxReferral bounds the attribution key. Stripe caps
// client_reference_id at 200 characters; the ids the redirect issues are
// far shorter. Anything longer is not ours, and dropping it is safer than
// truncating it into a different, possibly valid, key.
const maxReferral = 200

// cleanReferral trims s and drops it when it cannot be a referral id.
func cleanReferral(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxReferral || !utf8.ValidString(s) {
		return ""
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return ""
		}
	}
	return s
}

// clip shortens attacker-controlled text quoted in error messages, which
// end up in logs.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// finish checks what every Event must hold, whatever the platform, so the
// ledger can rely on it.
func finish(ev Event) (Event, error) {
	p := ev.Platform
	switch {
	case ev.EventID == "":
		return Event{}, malformed(p, "event id", "missing")
	case ev.OrderID == "":
		return Event{}, malformed(p, "order id", "missing")
	case ev.Currency == "":
		return Event{}, malformed(p, "currency", "missing")
	case ev.OccurredAt.IsZero():
		return Event{}, malformed(p, "time", "missing")
	}
	for _, a := range []struct {
		name string
		v    int64
	}{
		{"gross", ev.Gross}, {"tax", ev.Tax}, {"discount", ev.Discount}, {"fee", ev.Fee},
		{"refund", ev.Refund}, {"refund tax", ev.RefundTax}, {"refunded amount", ev.RefundCumulative},
	} {
		if a.v < 0 {
			return Event{}, malformed(p, a.name, "negative amount %d", a.v)
		}
	}
	switch ev.Kind {
	case KindRefund, KindChargeback, KindChargebackReversed:
		if ev.Refund == 0 && ev.RefundCumulative == 0 {
			return Event{}, ignored(p, ev.EventType, fmt.Sprintf("%s of zero on order %s", ev.Kind, ev.OrderID))
		}
		if ev.Refund != 0 && ev.RefundCumulative != 0 {
			return Event{}, malformed(p, "refund", "both an increment and a running total")
		}
	}
	ev.OccurredAt = ev.OccurredAt.UTC()
	return ev, nil
}
