package ui_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/ui"
)

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"Course":          "Course",
		"=1+2":            "'=1+2",
		"+44 20":          "'+44 20",
		"-cmd|' /C calc'": "'-cmd|' /C calc'",
		"@SUM(A1)":        "'@SUM(A1)",
		"\t=x":            "'\t=x",
		"\r=x":            "'\r=x",
		"-12.50":          "-12.50",
		"+3":              "+3",
		"12":              "12",
		"a=b":             "a=b",
	} {
		if got := ui.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSV(t *testing.T) {
	w := httptest.NewRecorder()
	c := ui.NewCSV(w, "commissions 2026.csv")
	_ = c.Row("product", "amount")
	_ = c.Row(`=HYPERLINK("http://evil")`, "-12.50")
	_ = c.Row("a, \"quoted\"\nline", "3")
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="commissions 2026.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[1][0] != `'=HYPERLINK("http://evil")` || rows[1][1] != "-12.50" || rows[2][0] != "a, \"quoted\"\nline" {
		t.Fatalf("rows %q", rows)
	}
}

func TestChartSVG(t *testing.T) {
	c := ui.Chart{ID: "c1", Title: `Clicks <per> "day"`, Labels: []string{"1 Nov", "2 Nov", "<3 Nov>"},
		Bars:  &ui.Series{Name: "Clicks", Class: "s1", Values: []int64{3, 0, 7}},
		Lines: []ui.Series{{Name: "Unique visitors", Class: "s2", Values: []int64{2, 0, 5}}}}
	svg := string(c.SVG())
	for _, want := range []string{
		`<svg class="chart" viewBox="0 0 720 220" role="img" aria-labelledby="c1-t"`,
		`<title id="c1-t">Clicks &lt;per&gt; &#34;day&#34;</title>`,
		`<title>&lt;3 Nov&gt;: 7 clicks</title>`,
		`<title>1 Nov: 2 unique visitors</title>`,
		`>10</text>`, // the axis top: 7 rounded up to a nice 10
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<3 Nov>") || strings.Contains(svg, "<per>") {
		t.Error("unescaped text in the SVG")
	}
	if n := strings.Count(svg, `<rect class="bar s1"`); n != 2 {
		t.Errorf("%d bars, want 2 (zero bars are not drawn)", n)
	}
	if n := strings.Count(svg, `<circle class="dot s2"`); n != 3 {
		t.Errorf("%d points, want 3", n)
	}
	rows := c.Table()
	if len(rows) != 3 || rows[2].Label != "<3 Nov>" || rows[2].Values[0] != "7" || rows[2].Values[1] != "5" {
		t.Errorf("Table = %+v", rows)
	}
	// Labels: at most 7, first and last included.
	long := ui.Chart{ID: "c2", Labels: make([]string, 90)}
	for i := range long.Labels {
		long.Labels[i] = "d" + strings.Repeat("x", i%3) + string(rune('A'+i%26)) + time.Duration(i).String()
	}
	svg = string(long.SVG())
	if n := strings.Count(svg, `class="axis x"`); n != 7 {
		t.Errorf("%d x labels for 90 points, want 7", n)
	}
	if !strings.Contains(svg, ">"+long.Labels[0]+"<") || !strings.Contains(svg, ">"+long.Labels[89]+"<") {
		t.Error("the first or the last label is missing")
	}
	// An empty chart still draws.
	if svg := string((ui.Chart{ID: "e"}).SVG()); !strings.HasSuffix(svg, "</svg>") {
		t.Errorf("empty chart: %s", svg)
	}
}

func TestParseRange(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	for _, tc := range []struct {
		q        string
		key      string
		from, to string // [from, to)
		err      string // the field at fault
	}{
		{"", "30", "2026-10-25", "2026-11-24", ""},
		{"range=7", "7", "2026-11-17", "2026-11-24", ""},
		{"range=90", "90", "2026-08-26", "2026-11-24", ""},
		{"range=custom&from=2026-11-01&to=2026-11-10", "custom", "2026-11-01", "2026-11-11", ""},
		{"from=2026-11-01", "custom", "2026-11-01", "2026-11-24", ""},
		{"range=custom&from=2026-11-10&to=2026-11-01", "", "", "", "to"},
		{"range=custom&from=nope", "", "", "", "from"},
		{"range=custom", "", "", "", "from"},
		{"range=custom&from=2024-01-01&to=2026-01-01", "", "", "", "from"},
		{"range=365", "", "", "", "range"},
	} {
		q, _ := url.ParseQuery(tc.q)
		r, err := ui.ParseRange(q, now, "30")
		if tc.err != "" {
			if e, ok := apperr.As(err); !ok || e.Field != tc.err {
				t.Errorf("%q: error %v, want one about %s", tc.q, err, tc.err)
			}
			continue
		}
		if err != nil || r.Key != tc.key || !r.From.Equal(day(tc.from)) || !r.To.Equal(day(tc.to)) {
			t.Errorf("%q = %+v, %v; want %s [%s, %s)", tc.q, r, err, tc.key, tc.from, tc.to)
		}
		if r.ToDay != r.To.AddDate(0, 0, -1).Format("2006-01-02") || r.FromDay != tc.from {
			t.Errorf("%q: days %s–%s", tc.q, r.FromDay, r.ToDay)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "range=7", "range=custom&from=2026-11-01&to=2026-11-10", "from=0000-01-01&to=9999-12-31"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		q, _ := url.ParseQuery(s)
		r, err := ui.ParseRange(q, now, "30")
		if err != nil {
			return
		}
		if !r.To.After(r.From) || r.Days() > ui.MaxRangeDays || r.Days() < 1 {
			t.Fatalf("%q gave %+v (%d days)", s, r, r.Days())
		}
	})
}

