package mail

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTMLToText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain text", "just text", "just text"},
		{"paragraphs", "<p>Hello <b>Ana</b>,</p><p>You earned <strong>$12.50</strong>.</p>",
			"Hello Ana,\n\nYou earned $12.50."},
		{"whitespace collapses", "<p>  a \n\t b  </p>\n\n<p>c</p>", "a b\n\nc"},
		{"line breaks", "a<br>b<br/><br />c", "a\nb\n\nc"},
		{"no more than one blank line", "<p>a</p><br><br><br><p>b</p>", "a\n\nb"},
		{"divs end lines", "<div>a</div><div>b</div>c", "a\nb\nc"},
		{"headings", "<h1>Sale</h1>Details", "Sale\n\nDetails"},
		{"entities", "x &amp; y &lt;z&gt; &quot;q&quot; caf&eacute; &#233;&#x41; 12,50&nbsp;&euro;",
			`x & y <z> "q" café éA 12,50 €`},
		{"unicode kept", "<p>Café — 12,50 €</p>", "Café — 12,50 €"},
		{"link", `<a href="https://example.com/portal">Open the portal</a>`,
			"Open the portal (https://example.com/portal)"},
		{"link attribute entities", `<a href="https://x.test/a?b=1&amp;c=2">go</a>`, "go (https://x.test/a?b=1&c=2)"},
		{"link unquoted and single-quoted", `<a href=https://x.test/a>a</a> <a href='https://x.test/b'>b</a>`,
			"a (https://x.test/a) b (https://x.test/b)"},
		{"link text is the url", `<a href="https://example.com/">https://example.com</a>`, "https://example.com"},
		{"link text is the url without scheme", `<a href="https://www.example.com/x">example.com/x</a>`, "example.com/x"},
		{"mailto", `Write to <a href="mailto:owner@example.com">owner@example.com</a>.`, "Write to owner@example.com."},
		{"mailto with a name", `<a href="mailto:owner@example.com">Ana</a>`, "Ana (mailto:owner@example.com)"},
		{"anchor link", `<a href="#top">Back to top</a>`, "Back to top"},
		{"javascript link", `<a href="JavaScript:alert(1)">click</a>`, "click"},
		{"link without href", `<a name="x">here</a>`, "here"},
		{"link around an image", `<a href="https://x.test/"><img src="logo.png"></a>`, "https://x.test/"},
		{"link around an image with alt", `<a href="https://x.test/"><img src="logo.png" alt="Acme"></a>`, "Acme (https://x.test/)"},
		{"link followed by a paragraph", `<p><a href="https://x.test/a">a</a></p><p>b</p>`, "a (https://x.test/a)\n\nb"},
		{"link URL with spaces and parens", `<a href="https://x.test/a b(c)">x</a>`, "x (https://x.test/a%20b%28c%29)"},
		{"unclosed link", `<a href="https://x.test/">tail`, "tail (https://x.test/)"},
		{"image alt", `<img alt="Acme logo"> Welcome`, "Acme logo Welcome"},
		{"image without alt", `<img src="x.png">Welcome`, "Welcome"},
		{"unordered list", "<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{"ordered list", "<ol><li>one<li>two</ol>", "1. one\n2. two"},
		{"ordered list start", `<ol start="9"><li>nine</li><li>ten</li></ol>`, "9. nine\n10. ten"},
		{"nested lists", "<ul><li>a<ul><li>b</li><li>c</li></ul></li><li>d</li></ul>", "- a\n  - b\n  - c\n- d"},
		{"list item with two lines", "<ol><li>first<br>more</li></ol>", "1. first\n   more"},
		{"list between paragraphs", "<p>Items:</p><ul><li>x</li></ul><p>End</p>", "Items:\n\n- x\n\nEnd"},
		{"stray li", "<li>a</li><li>b</li>", "- a\n- b"},
		{"blockquote", "<blockquote><p>one</p><p>two</p></blockquote>after", "> one\n>\n> two\n\nafter"},
		{"table rows and cells", "<table><tr><th>Order</th><th>Amount</th></tr><tr><td>A-1</td><td>$25.00</td></tr></table>",
			"Order Amount\nA-1 $25.00"},
		{"pre keeps spaces", "<pre>  a  b\n\tc</pre>after", "  a  b\n\tc\n\nafter"},
		{"hr", "<p>a</p><hr><p>b</p>", "a\n\n---\n\nb"},
		{"script and style dropped", `<style>p{color:red}</style><script>var x = "<b>";</script>x<SCRIPT type="a">y</SCRIPT >z`, "xz"},
		{"script not closed", "a<script>b", "a"},
		{"title dropped", "<html><head><title>Receipt</title></head><body>Hi</body></html>", "Hi"},
		{"comments dropped", "a<!-- <p>hidden</p> -->b<!---->c<!-->d", "abcd"},
		{"unclosed comment", "a<!-- b", "a"},
		{"doctype and cdata", "<!DOCTYPE html><?xml x?>a<![CDATA[b]]>c", "ac"},
		{"hidden preheader", `<div style="display: none; max-height:0">Preview text</div><p>Body</p>`, "Body"},
		{"hidden nested", `<div style="DISPLAY:NONE"><div>x</div>y</div>z`, "z"},
		{"hidden attribute", `<span hidden>x</span>y`, "y"},
		{"zero-width padding", "a&zwnj;&#8203;b\u00adc", "abc"},
		{"less-than in text", "a < b, 1<2, x<=y, <3", "a < b, 1<2, x<=y, <3"},
		{"tag cut by the end", "a <b class='x", "a"},
		{"attribute with >", `<a title="a>b" href="https://x.test/">y</a>`, "y (https://x.test/)"},
		{"end tag with junk", "a</p foo='>'>b", "a\n\nb"},
		{"empty end tag", "a</>b", "ab"},
		{"dropped tag between < and a letter", "<<i>b", "< b"},
		{"uppercase tags", "<P>A</P><UL><LI>B</LI></UL>", "A\n\n- B"},
		{"control characters", "a\x00b\x07c\rd", "abc d"},
		{"CRLF in pre", "<pre>a\r\nb</pre>", "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTMLToText(tt.in); got != tt.want {
				t.Errorf("HTMLToText(%q)\n got  %q\n want %q", tt.in, got, tt.want)
			}
		})
	}
}

