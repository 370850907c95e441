package mail

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// HTMLToText derives the plain-text part of an email from its HTML: tags
// removed, entities decoded, whitespace collapsed as a browser would,
// paragraphs and headings separated by a blank line, <br> kept as a line
// break, list items as "- item" or "1. item" (indented when nested),
// blockquotes prefixed with "> ", table cells separated by a space and rows by
// a line break, links as "text (url)", images by their alt text. The content of
// script, style, title and similar elements is dropped, and so is any element
// with a hidden attribute or an inline display:none (email preheaders).
//
// It is a small tokenizer on the standard library (golang.org/x/net/html is
// not in this module's dependencies) that never fails: malformed input gives
// best-effort text, never a panic.
func HTMLToText(s string) string {
	c := converter{}
	c.run(s)
	return c.finish()
}

// rawText elements hold text that is not markup and not shown.
var rawText = map[string]bool{
	"script": true, "style": true, "title": true, "textarea": true, "xmp": true,
	"iframe": true, "noembed": true, "noframes": true, "template": true,
}

var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true,
	"track": true, "wbr": true, "param": true,
}

// Elements that end the line before and after them; paragraphs also leave a
// blank line.
var (
	paragraphs = map[string]bool{
		"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
		"blockquote": true, "pre": true, "dl": true, "figure": true, "address": true,
		"ul": true, "ol": true, "hr": true,
	}
	lines = map[string]bool{
		"div": true, "li": true, "tr": true, "table": true, "dt": true, "dd": true,
		"section": true, "article": true, "header": true, "footer": true, "nav": true,
		"aside": true, "main": true, "form": true, "fieldset": true, "center": true,
		"caption": true, "details": true, "summary": true, "figcaption": true,
		"legend": true, "body": true, "html": true, "tbody": true, "thead": true, "tfoot": true,
	}
)

type attr struct{ name, val string }

type list struct {
	ordered bool
	next    int
	item    int // prefix depth before the open <li>, or -1 when none is open
	depth   int // prefix depth before the list
}

// prefixEntry is one level of line prefix: "> " for a blockquote, spaces for
// a list item, whose first line shows marker instead.
type prefixEntry struct {
	indent, marker string
}

// maxPrefix caps the nesting of quotes and list items that indent lines:
// deeper levels share the last indentation, so output stays linear in the
// input however deep the nesting.
const maxPrefix = 12

type converter struct {
	out       []byte
	nl        int  // line breaks owed before the next text
	space     bool // a space is owed before the next text on this line
	lineStart bool // out ends with a line break (or is empty)
	pre       int  // depth of <pre>
	prefix    []prefixEntry
	lists     []list
	quotes    []int // prefix depth before each open <blockquote>
	link      *link
	skipName  string // element being skipped (hidden), with its nesting depth
	skipDepth int
	afterLT   bool // the text chunk being written follows a '<' in out
}

type link struct {
	href  string
	start int // len(out) when the link began
}

func (c *converter) run(s string) {
	c.lineStart = true
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			c.text(s)
			return
		}
		if i > 0 {
			c.text(s[:i])
			s = s[i:]
		}
		s = c.markup(s)
	}
}

// markup consumes one token starting at '<' and returns the rest.
func (c *converter) markup(s string) string {
	if len(s) < 2 {
		c.text(s)
		return ""
	}
	switch b := s[1]; {
	case strings.HasPrefix(s, "<!--"):
		rest := s[4:]
		switch {
		case strings.HasPrefix(rest, ">"):
			return rest[1:]
		case strings.HasPrefix(rest, "->"):
			return rest[2:]
		}
		if j := strings.Index(rest, "-->"); j >= 0 {
			return rest[j+3:]
		}
		return ""
	case b == '!' || b == '?':
		return skipPast(s, '>')
	case b == '/':
		if len(s) > 2 && isLetter(s[2]) {
			name, _, rest, ok := parseTag(s[2:])
			if ok {
				c.end(name)
			}
			return rest
		}
		return skipPast(s, '>') // "</>" and "</ …>" are dropped
	case isLetter(b):
		name, attrs, rest, ok := parseTag(s[1:])
		if !ok {
			return "" // a tag cut by the end of input is dropped
		}
		selfClosing := strings.HasSuffix(strings.TrimRight(s[:len(s)-len(rest)-1], " \t\n\r\f"), "/")
		if rawText[name] {
			return skipRawText(rest, name)
		}
		c.start(name, attrs, selfClosing)
		return rest
	}
	c.text("<")
	return s[1:]
}

func isLetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' }

func skipPast(s string, b byte) string {
	if j := strings.IndexByte(s, b); j >= 0 {
		return s[j+1:]
	}
	return ""
}

// skipRawText drops everything up to and including </name>, name in any case.
func skipRawText(s, name string) string {
	for off := 0; ; {
		j := strings.Index(s[off:], "</")
		if j < 0 {
			return ""
		}
		start := off + j + 2 // the end tag's name
		k := start + len(name)
		if k <= len(s) && strings.EqualFold(s[start:k], name) &&
			(k == len(s) || isSpace(s[k]) || s[k] == '/' || s[k] == '>') {
			_, _, rest, _ := parseTag(s[start:])
			return rest
		}
		off = start
	}
}

// parseTag reads a tag name and attributes (s starts at the name) up to the
// closing '>'. ok is false when the input ends first.
func parseTag(s string) (name string, attrs []attr, rest string, ok bool) {
	i := 0
	for i < len(s) && !isSpace(s[i]) && s[i] != '/' && s[i] != '>' {
		i++
	}
	name = strings.ToLower(s[:i])
	for {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			return name, attrs, "", false
		}
		if s[i] == '>' {
			return name, attrs, s[i+1:], true
		}
		// An attribute name may start with '=' (a parse error browsers accept).
		j := i + 1
		for j < len(s) && !isSpace(s[j]) && s[j] != '/' && s[j] != '>' && s[j] != '=' {
			j++
		}
		a := attr{name: strings.ToLower(s[i:j])}
		i = j
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i >= len(s) {
				return name, attrs, "", false
			}
			if q := s[i]; q == '"' || q == '\'' {
				k := strings.IndexByte(s[i+1:], q)
				if k < 0 {
					return name, attrs, "", false
				}
				a.val = s[i+1 : i+1+k]
				i += k + 2
			} else {
				k := i
				for k < len(s) && !isSpace(s[k]) && s[k] != '>' {
					k++
				}
				a.val = s[i:k]
				i = k
			}
			a.val = html.UnescapeString(a.val)
		}
		attrs = append(attrs, a)
	}
}

func attrVal(attrs []attr, name string) (string, bool) {
	for _, a := range attrs {
		if a.name == name {
			return a.val, true
		}
	}
	return "", false
}

func hidden(attrs []attr) bool {
	if _, ok := attrVal(attrs, "hidden"); ok {
		return true
	}
	style, _ := attrVal(attrs, "style")
	style = strings.ToLower(strings.Join(strings.Fields(style), ""))
	return strings.Contains(style, "display:none")
}

