package money

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestExponent(t *testing.T) {
	tests := map[string]int{
		"USD": 2, "EUR": 2, "CHF": 2, "XYZ": 2,
		"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
		"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
		"CLF": 4,
	}
	for cur, want := range tests {
		if got := Exponent(cur); got != want {
			t.Errorf("Exponent(%q) = %d, want %d", cur, got, want)
		}
	}
}

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"usd", "USD", true},
		{"EUR", "EUR", true},
		{"jPy", "JPY", true},
		{"", "", false},
		{"US", "", false},
		{"USDT", "", false},
		{"U$D", "", false},
		{"ÜSD", "", false},
	}
	for _, tt := range tests {
		got, err := ParseCurrency(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseCurrency(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseCurrency(%q) error %v is not ErrSyntax", tt.in, err)
		}
	}
}

func TestParseMajor(t *testing.T) {
	tests := []struct {
		in, cur string
		want    int64
		err     error
	}{
		{"12.50", "USD", 1250, nil},
		{"12.5", "USD", 1250, nil},
		{"900.3", "EUR", 90030, nil},
		{"0.05", "USD", 5, nil},
		{"-3", "USD", -300, nil},
		{"-0.00", "USD", 0, nil},
		{"007.10", "USD", 710, nil},
		{"12.500", "USD", 1250, nil},
		{"12.5000000000000000000000", "USD", 1250, nil},
		{"1250", "JPY", 1250, nil},
		{"1250.00", "JPY", 1250, nil},
		{"1.234", "BHD", 1234, nil},
		{"1.2", "BHD", 1200, nil},
		{"92233720368547758.07", "USD", math.MaxInt64, nil},
		{"-92233720368547758.07", "USD", -math.MaxInt64, nil},
		{"9223372036854775807", "JPY", math.MaxInt64, nil},
		{"00000000000000000000000000001", "USD", 100, nil},

		{"92233720368547758.08", "USD", 0, ErrRange},
		{"-92233720368547758.08", "USD", 0, ErrRange},
		{"9223372036854775808", "JPY", 0, ErrRange},
		{"99999999999999999999999", "USD", 0, ErrRange},
		{"12.505", "USD", 0, ErrRange},
		{"1250.5", "JPY", 0, ErrRange},
		{"1.2345", "BHD", 0, ErrRange},

		{"", "USD", 0, ErrSyntax},
		{"-", "USD", 0, ErrSyntax},
		{".", "USD", 0, ErrSyntax},
		{".5", "USD", 0, ErrSyntax},
		{"5.", "USD", 0, ErrSyntax},
		{"+5", "USD", 0, ErrSyntax},
		{"--5", "USD", 0, ErrSyntax},
		{" 5", "USD", 0, ErrSyntax},
		{"5 ", "USD", 0, ErrSyntax},
		{"1,000.00", "USD", 0, ErrSyntax},
		{"12,50", "EUR", 0, ErrSyntax},
		{"1e3", "USD", 0, ErrSyntax},
		{"1.5e2", "USD", 0, ErrSyntax},
		{"NaN", "USD", 0, ErrSyntax},
		{"Inf", "USD", 0, ErrSyntax},
		{"0x10", "USD", 0, ErrSyntax},
		{"1.2.3", "USD", 0, ErrSyntax},
		{"١٢", "USD", 0, ErrSyntax}, // Arabic-Indic digits are not ASCII digits
	}
	for _, tt := range tests {
		got, err := ParseMajor(tt.in, tt.cur)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseMajor(%q, %s) = %d, %v; want error %v", tt.in, tt.cur, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMajor(%q, %s) = %d, %v; want %d", tt.in, tt.cur, got, err, tt.want)
		}
	}
}

func TestParseErrorsAreShort(t *testing.T) {
	long := strings.Repeat("9", 1<<20)
	for _, in := range []string{long, long + "x", "1." + long, "0." + strings.Repeat("1", 1<<20)} {
		if _, err := ParseMajor(in, "USD"); err == nil || len(err.Error()) > 200 {
			t.Errorf("ParseMajor(%d bytes): error of %d bytes", len(in), len(fmt.Sprint(err)))
		}
	}
	if _, err := ParseCurrency(long); err == nil || len(err.Error()) > 200 {
		t.Errorf("ParseCurrency: error of %d bytes", len(fmt.Sprint(err)))
	}
}

