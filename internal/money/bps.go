package money

import (
	"fmt"
	"math"
	"math/bits"
)

// BpsDenominator is the number of basis points in a whole: 10000 bps = 100%.
const BpsDenominator = 10000

// MulBps returns amount × bps / 10000 rounded to the nearest minor unit,
// halves rounded away from zero: 50% of 25 cents is 13, and 50% of -25 is
// -13. Rounding away from zero makes MulBps(-x, b) == -MulBps(x, b), so a
// clawback of a refunded sale always cancels its commission exactly.
//
// The product is computed in 128 bits, so no intermediate overflows. The
// result itself can exceed int64 only when |bps| > 10000 (a share above
// 100%) and |amount| is near the int64 limit; MulBps panics then, as that is
// a configuration error that callers validating 0 ≤ bps ≤ 10000 never reach.
// Use MulBpsChecked where bps comes from outside.
func MulBps(amount, bps int64) int64 {
	v, err := MulBpsChecked(amount, bps)
	if err != nil {
		panic(err)
	}
	return v
}

// MulBpsChecked is MulBps returning an error wrapping ErrRange instead of
// panicking when the result does not fit in an int64.
func MulBpsChecked(amount, bps int64) (int64, error) {
	ua, ub := magnitude(amount), magnitude(bps)
	hi, lo := bits.Mul64(ua, ub)
	// Adding half the denominator before the division rounds the magnitude
	// half-up, i.e. the signed value half away from zero.
	lo, carry := bits.Add64(lo, BpsDenominator/2, 0)
	hi += carry // cannot wrap: hi of a 64×64 product is at most 2^64-2
	if hi >= BpsDenominator {
		return 0, fmt.Errorf("%w: %d × %d bps", ErrRange, amount, bps)
	}
	q, _ := bits.Div64(hi, lo, BpsDenominator)
	if (amount < 0) != (bps < 0) {
		if q > 1<<63 {
			return 0, fmt.Errorf("%w: %d × %d bps", ErrRange, amount, bps)
		}
		return int64(-q), nil // -q wraps to the right two's complement, even for 1<<63
	}
	if q > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %d × %d bps", ErrRange, amount, bps)
	}
	return int64(q), nil
}

func magnitude(v int64) uint64 {
	u := uint64(v)
	if v < 0 {
		u = ^u + 1
	}
	return u
}
