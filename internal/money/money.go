// Package money holds amounts of money as an integer number of minor units
// plus an ISO 4217 currency code, and the few exact operations the ledger
// needs on them: parsing and formatting decimal strings, and taking a share
// in basis points with explicit rounding. Nothing here uses floating point.
package money

import (
	"errors"
	"fmt"
)

// Money is an amount in minor units (cents for USD, yen for JPY, fils for
// BHD) of an upper-case ISO 4217 currency.
type Money struct {
	Amount   int64
	Currency string
}

// String returns the amount for humans, as Format does.
func (m Money) String() string { return Format(m) }

// ErrSyntax is returned (wrapped) by ParseMajor and ParseCurrency for input
// that is not a plain decimal number or a currency code.
var ErrSyntax = errors.New("money: invalid syntax")

// ErrRange is returned (wrapped) when a value does not fit in an int64 of
// minor units, or has more precision than the currency allows.
var ErrRange = errors.New("money: value out of range")

// Exponent returns the number of minor-unit digits of an ISO 4217 currency:
// 2 for most, 0 for currencies such as JPY and KRW, 3 for BHD, KWD and a few
// others, 4 for the funds codes CLF and UYW. Unknown codes get 2, the common
// case, so that an unlisted currency still formats sensibly. The code must be
// upper case, as ParseCurrency returns it.
func Exponent(currency string) int {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
		"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}

// ParseCurrency checks that s is a three-letter currency code and returns it
// upper-cased (Stripe and Gumroad send "usd"). It does not check the code
// against the ISO list: platforms add currencies faster than a table here
// would be updated, and the ledger only needs a stable key.
func ParseCurrency(s string) (string, error) {
	if len(s) != 3 {
		return "", fmt.Errorf("%w: currency %q is not three letters", ErrSyntax, clip(s))
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		default:
			return "", fmt.Errorf("%w: currency %q is not three letters", ErrSyntax, clip(s))
		}
	}
	return string(b), nil
}