func TestPager(t *testing.T) {
	r := httptest.NewRequest("GET", "/portal/commissions?status=paid&after=40", nil)
	p := ui.NewPager(r, "after", "90")
	if p.First != "/portal/commissions?status=paid" || p.Next != "/portal/commissions?after=90&status=paid" {
		t.Errorf("%+v", p)
	}
	r = httptest.NewRequest("GET", "/portal/commissions", nil)
	if p := ui.NewPager(r, "after", ""); p.First != "" || p.Next != "" {
		t.Errorf("one page: %+v", p)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		part, whole int64
		want        string
	}{
		{0, 0, "–"}, {1, 3, "33.3%"}, {2, 3, "66.7%"}, {5, 5, "100.0%"}, {1, 1000, "0.1%"},
	} {
		if got := ui.Percent(tc.part, tc.whole); got != tc.want {
			t.Errorf("Percent(%d, %d) = %q, want %q", tc.part, tc.whole, got, tc.want)
		}
	}
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                       "Firefox on Linux",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0":            "Edge on Windows",
		"curl/8.5": "A program",
		"":         "A browser",
	} {
		if got := ui.Browser(ua); got != want {
			t.Errorf("Browser(%q) = %q, want %q", ua, got, want)
		}
	}
	if got := ui.StatusLabel("in_payout"); got != "In payout" {
		t.Errorf("StatusLabel = %q", got)
	}
}

func TestRenderer(t *testing.T) {
	fsys := fstest.MapFS{
		"t/_parts.html": {Data: []byte(`{{define "hello"}}Hello, {{.}}{{end}}`)},
		"t/page.html":   {Data: []byte(`{{define "content"}}<h1>{{.Title}}</h1><p>{{template "hello" .Data}}</p>{{end}}`)},
	}
	r, err := ui.NewRenderer(fsys, "t/*.html", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &ui.Surface{Name: "Test app", Prefix: "/t", Renderer: r}
	w := httptest.NewRecorder()
	if err := s.Render(w, httptest.NewRequest("GET", "/t", nil), http.StatusTeapot, "page", &ui.View{Title: "Page", Data: "<b>x</b>"}); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if w.Code != http.StatusTeapot || !strings.Contains(body, "<p>Hello, &lt;b&gt;x&lt;/b&gt;</p>") ||
		!strings.Contains(body, "<title>Page · Test app</title>") || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %s", w.Code, body)
	}
	// The shared pages come along; a page may not shadow one.
	w = httptest.NewRecorder()
	if err := s.Render(w, httptest.NewRequest("GET", "/t", nil), 404, "error", &ui.View{Title: "Not found", Error: "gone"}); err != nil ||
		!strings.Contains(w.Body.String(), `<h1>Not found</h1>`) {
		t.Fatalf("shared error page: %v %s", err, w.Body)
	}
	fsys["t/error.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}x{{end}}`)}
	if _, err := ui.NewRenderer(fsys, "t/*.html", nil); err == nil || !strings.Contains(err.Error(), `two pages named "error"`) {
		t.Fatalf("duplicate page: %v", err)
	}
	if err := s.Render(httptest.NewRecorder(), httptest.NewRequest("GET", "/t", nil), 200, "nope", nil); err == nil {
		t.Fatal("unknown page rendered")
	}
}

func TestAssets(t *testing.T) {
	srv := httptest.NewServer(ui.Assets())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/ui/ui.css")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/css; charset=utf-8" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	// The versioned URL the layout uses is cached for good.
	ver := regexp.MustCompile(`ui\.css\?v=([0-9a-f]{8})`).FindStringSubmatch(string(ui.Funcs()["asset"].(func(string) string)("ui.css")))
	if ver == nil {
		t.Fatal("no version in the asset URL")
	}
	res, err = http.Get(srv.URL + "/ui/ui.css?v=" + ver[1])
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	res.Body.Close()
	if !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(b.String(), "focus-visible") {
		t.Fatalf("versioned: %v", res.Header)
	}
	for _, p := range []string{"/ui/nope.css", "/ui/../ui.go", "/ui/"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
}
