package outreach

import (
	"strings"
	"testing"

	"affiliated/internal/apperr"
)

const base = "https://go.example.com"

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name                string
		subject, html, text string
		field, want         string
	}{
		{"unknown field in html", "Hi", `<p>{{.Nmae}}</p>`, "", "html", "unknown field {{.Nmae}}"},
		{"unknown field in subject", "Hi {{.Fist}}", `<p>x</p>`, "", "subject", "unknown field {{.Fist}}"},
		{"unknown field in text", "Hi", `<p>x</p>`, "Hi {{.Phone}}", "text", "unknown field {{.Phone}}"},
		{"unknown field in a branch the sample skips", "Hi", `{{if not .Name}}{{.Nope}}{{end}}`, "", "html", "unknown field {{.Nope}}"},
		{"unknown field through $", "Hi", `{{with .Name}}{{$.Nope}}{{end}}`, "", "html", "unknown field {{.Nope}}"},
		{"field of a field", "Hi", `{{.Name.Length}}`, "", "html", "has no field Length"},
		{"range", "Hi", `{{range .Clicks}}x{{end}}`, "", "html", "range is not supported"},
		{"template call", "Hi", `{{define "a"}}x{{end}}{{template "a"}}`, "", "html", "{{template}} is not supported"},
		{"syntax", "Hi", `<p>{{.Name</p>`, "", "html", "line 1: bad character"},
		{"bad call at run time", "Hi", `{{$x := .Name}}{{$x.Foo}}`, "", "html", "can't evaluate field Foo"},
		{"no subject", " ", `<p>x</p>`, "", "subject", "is required"},
		{"no body", "Hi", " ", "", "html", "is required"},
		{"subject too long", strings.Repeat("x", 999), `<p>x</p>`, "", "subject", "longer"},
		{"html in a script context it cannot escape", "Hi", `<script>var x = "{{.Name}}</script>`, "", "html", ""},
		{"output too large", "Hi", strings.Repeat(`{{printf "%999s" "x"}}`, 3000), "", "html", "longer than 2 MB"},
		{"printf width", "Hi", `{{printf "%999999999s" "x"}}`, "", "html", "limited to 3 digits"},
		{"printf precision", "Hi", `{{printf "%.99999f" 1.0}}`, "", "html", "limited to 3 digits"},
		{"printf star", "Hi", `{{printf "%*s" 100000000 "x"}}`, "", "html", "limited to 3 digits"},
		{"printf format from a field", "Hi {{printf .Name 1}}", `<p>x</p>`, "", "subject", "quoted format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.subject, tc.html, tc.text, base)
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindInvalid {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if e.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", e.Field, tc.field, err)
			}
			t.Logf("%s: %s", e.Field, e.Message)
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q does not say %q", e.Message, tc.want)
			}
		})
	}
}

func TestParseAcceptsEveryField(t *testing.T) {
	var b strings.Builder
	for _, f := range Fields {
		b.WriteString("{{." + f + "}} ")
	}
	all := b.String()
	tmpl, err := Parse("Hello {{.Name}}", "<p>"+all+`{{printf "%05d" .Clicks}}</p>`, all, base)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tmpl.Render(sampleRecipient(base))
	if err != nil {
		t.Fatal(err)
	}
	want := "Solare Wines hello@solare.example solare https://go.example.com/r/solare SOLARE10 42 Partners "
	if e.Text != want {
		t.Errorf("text %q, want %q", e.Text, want)
	}
	if !strings.Contains(e.HTML, "00042") {
		t.Errorf("printf: %s", e.HTML)
	}
	if e.Subject != "Hello Solare Wines" {
		t.Errorf("subject %q", e.Subject)
	}
}