func (c *converter) start(name string, attrs []attr, selfClosing bool) {
	if c.skipName != "" {
		if name == c.skipName && !selfClosing {
			c.skipDepth++
		}
		return
	}
	if !voidElements[name] && !selfClosing && hidden(attrs) {
		c.skipName, c.skipDepth = name, 1
		return
	}
	switch name {
	case "br":
		if len(c.out) > 0 {
			c.nl++
			c.space = false
		}
		return
	case "img":
		if alt, _ := attrVal(attrs, "alt"); alt != "" {
			c.text(html.EscapeString(alt)) // text() unescapes
		}
		return
	case "a":
		c.endLink()
		if href, ok := attrVal(attrs, "href"); ok {
			c.link = &link{href: href, start: len(c.out)}
		}
		return
	case "td", "th":
		c.space = true
		return
	case "pre":
		c.pre++
	case "blockquote":
		c.block(2)
		c.quotes = append(c.quotes, len(c.prefix))
		c.push(prefixEntry{indent: "> "})
		return
	case "ul", "ol":
		if len(c.lists) > 0 {
			c.block(1) // a nested list continues its item
		} else {
			c.block(2)
		}
		l := list{ordered: name == "ol", next: 1, item: -1, depth: len(c.prefix)}
		if v, ok := attrVal(attrs, "start"); ok && l.ordered {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= -1e6 && n <= 1e6 {
				l.next = n
			}
		}
		c.lists = append(c.lists, l)
		return
	case "li":
		c.block(1)
		if len(c.lists) == 0 {
			c.lists = append(c.lists, list{item: -1, next: 1, depth: len(c.prefix)})
		}
		l := &c.lists[len(c.lists)-1]
		if l.item >= 0 { // <li> closes the previous item of its list
			c.truncate(l.item)
		}
		marker := "- "
		if l.ordered {
			marker = strconv.Itoa(l.next) + ". "
			l.next++
		}
		l.item = len(c.prefix)
		c.push(prefixEntry{indent: strings.Repeat(" ", len(marker)), marker: marker})
		return
	case "hr":
		c.block(2)
		c.text("---")
		c.block(2)
		return
	}
	if paragraphs[name] {
		c.block(2)
	} else if lines[name] {
		c.block(1)
	}
}

func (c *converter) end(name string) {
	if c.skipName != "" {
		if name == c.skipName {
			c.skipDepth--
			if c.skipDepth == 0 {
				c.skipName = ""
			}
		}
		return
	}
	switch name {
	case "a":
		c.endLink()
	case "pre":
		if c.pre > 0 {
			c.pre--
		}
		c.block(2)
	case "blockquote":
		if n := len(c.quotes); n > 0 {
			c.truncate(c.quotes[n-1])
			c.quotes = c.quotes[:n-1]
		}
		c.block(2)
	case "ul", "ol":
		if n := len(c.lists); n > 0 {
			c.truncate(c.lists[n-1].depth)
			c.lists = c.lists[:n-1]
		}
		if len(c.lists) > 0 {
			c.block(1)
		} else {
			c.block(2)
		}
	case "li":
		if n := len(c.lists); n > 0 && c.lists[n-1].item >= 0 {
			c.truncate(c.lists[n-1].item)
			c.lists[n-1].item = -1
		}
		c.block(1)
	default:
		if paragraphs[name] {
			c.block(2)
		} else if lines[name] {
			c.block(1)
		}
	}
}

func (c *converter) push(e prefixEntry) {
	if len(c.prefix) < maxPrefix {
		c.prefix = append(c.prefix, e)
	}
}

// truncate closes the prefix levels opened after depth n.
func (c *converter) truncate(n int) {
	if n < len(c.prefix) {
		c.prefix = c.prefix[:n]
	}
}

// block owes n line breaks (1: new line, 2: blank line) before the next text.
func (c *converter) block(n int) {
	if len(c.out) > 0 && c.nl < n {
		c.nl = n
	}
	c.space = false
}