func TestFormatMajor(t *testing.T) {
	tests := []struct {
		amount int64
		cur    string
		want   string
	}{
		{1250, "USD", "12.50"},
		{5, "USD", "0.05"},
		{0, "USD", "0.00"},
		{-5, "USD", "-0.05"},
		{-300, "USD", "-3.00"},
		{1250, "JPY", "1250"},
		{-1250, "JPY", "-1250"},
		{1234, "BHD", "1.234"},
		{7, "BHD", "0.007"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64, "USD", "-92233720368547758.08"},
		{math.MinInt64, "JPY", "-9223372036854775808"},
	}
	for _, tt := range tests {
		if got := FormatMajor(tt.amount, tt.cur); got != tt.want {
			t.Errorf("FormatMajor(%d, %s) = %q, want %q", tt.amount, tt.cur, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{Money{1250, "USD"}, "$12.50"},
		{Money{1250, "EUR"}, "€12.50"},
		{Money{1250, "JPY"}, "¥1,250"},
		{Money{1250, "CHF"}, "12.50 CHF"},
		{Money{123456789, "USD"}, "$1,234,567.89"},
		{Money{100000, "USD"}, "$1,000.00"},
		{Money{99999, "USD"}, "$999.99"},
		{Money{-300, "USD"}, "-$3.00"},
		{Money{-123456, "SEK"}, "-1,234.56 SEK"},
		{Money{1234567, "KWD"}, "1,234.567 KWD"},
		{Money{0, "GBP"}, "£0.00"},
		{Money{1000000, "KRW"}, "₩1,000,000"},
		{Money{math.MinInt64, "JPY"}, "-¥9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := Format(tt.m); got != tt.want {
			t.Errorf("Format(%+v) = %q, want %q", tt.m, got, tt.want)
		}
		if got := tt.m.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestMulBps(t *testing.T) {
	tests := []struct {
		amount, bps, want int64
	}{
		{10000, 5000, 5000},
		{25, 5000, 13},   // 12.5 → 13
		{-25, 5000, -13}, // -12.5 → -13: away from zero
		{25, -5000, -13},
		{-25, -5000, 13},
		{24, 5000, 12},
		{1, 5000, 1},   // 0.5 → 1
		{1, 4999, 0},   // 0.4999 → 0
		{-1, 4999, 0},  // -0.4999 → 0
		{-1, 5000, -1}, // -0.5 → -1
		{3, 3333, 1},   // 0.9999 → 1
		{199, 2500, 50},
		{0, 5000, 0},
		{12345, 0, 0},
		{12345, 10000, 12345},
		{math.MaxInt64, 10000, math.MaxInt64},
		{math.MinInt64, 10000, math.MinInt64},
		{math.MaxInt64, 5000, 4611686018427387904}, // (2^63-1)/2 = 2^62 - 0.5 → 2^62
		{math.MinInt64, 5000, -4611686018427387904},
		{math.MaxInt64, 1, 922337203685478},
		{1_000_000_000, 50_000, 5_000_000_000}, // 500%: allowed when it fits
	}
	for _, tt := range tests {
		if got := MulBps(tt.amount, tt.bps); got != tt.want {
			t.Errorf("MulBps(%d, %d) = %d, want %d", tt.amount, tt.bps, got, tt.want)
		}
		if got := MulBps(-tt.amount, tt.bps); tt.amount != math.MinInt64 && got != -tt.want {
			t.Errorf("MulBps(%d, %d) = %d, want %d (symmetry)", -tt.amount, tt.bps, got, -tt.want)
		}
	}
}

func TestMulBpsOverflow(t *testing.T) {
	for _, tt := range []struct{ amount, bps int64 }{
		{math.MaxInt64, 10001},
		{math.MinInt64, 10001},
		{math.MaxInt64, math.MaxInt64},
		{math.MinInt64, math.MinInt64},
		{math.MinInt64, -10000},
	} {
		if v, err := MulBpsChecked(tt.amount, tt.bps); !errors.Is(err, ErrRange) {
			t.Errorf("MulBpsChecked(%d, %d) = %d, %v; want ErrRange", tt.amount, tt.bps, v, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("MulBps did not panic on overflow")
		}
	}()
	MulBps(math.MaxInt64, 20000)
}

// mulBpsBig is the reference: round half away from zero with math/big.
func mulBpsBig(amount, bps int64) *big.Int {
	p := new(big.Int).Mul(big.NewInt(amount), big.NewInt(bps))
	neg := p.Sign() < 0
	p.Abs(p)
	p.Add(p, big.NewInt(BpsDenominator/2))
	p.Quo(p, big.NewInt(BpsDenominator))
	if neg {
		p.Neg(p)
	}
	return p
}

func FuzzMulBps(f *testing.F) {
	f.Add(int64(25), int64(5000))
	f.Add(int64(-25), int64(5000))
	f.Add(int64(math.MaxInt64), int64(10000))
	f.Add(int64(math.MinInt64), int64(math.MinInt64))
	f.Add(int64(math.MaxInt64), int64(10001))
	f.Fuzz(func(t *testing.T, amount, bps int64) {
		want := mulBpsBig(amount, bps)
		got, err := MulBpsChecked(amount, bps)
		if !want.IsInt64() {
			if !errors.Is(err, ErrRange) {
				t.Fatalf("MulBpsChecked(%d, %d) = %d, %v; want ErrRange (exact %s)", amount, bps, got, err, want)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("MulBpsChecked(%d, %d) = %d, %v; want %s", amount, bps, got, err, want)
		}
	})
}

func FuzzParseMajor(f *testing.F) {
	for _, s := range []string{"12.50", "-3", "0.05", "1250", "92233720368547758.07", "1e3", "NaN", "12.500", ".5", "-0"} {
		for _, cur := range []string{"USD", "JPY", "BHD"} {
			f.Add(s, cur)
		}
	}
	f.Fuzz(func(t *testing.T, s, cur string) {
		v, err := ParseMajor(s, cur)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) {
				t.Fatalf("ParseMajor(%q, %q): error %v is neither ErrSyntax nor ErrRange", s, cur, err)
			}
			return
		}
		// What parsed must format back to an equal value, and that
		// canonical form must parse to the same amount.
		out := FormatMajor(v, cur)
		back, err := ParseMajor(out, cur)
		if err != nil || back != v {
			t.Fatalf("ParseMajor(%q) = %d; FormatMajor = %q; reparsed %d, %v", s, v, out, back, err)
		}
		// The accepted input is a plain decimal of the same value.
		r, ok := new(big.Rat).SetString(s)
		if !ok || strings.ContainsAny(s, "eE+/xX_ ") {
			t.Fatalf("ParseMajor accepted %q, which is not a plain decimal", s)
		}
		scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(Exponent(cur))), nil))
		if r.Mul(r, scale).Cmp(new(big.Rat).SetInt64(v)) != 0 {
			t.Fatalf("ParseMajor(%q, %q) = %d, not the exact value", s, cur, v)
		}
	})
}
