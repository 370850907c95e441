package tracking

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

func TestClickDims(t *testing.T) {
	cases := []struct {
		referrer, landing, device string
		host, path, dev           string
	}{
		{"", "", "", "", "", "unknown"},
		{"https://www.YouTube.com/watch?v=1", "https://shop.example.com/courses/go?ref=abc&utm_source=x#top", "mobile",
			"youtube.com", "shop.example.com/courses/go", "mobile"},
		{"http://t.co:8080/x", "https://Shop.Example.com", "desktop", "t.co", "shop.example.com/", "desktop"},
		{"android-app://com.google.android.gm/", "https://shop.example.com/a%20b", "tablet", "com.google.android.gm", "shop.example.com/a%20b", "tablet"},
		{"not a url %%", "/relative/only", "bot", "", "", "bot"},
		{"https://[2001:db8::1]:443/", "https://shop.example.com/", "", "2001:db8::1", "shop.example.com/", "unknown"},
		{"https://" + strings.Repeat("a", 300) + ".com/", "https://x.example/" + strings.Repeat("p", 400), "desktop",
			strings.Repeat("a", 253), "x.example/" + strings.Repeat("p", 290), "desktop"},
	}
	for _, tc := range cases {
		h, p, d := ClickDims(Click{Referrer: tc.referrer, LandingURL: tc.landing, Device: tc.device})
		if h != tc.host || p != tc.path || d != tc.dev {
			t.Errorf("ClickDims(%q, %q, %q) = %q, %q, %q; want %q, %q, %q", tc.referrer, tc.landing, tc.device, h, p, d, tc.host, tc.path, tc.dev)
		}
	}
}

// FuzzClickDims: whatever a visitor sends as Referer (and whatever the
// landing URL holds), the stored values stay short and valid UTF-8, and
// hosts are lower-case.
func FuzzClickDims(f *testing.F) {
	f.Add("https://www.example.com/", "https://shop.example.com/x?y=1")
	f.Add("http://\xff\xfe/", "https://a/\xc3")
	f.Add("//www.", "https://"+strings.Repeat("é", 400))
	f.Fuzz(func(t *testing.T, referrer, landing string) {
		h, p, d := ClickDims(Click{Referrer: referrer, LandingURL: landing, Device: "desktop"})
		if len(h) > maxHostLen || len(p) > maxPathLen {
			t.Fatalf("too long: %d, %d", len(h), len(p))
		}
		if !utf8.ValidString(h) || !utf8.ValidString(p) {
			t.Fatalf("invalid UTF-8: %q %q", h, p)
		}
		if h != strings.ToLower(h) {
			t.Fatalf("host not normalized: %q", h)
		}
		if d != "desktop" {
			t.Fatalf("device %q", d)
		}
	})
}

func TestDimCountsSave(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// click_dims has no foreign keys: the counters need no programs here.
		at := time.Date(2026, 10, 25, 23, 59, 0, 0, time.UTC)
		m := DimCounts{}
		m.Add(Click{AffiliateID: 1, ProgramID: 7, At: at, Referrer: "https://t.co/", Device: "mobile"})
		m.Add(Click{AffiliateID: 1, ProgramID: 7, At: at.Add(time.Minute), Device: "mobile"}) // the next UTC day
		m.Add(Click{AffiliateID: 1, ProgramID: 7, At: at, Device: "bot", IsBot: true})        // not counted
		for range 2 {                                                                         // the second save adds up
			if err := d.TX(ctx, func(ctx context.Context) error { return m.Save(ctx, d) }); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := d.R(ctx).QueryContext(ctx, `select program_id, day, dim, value, clicks from click_dims order by day, dim, value`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var prog, clicks int64
			var day time.Time
			var dim, value string
			if err := rows.Scan(&prog, &day, &dim, &value, &clicks); err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.Join([]string{day.UTC().Format("01-02"), dim, value, string(rune('0' + clicks)), string(rune('0' + prog))}, " "))
		}
		want := []string{
			"10-25 device mobile 2 7", "10-25 landing_path  2 7", "10-25 referrer_host t.co 2 7",
			"10-26 device mobile 2 7", "10-26 landing_path  2 7", "10-26 referrer_host  2 7",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("click_dims:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
