package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Received is one accepted message.
type Received struct {
	From     string   // envelope sender (MAIL FROM)
	To       []string // envelope recipients (RCPT TO)
	Username string   // the AUTH user name, "" without AUTH
	Raw      []byte   // the message as received, CRLF line endings

	Header      mail.Header
	MessageID   string // the Message-ID header as written, angle brackets included
	Subject     string // decoded from RFC 2047
	ContentType string // media type of the whole message, e.g. "multipart/alternative"
	Parts       []Part // the leaf parts in order, decoded
	Text        string // the first text/plain part, decoded
	HTML        string // the first text/html part, decoded
	// ParseErr is why the message could not be fully parsed; the fields
	// above hold what was read before the error.
	ParseErr error
}

// Part is one leaf of the MIME tree.
type Part struct {
	ContentType string // media type, e.g. "text/plain"
	Charset     string // lower case, "" when absent
	Encoding    string // Content-Transfer-Encoding, lower case
	Body        string // decoded, line breaks as "\n"
}

func parse(raw []byte) Received {
	m := Received{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseErr = fmt.Errorf("headers: %w", err)
		return m
	}
	m.Header = msg.Header
	m.MessageID = msg.Header.Get("Message-Id")
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.ParseErr = fmt.Errorf("subject: %w", err)
		return m
	}
	ct := msg.Header.Get("Content-Type")
	m.ContentType, _, _ = mime.ParseMediaType(ct)
	if ct == "" {
		m.ContentType = "text/plain"
	}
	m.ParseErr = m.walk(ct, msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0)
	for _, p := range m.Parts {
		switch {
		case p.ContentType == "text/plain" && m.Text == "":
			m.Text = p.Body
		case p.ContentType == "text/html" && m.HTML == "":
			m.HTML = p.Body
		}
	}
	return m
}

// walk decodes a body of content type ct, descending into multiparts.
func (m *Received) walk(ct, cte string, body io.Reader, depth int) error {
	if depth > 10 {
		return fmt.Errorf("MIME nesting deeper than 10")
	}
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ct, err)
	}
	if strings.HasPrefix(media, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: this code, not the reader, undoes the transfer
			// encoding, so that every encoding is handled one way.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", media, err)
			}
			err = m.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			if err != nil {
				return err
			}
		}
	}
	cte = strings.ToLower(strings.TrimSpace(cte))
	var r io.Reader
	switch cte {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // skips CR and LF
	case "", "7bit", "8bit", "binary":
		r = body
	default:
		return fmt.Errorf("unknown Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s body (%s): %w", media, cte, err)
	}
	charset := strings.ToLower(params["charset"])
	switch charset {
	case "", "utf-8", "us-ascii":
	case "iso-8859-1", "latin1":
		b = latin1ToUTF8(b)
	default:
		return fmt.Errorf("%s: unsupported charset %q", media, charset)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	m.Parts = append(m.Parts, Part{ContentType: media, Charset: charset, Encoding: cte, Body: text})
	return nil
}

func latin1ToUTF8(b []byte) []byte {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return []byte(string(r))
}
