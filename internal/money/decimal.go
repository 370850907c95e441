package money

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseMajor converts an exact decimal string in major units ("12.50",
// "-3", "900.3") into minor units of currency.
//
// The accepted form is deliberately narrow: an optional '-', one or more
// ASCII digits, and optionally '.' followed by one or more digits. There is
// no '+', no spaces, no thousands separators (a comma is a decimal point in
// half the world, so "1,000" is ambiguous) and no exponent; "NaN" and "Inf"
// are rejected. Fractional digits beyond the currency's exponent are
// accepted only when they are zeros ("12.500" USD is 1250, "1250.00" JPY is
// 1250); otherwise the value is out of range rather than silently rounded.
// Values whose magnitude exceeds math.MaxInt64 minor units are out of range.
func ParseMajor(s, currency string) (int64, error) {
	exp := Exponent(currency)
	rest := s
	neg := false
	if strings.HasPrefix(rest, "-") {
		neg = true
		rest = rest[1:]
	}
	whole, frac, hasDot := strings.Cut(rest, ".")
	if whole == "" || (hasDot && frac == "") || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("%w: %q is not a decimal number", ErrSyntax, clip(s))
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, fmt.Errorf("%w: %q has more than %d decimals for %s", ErrRange, clip(s), exp, clip(currency))
		}
		frac = frac[:exp]
	}

	var v uint64
	push := func(d uint64) bool {
		if v > (math.MaxInt64-d)/10 {
			return false
		}
		v = v*10 + d
		return true
	}
	for i := 0; i < len(whole); i++ {
		if !push(uint64(whole[i] - '0')) {
			return 0, fmt.Errorf("%w: %q overflows int64 minor units", ErrRange, clip(s))
		}
	}
	for i := 0; i < exp; i++ {
		var d uint64
		if i < len(frac) {
			d = uint64(frac[i] - '0')
		}
		if !push(d) {
			return 0, fmt.Errorf("%w: %q overflows int64 minor units", ErrRange, clip(s))
		}
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

// clip shortens input quoted in errors: amounts come from webhooks, and a
// megabyte of digits must not become a megabyte of log.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatMajor writes amount minor units of currency as a plain decimal in
// major units, the inverse of ParseMajor: "12.50", "-0.05", "1250" for JPY,
// "1.234" for BHD. No grouping and no symbol, so the result is machine
// readable (CSV exports, APIs).
func FormatMajor(amount int64, currency string) string {
	neg, digits := abs(amount)
	return sign(neg) + splitDecimals(digits, Exponent(currency))
}

// abs returns the sign and the decimal digits of |amount|; it works for
// math.MinInt64, whose magnitude has no int64.
func abs(amount int64) (bool, string) {
	return amount < 0, strconv.FormatUint(magnitude(amount), 10)
}

func sign(neg bool) string {
	if neg {
		return "-"
	}
	return ""
}

// splitDecimals inserts a decimal point exp digits from the right, padding
// with leading zeros ("5", 2 → "0.05").
func splitDecimals(digits string, exp int) string {
	if exp == 0 {
		return digits
	}
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	return digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
}

// Format returns m for humans: "$12.50", "€1,234.50", "¥1,250",
// "-$3.00", "12.50 CHF". Currencies with a well-known symbol get it in
// front; all others are written with the code after the number, which is
// never ambiguous. Thousands are grouped with commas.
func Format(m Money) string {
	neg, digits := abs(m.Amount)
	s := group(splitDecimals(digits, Exponent(m.Currency)))
	if sym := symbol(m.Currency); sym != "" {
		return sign(neg) + sym + s
	}
	return sign(neg) + s + " " + m.Currency
}

// group puts commas between thousands of the whole part of a decimal.
func group(dec string) string {
	whole, frac, hasDot := strings.Cut(dec, ".")
	var b strings.Builder
	for i := 0; i < len(whole); i++ {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	if hasDot {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// symbol returns the prefix symbol of the currencies owners most often
// sell in, or "" to write the code instead. Symbols shared by several
// currencies ($, kr) are qualified so that "$" always means USD.
func symbol(currency string) string {
	switch currency {
	case "USD":
		return "$"
	case "EUR":
		return "€"
	case "GBP":
		return "£"
	case "JPY":
		return "¥"
	case "INR":
		return "₹"
	case "KRW":
		return "₩"
	case "BRL":
		return "R$"
	case "CAD":
		return "CA$"
	case "AUD":
		return "A$"
	case "NZD":
		return "NZ$"
	case "MXN":
		return "MX$"
	case "HKD":
		return "HK$"
	case "CNY":
		return "CN¥"
	}
	return ""
}