func TestRenderEscapesHTMLOnly(t *testing.T) {
	tmpl, err := Parse("For {{.Name}}", `<p>Hi {{.Name}}, <a href="{{.ReferralURL}}">your link</a></p>`, "Hi {{.Name}}", base)
	if err != nil {
		t.Fatal(err)
	}
	r := Recipient{Name: `<script>alert("x")</script> & Co`, ReferralURL: base + "/r/evil?a=1&b=2"}
	e, err := tmpl.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.HTML, "<script>") {
		t.Errorf("HTML part holds an unescaped <script>: %s", e.HTML)
	}
	if !strings.Contains(e.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co") {
		t.Errorf("HTML part: %s", e.HTML)
	}
	if !strings.Contains(e.HTML, `href="https://go.example.com/r/evil?a=1&amp;b=2"`) {
		t.Errorf("link: %s", e.HTML)
	}
	// The text and the subject are not HTML: no entities there.
	if e.Text != `Hi <script>alert("x")</script> & Co` {
		t.Errorf("text %q", e.Text)
	}
	if e.Subject != `For <script>alert("x")</script> & Co` {
		t.Errorf("subject %q", e.Subject)
	}
}

func TestRenderURLContext(t *testing.T) {
	// A name in a URL attribute cannot become a javascript: link.
	tmpl, err := Parse("x", `<a href="{{.Name}}">x</a>`, "", base)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tmpl.Render(Recipient{Name: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.HTML, "javascript:") {
		t.Errorf("HTML %s", e.HTML)
	}
}

func TestDerivedText(t *testing.T) {
	html := `<h1>Hello {{.Name}}</h1>
<p>Send guests with <a href="{{.ReferralURL}}">your own link</a> or code <b>{{.CouponCode}}</b>.</p>
<ul><li>one</li><li>two</li></ul>
<p>{{.ReferralURL}}</p>`
	tmpl, err := Parse("Hi", html, "", base)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tmpl.Render(Recipient{Name: "Ann & Bo", ReferralURL: base + "/r/ann?utm_content=spring", CouponCode: "ANN5"})
	if err != nil {
		t.Fatal(err)
	}
	want := "Hello Ann & Bo\n\nSend guests with your own link (https://go.example.com/r/ann?utm_content=spring) or code ANN5.\n\n- one\n- two\n\nhttps://go.example.com/r/ann?utm_content=spring"
	if strings.TrimSpace(e.Text) != want {
		t.Errorf("text:\n%s\nwant:\n%s", e.Text, want)
	}
}

func TestPlainTextOnly(t *testing.T) {
	tmpl, err := Parse("Hi", "", "Dear {{.Name}}: {{.ReferralURL}}", base)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tmpl.Render(Recipient{Name: "<b>Ann</b>", ReferralURL: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if e.HTML != "" || e.Text != "Dear <b>Ann</b>: u" {
		t.Errorf("html %q text %q", e.HTML, e.Text)
	}
}

func TestReferralURL(t *testing.T) {
	if got := referralURL(base+"/r/ann", "spring-2027", false); got != base+"/r/ann" {
		t.Error(got)
	}
	if got := referralURL(base+"/r/ann", "spring-2027", true); got != base+"/r/ann?utm_content=spring-2027" {
		t.Error(got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("Hi {{.Name}}", `<p>{{.ReferralURL}}</p>`, "")
	f.Add("{{if .Clicks}}x{{end}}", `<a href="{{.ReferralURL}}">{{.Name}}</a>`, "{{.Code}}")
	f.Add("{{", "{{.}}", "{{range 5}}{{end}}")
	f.Add(`{{printf "%5d" .Clicks}}`, `{{printf "%-12s|" .Name}}`, `{{printf "%.2f" 1.5}}`)
	f.Fuzz(func(t *testing.T, subject, html, text string) {
		tmpl, err := Parse(subject, html, text, base)
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("error is not an apperr: %v", err)
			}
			return
		}
		// What Parse accepts renders for any recipient.
		if _, err := tmpl.Render(Recipient{Name: "<x>", Email: "a@b.c", Clicks: 3}); err != nil {
			t.Fatalf("accepted %q %q %q but Render fails: %v", subject, html, text, err)
		}
	})
}
