package ui

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	texttemplate "text/template"
)

//go:embed email/signin.html email/signin.txt
var emailFS embed.FS

// The sign-in email's templates, parsed once: rendering must cost little,
// so that a code for a known address takes about as long to issue as one
// for an unknown address (which renders nothing).
var (
	signinHTML = htmltemplate.Must(htmltemplate.ParseFS(emailFS, "email/signin.html"))
	signinText = texttemplate.Must(texttemplate.ParseFS(emailFS, "email/signin.txt"))
)

// SignInEmail renders the email that carries a sign-in code and its magic
// link, for the app called app ("affiliate portal"). It is queued in the
// outbox like any email; the sign-in flow owns its words because the
// link is part of the flow.
func SignInEmail(app, code, link string, minutes int) (subject, html, text string, err error) {
	d := struct {
		App, Code, Link string
		Minutes         int
	}{app, code, link, minutes}
	var h, t bytes.Buffer
	if err := signinHTML.Execute(&h, d); err != nil {
		return "", "", "", err
	}
	if err := signinText.Execute(&t, d); err != nil {
		return "", "", "", err
	}
	// The subject carries no code: the outbox lists subjects to the owner
	// and keeps them after the body of a sensitive email is removed.
	return "Your sign-in code for the " + app, h.String(), t.String(), nil
}
