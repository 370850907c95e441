package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
)

// Each email kind has two files in templates/: KIND.txt, a text/template
// that defines "subject" and whose body is the plain-text part, and
// KIND.html, an html/template that defines "content", shown inside
// layout.html. Both parts come from the same data.
//
//go:embed templates
var templateFS embed.FS

// Email kinds: the names of the template files.
const (
	kindSale          = "sale"               // to the affiliate: a commission earned
	kindSaleOwner     = "sale_owner"         // to the owner: a sale through an affiliate
	kindReversal      = "reversal"           // to the affiliate: a refund or chargeback changed a commission
	kindReversalOwner = "reversal_owner"     // to the owner
	kindPayable       = "payable"            // to the affiliate: the hold has passed
	kindPayout        = "payout"             // to the affiliate: money sent
	kindAffiliateNew  = "affiliate_owner"    // to the owner: a new affiliate
	kindAffiliateOK   = "affiliate_approved" // to the affiliate: welcome, with the link
	kindSignInCode    = "signin_code"
)

const (
	templateDir         = "templates"
	templateLayoutFile  = templateDir + "/layout.html"
	templateSubjectName = "subject"
)

type emailTemplate struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

type templates struct {
	byKind map[string]emailTemplate
}

func parseTemplates() (*templates, error) {
	t := &templates{byKind: map[string]emailTemplate{}}
	names, err := fs.Glob(templateFS, templateDir+"/*.txt")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		kind := strings.TrimSuffix(strings.TrimPrefix(name, templateDir+"/"), ".txt")
		txt, err := texttemplate.New(kind+".txt").Option("missingkey=error").ParseFS(templateFS, name)
		if err != nil {
			return nil, fmt.Errorf("notify: template %s: %w", name, err)
		}
		if txt.Lookup(templateSubjectName) == nil {
			return nil, fmt.Errorf("notify: template %s defines no subject", name)
		}
		html, err := htmltemplate.New("layout.html").Option("missingkey=error").
			ParseFS(templateFS, templateLayoutFile, templateDir+"/"+kind+".html")
		if err != nil {
			return nil, fmt.Errorf("notify: template %s.html: %w", kind, err)
		}
		t.byKind[kind] = emailTemplate{text: txt, html: html}
	}
	return t, nil
}

// render returns the subject, HTML and text of an email of kind.
func (t *templates) render(kind string, data any) (subject, html, text string, err error) {
	if subject, err = t.subject(kind, data); err != nil {
		return "", "", "", err
	}
	if html, text, err = t.body(kind, data); err != nil {
		return "", "", "", err
	}
	return subject, html, text, nil
}

func (t *templates) lookup(kind string) (emailTemplate, error) {
	et, ok := t.byKind[kind]
	if !ok {
		return et, fmt.Errorf("notify: no email template %q", kind)
	}
	return et, nil
}

// subject returns the subject of an email of kind, on one line.
func (t *templates) subject(kind string, data any) (string, error) {
	et, err := t.lookup(kind)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := et.text.ExecuteTemplate(&b, templateSubjectName, data); err != nil {
		return "", fmt.Errorf("notify: %s subject: %w", kind, err)
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// body returns the HTML and text parts of an email of kind.
func (t *templates) body(kind string, data any) (html, text string, err error) {
	et, err := t.lookup(kind)
	if err != nil {
		return "", "", err
	}
	var b bytes.Buffer
	if err := et.text.Execute(&b, data); err != nil {
		return "", "", fmt.Errorf("notify: %s text: %w", kind, err)
	}
	text = strings.TrimSpace(b.String()) + "\n"
	b.Reset()
	if err := et.html.Execute(&b, data); err != nil {
		return "", "", fmt.Errorf("notify: %s html: %w", kind, err)
	}
	return b.String(), text, nil
}
