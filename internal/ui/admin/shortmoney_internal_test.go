package admin

import "testing"

func TestShortMoney(t *testing.T) {
	cases := []struct {
		v    int64
		cur  string
		want string
	}{
		{100000, "EUR", "€1,000"},
		{123456, "USD", "$1,234.56"},
		{0, "USD", "$0"},
		{50, "USD", "$0.50"},
		{1000, "JPY", "¥1,000"},
	}
	for _, c := range cases {
		if got := shortMoney(c.v, c.cur); got != c.want {
			t.Errorf("shortMoney(%d, %s) = %q, want %q", c.v, c.cur, got, c.want)
		}
	}
}
