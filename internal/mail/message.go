package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email to one recipient. One recipient per message keeps
// retries simple: a message is delivered or not, never half.
type Message struct {
	// MessageID is the Message-ID header, with or without angle brackets
	// (see MessageIDFor). Empty: a random one is generated, which defeats
	// the deduplication of a re-sent message, so the outbox always sets it.
	MessageID string
	From      string // "Name <addr>" or "addr"
	To        string // "Name <addr>" or "addr"
	ReplyTo   string // optional
	Subject   string
	HTML      string // optional; with it, the mail is multipart/alternative
	// Text is the plain-text part. Empty: derived from HTML with HTMLToText.
	Text string
	// Headers are extra header fields such as List-Unsubscribe. The fields
	// this package writes itself (From, To, Subject, Message-ID, Date,
	// MIME and address fields) are refused here.
	Headers map[string]string
}

// Sender sends one message. Implementations are safe for concurrent use.
// An error says whether retrying can help: see IsPermanent.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// MessageIDFor derives a stable Message-ID, "<hash@domain>", from an
// idempotency key such as "commission:42:created": sending the same key twice
// gives two copies with one Message-ID, which mail clients show once. domain
// may be an address ("noreply@example.com"), whose domain is then used; empty,
// it is "affiliated.invalid".
func MessageIDFor(key, domain string) string {
	sum := sha256.Sum256([]byte("affiliated message-id\x00" + key))
	return "<" + hex.EncodeToString(sum[:16]) + "@" + idDomain(domain) + ">"
}

// idDomain reduces a domain or address to characters valid on the right of a
// Message-ID (RFC 5322 dot-atom).
func idDomain(s string) string {
	if a, err := netmail.ParseAddress(s); err == nil {
		s = a.Address
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.ToLower(strings.Trim(strings.TrimSpace(s), "[]<>."))
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "affiliated.invalid"
	}
	return b.String()
}

// managedHeaders are written by go-mail from Message's own fields.
var managedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Reply-To": true, "Sender": true,
	"Subject": true, "Message-Id": true, "Date": true, "Mime-Version": true,
	"Content-Type": true, "Content-Transfer-Encoding": true, "Return-Path": true,
}

// envelope is what the SMTP conversation needs besides the message itself.
type envelope struct {
	from, to string // bare addresses
}

// build validates m and turns it into a go-mail message. Its errors are
// permanent: the same message would fail the same way on every attempt.
func build(m Message) (*gomail.Msg, envelope, error) {
	var env envelope
	fail := func(format string, args ...any) (*gomail.Msg, envelope, error) {
		return nil, env, &Error{Stage: "message", Permanent: true, Err: fmt.Errorf(format, args...)}
	}
	from, err := netmail.ParseAddress(m.From)
	if err != nil {
		return fail("invalid From address %q: %v", m.From, err)
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return fail("invalid To address %q: %v", m.To, err)
	}
	env = envelope{from: from.Address, to: to.Address}
	if m.HTML == "" && m.Text == "" {
		return fail("message to %s has neither an HTML nor a text body", to.Address)
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	msg.ToMailAddress(to)
	if m.ReplyTo != "" {
		rt, err := netmail.ParseAddress(m.ReplyTo)
		if err != nil {
			return fail("invalid Reply-To address %q: %v", m.ReplyTo, err)
		}
		msg.ReplyToMailAddress(rt)
	}
	if m.MessageID != "" {
		id := strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">")
		if id == "" || !strings.Contains(id, "@") || strings.ContainsAny(id, " \t\r\n<>\"") {
			return fail("invalid Message-ID %q: expected <left@right>", m.MessageID)
		}
		msg.SetMessageIDWithValue(id)
	}
	// A subject is one line: a template's stray newline must not end the header.
	msg.Subject(strings.Join(strings.Fields(m.Subject), " "))
	for name, value := range m.Headers {
		canon, err := headerName(name)
		if err != nil {
			return fail("%v", err)
		}
		if strings.ContainsAny(value, "\r\n") {
			return fail("header %s: value contains a line break", canon)
		}
		msg.SetGenHeader(gomail.Header(canon), value)
	}

	text := m.Text
	if text == "" {
		text = HTMLToText(m.HTML)
	}
	msg.SetBodyString(gomail.TypeTextPlain, text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, env, nil
}

// headerName checks a header field name (RFC 5322: printable ASCII except
// colon) and returns its canonical form.
func headerName(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty header name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == ':' {
			return "", fmt.Errorf("invalid header name %q", name)
		}
	}
	canon := textproto.CanonicalMIMEHeaderKey(name)
	if managedHeaders[canon] {
		return "", fmt.Errorf("header %s is set from the Message fields, not Headers", canon)
	}
	return canon, nil
}