// An email laid out the way notification templates are: nested tables, a
// hidden preheader, a button link, a footer. Golden file: testdata/email.txt.
func TestHTMLToTextEmail(t *testing.T) {
	in, err := os.ReadFile("testdata/email.html")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/email.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := HTMLToText(string(in)); got != strings.TrimSuffix(string(want), "\n") {
		t.Errorf("got:\n%s\n\nwant:\n%s", got, want)
	}
}

// Deep nesting indents up to a limit, so the text stays proportional to
// the HTML instead of growing with depth × lines.
func TestHTMLToTextDeepNesting(t *testing.T) {
	for _, unit := range []string{"<ul><li>x", "<blockquote>x<br>", "<ol><li><p>x</p>"} {
		in := strings.Repeat(unit, 5000)
		out := HTMLToText(in)
		if strings.Count(out, "x") != 5000 {
			t.Errorf("%s × 5000: %d x in the text, want 5000", unit, strings.Count(out, "x"))
		}
		if len(out) > 10*len(in) {
			t.Errorf("%s × 5000: %d bytes of text from %d of HTML", unit, len(out), len(in))
		}
	}
	if got := HTMLToText(strings.Repeat("<style></style>", 20000) + "end"); got != "end" {
		t.Errorf("many raw-text elements: got %q", got)
	}
}

func BenchmarkHTMLToText(b *testing.B) {
	in, err := os.ReadFile("testdata/email.html")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		HTMLToText(string(in))
	}
}

var tagLike = regexp.MustCompile(`<[A-Za-z/!?]`)

func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{
		"<p>Hello <b>Ana</b></p>",
		`<a href="https://x.test/?a=1&amp;b=2">x</a>`,
		"<ul><li>a<ol><li>b</ol></ul>",
		"<blockquote><pre>x\n y</pre></blockquote>",
		"<script>a</script><!-- c --><style>d",
		`<div style="display:none"><div>x</div></div>y`,
		"<<i>b", "a<", "<table><tr><td>a<td>b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := HTMLToText(in)
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Errorf("HTMLToText(%q) = %q: invalid UTF-8 from valid input", in, out)
		}
		if strings.ContainsAny(out, "\r\x00") {
			t.Errorf("HTMLToText(%q) = %q: contains CR or NUL", in, out)
		}
		if strings.Contains(out, "\n\n\n") || strings.HasPrefix(out, "\n") || strings.HasSuffix(out, "\n") {
			t.Errorf("HTMLToText(%q) = %q: stray blank lines", in, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.TrimRight(line, " \t") != line {
				t.Errorf("HTMLToText(%q) = %q: trailing whitespace on %q", in, out, line)
			}
		}
		// Without entities (which may spell a literal "<b>") or attribute
		// values (alt text is text), every '<' that starts markup in the input
		// is gone from the output.
		if !strings.ContainsAny(in, "&=") && tagLike.MatchString(out) {
			t.Errorf("HTMLToText(%q) = %q: markup left in the text", in, out)
		}
	})
}
