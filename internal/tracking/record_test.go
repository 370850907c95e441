package tracking

import (
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	for _, c := range []Click{
		{},
		{ReferralID: "r", AffiliateID: 1, ProgramID: 2, At: time.Date(2026, 11, 24, 1, 2, 3, 4000, time.UTC)},
		{ReferralID: "VKHVKVOpvnH8jUASjdSlQw", AffiliateID: 1 << 40, ProgramID: -3, At: time.Unix(0, 0).UTC(),
			Referrer: "https://a.example/?q=ü", UserAgent: "Mozilla/5.0", LandingURL: "https://shop.example/x",
			IP: "192.0.2.0", Device: "mobile", IsBot: true, IsUnique: true},
	} {
		got, err := parseRecord(appendRecord(nil, c))
		if err != nil {
			t.Fatal(err)
		}
		if c.At.IsZero() {
			c.At = time.Unix(0, c.At.UnixNano()).UTC() // the zero time has no Unix nanoseconds
		}
		if got != c {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
		}
	}
}

// FuzzParseRecord: a record read back from disk, whatever its bytes, is
// decoded or refused, never a panic, and what decodes encodes to the same
// bytes.
func FuzzParseRecord(f *testing.F) {
	f.Add(appendRecord(nil, Click{ReferralID: "abc", AffiliateID: 7, ProgramID: 1, At: time.Unix(1, 2), UserAgent: "ua", IsUnique: true}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 2, 2, 3, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseRecord(b)
		if err != nil {
			return
		}
		if again := appendRecord(nil, c); string(again) != string(b) {
			// Varints have one shortest form; a longer one decodes the same.
			if c2, err := parseRecord(again); err != nil || c2 != c {
				t.Fatalf("re-encoded record decodes to %+v (%v), want %+v", c2, err, c)
			}
		}
	})
}

func TestInsertChunksCoverTheBatch(t *testing.T) {
	for n := 1; n <= 3*maxRowsPerInsert+7; n++ {
		sum, stmts := 0, 0
		for rest := n; rest > 0; stmts++ {
			size := insertChunk(rest)
			if clickInserts[size] == "" {
				t.Fatalf("batch of %d: no statement for a chunk of %d", n, size)
			}
			sum, rest = sum+size, rest-size
		}
		if sum != n || stmts > n/maxRowsPerInsert+9 {
			t.Fatalf("batch of %d: chunks sum to %d in %d statements", n, sum, stmts)
		}
	}
}
