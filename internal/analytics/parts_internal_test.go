package analytics

import "testing"

// dayShifts must put every hour of a UTC day in the local day in which it
// starts, for every offset a zone has (-12:00 to +14:00, by quarter
// hours), and move at most half of them.
func TestDayShifts(t *testing.T) {
	for offset := -12 * 3600; offset <= 14*3600; offset += 900 {
		shift, into, lo, hi := dayShifts(offset)
		if hi-lo > 12 || lo > hi || lo < 0 || hi > 24 {
			t.Errorf("offset %d: moved hours [%d, %d)", offset, lo, hi)
		}
		for h := range 24 {
			// The local date of the hour's start, relative to its UTC date.
			x := h*3600 + offset
			want := 0
			switch {
			case x < 0:
				want = -1
			case x >= 86400:
				want = 1
			}
			got := shift
			if h >= lo && h < hi {
				got = into
			}
			if got != want {
				t.Errorf("offset %d, hour %d: counted in day %+d, starts in day %+d", offset, h, got, want)
			}
		}
	}
}
