package admin

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on 29 March 2026 is already 30 March in Rome (CEST, +2).
	now := time.Date(2026, 3, 29, 23, 30, 0, 0, time.UTC)
	cases := []struct {
		name     string
		q        string
		loc      *time.Location
		from, to string // RFC 3339 instants
		interval string
		err      string // the field at fault
	}{
		{"default 30 days in UTC", "", time.UTC, "2026-02-28T00:00:00Z", "2026-03-30T00:00:00Z", "day", ""},
		{"today in Rome", "range=today", rome, "2026-03-30T00:00:00+02:00", "2026-03-31T00:00:00+02:00", "hour", ""},
		// The 7 days up to 30 March in Rome include the switch to summer
		// time on 29 March: the range starts at +01:00 and ends at +02:00.
		{"7 days across DST", "range=7", rome, "2026-03-24T00:00:00+01:00", "2026-03-31T00:00:00+02:00", "day", ""},
		{"today in New York", "range=today", ny, "2026-03-29T00:00:00-04:00", "2026-03-30T00:00:00-04:00", "hour", ""},
		{"90 days by month", "range=90&interval=month", time.UTC, "2025-12-30T00:00:00Z", "2026-03-30T00:00:00Z", "month", ""},
		{"custom", "range=custom&from=2026-01-01&to=2026-01-31", rome, "2026-01-01T00:00:00+01:00", "2026-02-01T00:00:00+01:00", "day", ""},
		{"custom without range", "from=2026-03-01&to=2026-03-02", time.UTC, "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z", "hour", ""},
		{"custom, long: months", "from=2025-01-01&to=2025-12-31", time.UTC, "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "month", ""},
		{"custom to today", "from=2026-03-20", time.UTC, "2026-03-20T00:00:00Z", "2026-03-30T00:00:00Z", "day", ""},
		{"end before start", "from=2026-03-20&to=2026-03-10", time.UTC, "", "", "", "to"},
		{"bad date", "from=20-03-2026", time.UTC, "", "", "", "from"},
		{"too long", "from=2020-01-01&to=2026-01-01", time.UTC, "", "", "", "from"},
		{"unknown range", "range=week", time.UTC, "", "", "", "range"},
		{"hours over too long", "range=90&interval=hour", time.UTC, "", "", "", "interval"},
		{"bad interval", "range=7&interval=year", time.UTC, "", "", "", "interval"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, _ := url.ParseQuery(c.q)
			p, err := parsePeriod(q, now, c.loc, "30")
			if c.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), c.err+":") {
					t.Fatalf("error %v, want one about %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.From.Format(time.RFC3339); got != c.from {
				t.Errorf("from %s, want %s", got, c.from)
			}
			if got := p.To.Format(time.RFC3339); got != c.to {
				t.Errorf("to %s, want %s", got, c.to)
			}
			if p.Interval != c.interval {
				t.Errorf("interval %s, want %s", p.Interval, c.interval)
			}
			// The period's own link selects the same period.
			again, err := parsePeriod(p.Query(), now, c.loc, "30")
			if err != nil || !again.From.Equal(p.From) || !again.To.Equal(p.To) || again.Interval != p.Interval {
				t.Errorf("round trip: %+v, %v", again, err)
			}
		})
	}
}

func TestLoadZone(t *testing.T) {
	for _, ok := range []string{"UTC", "Europe/Rome", "Asia/Kolkata"} {
		if _, err := loadZone(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Local", "Mars/Olympus", "../../etc/passwd", strings.Repeat("A", 100)} {
		if _, err := loadZone(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPercentAndBps(t *testing.T) {
	for in, want := range map[string]int{"50": 5000, "12.5": 1250, "0": 0, "100": 10000, "7.25%": 725, " 30 ": 3000} {
		if got, err := parsePercent("rate", in); err != nil || got != want {
			t.Errorf("parsePercent(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "100.01", "-1", "1.234", "1e2", "50,5"} {
		if _, err := parsePercent("rate", bad); err == nil {
			t.Errorf("parsePercent(%q) accepted", bad)
		}
	}
	for bps, want := range map[int]string{5000: "50%", 1250: "12.5%", 725: "7.25%", 0: "0%", 10000: "100%", 1: "0.01%"} {
		if got := formatBps(bps); got != want {
			t.Errorf("formatBps(%d) = %q, want %q", bps, got, want)
		}
		if got, err := parsePercent("rate", percentField(bps)); err != nil || got != bps {
			t.Errorf("round trip of %d: %d, %v", bps, got, err)
		}
	}
}

func TestSafeBack(t *testing.T) {
	def := "/admin/x"
	for in, want := range map[string]string{
		"/admin/orders/3":                "/admin/orders/3",
		"/admin/commissions?status=held": "/admin/commissions?status=held",
		"":                               def,
		"https://evil.example/admin/":    def,
		"//evil.example/admin/":          def,
		"/admin\\..\\x":                  def,
		"/portal/":                       def,
		"/admin/\r\nSet-Cookie: x=1":     def,
		"/adminx":                        def,
	} {
		if got := safeBack(in, def); got != want {
			t.Errorf("safeBack(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseImport(t *testing.T) {
	rows, err := parseImport("email,name,code,coupon\nann@example.com, Ann Lee ,annlee,ANN10\n\n\"bob@example.com\",\"Bob, Jr\"\ncarl@example.com\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Name != "Ann Lee" || rows[0].Code != "annlee" || rows[0].Coupon != "ANN10" || rows[0].Line != 2 ||
		rows[1].Name != "Bob, Jr" || rows[1].Line != 4 || rows[2].Email != "carl@example.com" || rows[2].Code != "" {
		t.Fatalf("rows = %+v", rows)
	}
	for name, in := range map[string]string{
		"empty":        "",
		"header only":  "email,name,code,coupon\n",
		"five columns": "a@example.com,A,a,A,extra\n",
		"no email":     ",Name,code,\n",
		"bad quotes":   "\"a@example.com,A\n",
	} {
		if _, err := parseImport(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseImport(strings.Repeat("a@example.com\n", maxImportRows+1)); err == nil {
		t.Errorf("more than %d rows accepted", maxImportRows)
	}
}

// FuzzParseImport: any text either fails with a message or gives rows of
// at most four trimmed fields with an email, never a panic.
func FuzzParseImport(f *testing.F) {
	f.Add("email,name,code,coupon\nann@example.com,Ann,ann,ANN\n")
	f.Add("\"a\"\"b\",c\n")
	f.Add("x@example.com;Y\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := parseImport(in)
		if err != nil {
			return
		}
		if len(rows) == 0 || len(rows) > maxImportRows {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			if r.Email == "" || r.Email != strings.TrimSpace(r.Email) || r.Line < 1 {
				t.Fatalf("row %+v", r)
			}
		}
	})
}