// text writes a chunk of character data (entities not yet decoded).
func (c *converter) text(s string) {
	if c.skipName != "" || s == "" {
		return
	}
	s = html.UnescapeString(s)
	c.afterLT = len(c.out) > 0 && c.out[len(c.out)-1] == '<' && c.nl == 0 && !c.space
	for _, r := range s {
		switch {
		case r == '\n' && c.pre > 0:
			c.nl++
		case r == '\r' && c.pre > 0:
			// CRLF is one line break.
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == 0xA0:
			if c.pre > 0 {
				c.flush()
				if r == '\t' {
					c.out = append(c.out, '\t')
				} else {
					c.out = append(c.out, ' ')
				}
			} else {
				c.space = true
			}
		case r < ' ', r == 0x7F, r == 0xAD, r == 0x34F,
			r >= 0x200B && r <= 0x200D, r == 0x2060, r == 0xFEFF:
			// Controls, soft hyphens and zero-width characters (preheader
			// padding) have no place in plain text.
		default:
			c.flush()
			if c.afterLT && (r < utf8.RuneSelf && isLetter(byte(r)) || r == '/' || r == '!' || r == '?') {
				// A dropped tag between '<' and a letter must not make a new tag.
				c.out = append(c.out, ' ')
			}
			c.afterLT = false
			c.out = utf8.AppendRune(c.out, r)
		}
	}
}

// flush writes the line breaks, line prefix and space owed before content.
func (c *converter) flush() {
	if c.nl > 0 && len(c.out) > 0 {
		if c.nl > 2 {
			c.nl = 2
		}
		for i := 0; i < c.nl; i++ {
			if i > 0 { // a blank line keeps the quote marks, trimmed
				c.out = append(c.out, strings.TrimRight(c.linePrefix(false), " ")...)
			}
			c.out = append(c.out, '\n')
		}
		c.lineStart = true
		c.space = false
	}
	c.nl = 0
	if c.lineStart {
		c.out = append(c.out, c.linePrefix(true)...)
		c.lineStart = false
		c.space = false
		c.afterLT = false
	}
	if c.space {
		c.out = append(c.out, ' ')
		c.space = false
		c.afterLT = false
	}
}

// linePrefix is the prefix of a new line; first uses (and clears) the list
// markers that have not been shown yet.
func (c *converter) linePrefix(first bool) string {
	var b strings.Builder
	for i := range c.prefix {
		p := &c.prefix[i]
		if first && p.marker != "" {
			b.WriteString(p.marker)
			p.marker = ""
		} else {
			b.WriteString(p.indent)
		}
	}
	return b.String()
}

// endLink writes the open link's URL after its text.
func (c *converter) endLink() {
	l := c.link
	if l == nil {
		return
	}
	c.link = nil
	href := cleanURL(l.href)
	if href == "" {
		return
	}
	text := strings.TrimSpace(string(c.out[l.start:]))
	if text == "" {
		c.text(html.EscapeString(href))
		return
	}
	if sameURL(text, href) {
		return
	}
	// Right after the link text, before any line break or space still owed.
	c.out = append(c.out, " ("+href+")"...)
}

// cleanURL returns the URL to show, or "" for links that mean nothing
// outside the HTML (anchors, scripts). Characters that may not appear in a
// URL are percent-encoded so the text stays unambiguous.
func cleanURL(href string) string {
	href = strings.TrimSpace(href)
	lower := strings.ToLower(href)
	for _, p := range []string{"#", "javascript:", "vbscript:", "data:"} {
		if strings.HasPrefix(lower, p) {
			return ""
		}
	}
	var b strings.Builder
	for i := 0; i < len(href); i++ {
		switch ch := href[i]; {
		case ch <= ' ' || ch == 0x7F || ch == '<' || ch == '>' || ch == '"' || ch == '(' || ch == ')':
			fmt.Fprintf(&b, "%%%02X", ch)
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// sameURL reports whether a link's text already shows its URL.
func sameURL(text, href string) bool {
	t := strings.TrimSuffix(strings.ToLower(text), "/")
	h := strings.TrimSuffix(strings.ToLower(href), "/")
	for _, p := range []string{"", "mailto:", "tel:", "https://", "http://", "https://www.", "http://www."} {
		if p+t == h {
			return true
		}
	}
	return false
}

func (c *converter) finish() string {
	c.endLink()
	out := string(c.out)
	ls := strings.Split(out, "\n")
	var b strings.Builder
	blank := 0
	for _, l := range ls {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(l)
	}
	return b.String()
}
