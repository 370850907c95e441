package outreach

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net/url"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"

	"affiliated/internal/apperr"
	"affiliated/internal/mail"
)

// Recipient is what a campaign's templates may use: {{.Name}}, {{.Email}},
// {{.Code}}, {{.ReferralURL}}, {{.CouponCode}}, {{.Clicks}}, {{.ProgramName}}.
type Recipient struct {
	AffiliateID int64  `json:"affiliate_id"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	Code        string `json:"code"`
	// ReferralURL is the vendor's own /r/{code} link, with
	// utm_content=<campaign slug> when the campaign tags its links.
	ReferralURL string `json:"referral_url"`
	CouponCode  string `json:"coupon_code"`
	Clicks      int64  `json:"clicks"` // human clicks so far
	ProgramName string `json:"program_name"`
}

// Fields are the names templates may use, in the order the docs list them.
var Fields = []string{"Name", "Email", "Code", "ReferralURL", "CouponCode", "Clicks", "ProgramName"}

// sampleRecipient is what templates are executed against at save time, so
// an error shows then and not when the campaign is sent. Every field is
// set, so that {{if .X}} takes its branch.
func sampleRecipient(baseURL string) Recipient {
	return Recipient{
		AffiliateID: 1, Name: "Solare Wines", Email: "hello@solare.example", Code: "solare",
		ReferralURL: baseURL + "/r/solare", CouponCode: "SOLARE10", Clicks: 42, ProgramName: "Partners",
	}
}

// Limits on what a template may be and produce.
const (
	maxSubject  = 998 // the longest line RFC 5322 allows
	maxTemplate = 512 << 10
	maxOutput   = 2 << 20
)

// Templates are a campaign's parsed subject, HTML and text parts.
type Templates struct {
	subject *template.Template
	html    *htmltemplate.Template
	text    *template.Template // nil: derive from the HTML
}

// Parse parses and checks a campaign's templates: syntax, only the fields of
// Recipient, no range or template calls (nothing in Recipient needs them,
// and a range over a number could loop for minutes), and a trial run
// against a sample recipient. Errors name the field at fault (subject,
// html, text) and are apperr.Invalid.
func Parse(subject, html, text, baseURL string) (*Templates, error) {
	switch {
	case strings.TrimSpace(subject) == "":
		return nil, apperr.Invalid("subject", "is required")
	case len(subject) > maxSubject:
		return nil, apperr.Invalid("subject", "is longer than %d characters", maxSubject)
	case strings.TrimSpace(html) == "" && strings.TrimSpace(text) == "":
		return nil, apperr.Invalid("html", "is required (or text, for a plain-text email)")
	case len(html) > maxTemplate:
		return nil, apperr.Invalid("html", "is longer than %d bytes", maxTemplate)
	case len(text) > maxTemplate:
		return nil, apperr.Invalid("text", "is longer than %d bytes", maxTemplate)
	}
	var t Templates
	var err error
	if t.subject, err = template.New("subject").Option("missingkey=error").Parse(subject); err != nil {
		return nil, templateErr("subject", err)
	}
	if err := checkTree("subject", t.subject.Tree); err != nil {
		return nil, err
	}
	if t.html, err = htmltemplate.New("html").Option("missingkey=error").Parse(html); err != nil {
		return nil, templateErr("html", err)
	}
	if err := checkTree("html", t.html.Tree); err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) != "" {
		if t.text, err = template.New("text").Option("missingkey=error").Parse(text); err != nil {
			return nil, templateErr("text", err)
		}
		if err := checkTree("text", t.text.Tree); err != nil {
			return nil, err
		}
	}
	if _, err := t.Render(sampleRecipient(baseURL)); err != nil {
		return nil, err
	}
	return &t, nil
}

// templateErr turns a parse or execution error into an Invalid naming field,
// without the template name Go puts first ("template: html:3: …").
func templateErr(field string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "template: ")
	msg = strings.TrimPrefix(msg, "html/template:")
	msg = strings.TrimPrefix(msg, field+":")
	if msg != "" && msg[0] >= '0' && msg[0] <= '9' {
		msg = "line " + msg
	}
	if strings.Contains(msg, "can't evaluate field") {
		msg += "; the fields are " + fieldList()
	}
	return apperr.Invalid(field, "%s", strings.TrimSpace(msg))
}

func fieldList() string {
	out := make([]string, len(Fields))
	for i, f := range Fields {
		out[i] = "{{." + f + "}}"
	}
	return strings.Join(out, ", ")
}

// checkTree walks a parsed template and refuses unknown fields, range and
// template invocations, wherever they are: a branch the sample recipient
// does not take is checked too.
func checkTree(field string, tree *parse.Tree) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	known := map[string]bool{}
	for _, f := range Fields {
		known[f] = true
	}
	var bad error
	var walk func(n parse.Node)
	fail := func(n parse.Node, format string, args ...any) {
		if bad == nil {
			loc, _ := tree.ErrorContext(n)
			bad = apperr.Invalid(field, "line %s: %s", strings.TrimPrefix(loc, tree.ParseName+":"), fmt.Sprintf(format, args...))
		}
	}
	checkField := func(n parse.Node, idents []string) {
		if len(idents) == 0 {
			return
		}
		if !known[idents[0]] {
			fail(n, "unknown field {{.%s}}; the fields are %s", idents[0], fieldList())
		} else if len(idents) > 1 {
			fail(n, "{{.%s}} has no field %s", idents[0], idents[1])
		}
	}
	walk = func(n parse.Node) {
		if n == nil || bad != nil {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "printf" {
				checkPrintf(n, fail)
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			checkField(n, n.Ident)
		case *parse.VariableNode:
			if len(n.Ident) > 0 && n.Ident[0] == "$" {
				checkField(n, n.Ident[1:])
			}
		case *parse.ChainNode:
			walk(n.Node)
			fail(n, "fields of a result are not supported")
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			fail(n, "range is not supported in outreach templates")
		case *parse.TemplateNode:
			fail(n, "{{template}} is not supported in outreach templates")
		}
	}
	walk(tree.Root)
	return bad
}

// wideVerb finds a printf width or precision of 4 digits or more, or one
// taken from an argument ("*"): printf would build that string in memory
// before the output limit could stop it.
var wideVerb = regexp.MustCompile(`%[-+# 0]*(\*|\d{4,}|\d*\.(\*|\d{4,}))`)

// checkPrintf allows printf only with a literal format of modest widths: a
// format taken from a recipient's field (a vendor's name) could be anything.
func checkPrintf(n *parse.CommandNode, fail func(parse.Node, string, ...any)) {
	if len(n.Args) < 2 {
		return // printf without arguments fails on its own
	}
	format, ok := n.Args[1].(*parse.StringNode)
	if !ok {
		fail(n, "printf needs a quoted format")
		return
	}
	if wideVerb.MatchString(format.Text) {
		fail(n, "printf widths and precisions are limited to 3 digits")
	}
}

// Email is one recipient's rendered message.
type Email struct {
	Recipient Recipient `json:"recipient"`
	Subject   string    `json:"subject"`
	HTML      string    `json:"html"` // empty for a plain-text campaign
	Text      string    `json:"text"`
}

// Render executes the templates for r. The text part is the text template's
// output or, without one, derived from the rendered HTML with its links
// written out.
func (t *Templates) Render(r Recipient) (*Email, error) {
	e := &Email{Recipient: r}
	var b bytes.Buffer
	if err := t.subject.Execute(limit(&b), r); err != nil {
		return nil, templateErr("subject", err)
	}
	e.Subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err := t.html.Execute(limit(&b), r); err != nil {
		return nil, templateErr("html", err)
	}
	e.HTML = b.String()
	if strings.TrimSpace(e.HTML) == "" {
		e.HTML = ""
	}
	if t.text != nil {
		b.Reset()
		if err := t.text.Execute(limit(&b), r); err != nil {
			return nil, templateErr("text", err)
		}
		e.Text = b.String()
	} else {
		e.Text = mail.HTMLToText(e.HTML)
	}
	return e, nil
}

// limit caps what one execution may write.
func limit(w io.Writer) io.Writer { return &limitWriter{w: w, n: maxOutput} }

type limitWriter struct {
	w io.Writer
	n int
}

var errTooLong = errors.New("the rendered email is longer than 2 MB")

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, errTooLong
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// referralURL is the vendor's link, tagged with utm_content when asked.
func referralURL(base, slug string, tag bool) string {
	if !tag {
		return base
	}
	return base + "?utm_content=" + url.QueryEscape(slug)
}
