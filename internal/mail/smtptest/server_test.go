package smtptest

import (
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests talk to the server with the standard library's client, so the
// server is checked independently of internal/mail.

const wait = 10 * time.Second

// A hand-written message: multipart/mixed around multipart/alternative, a
// quoted-printable Latin-1 text part, a base64 UTF-8 HTML part, an attachment.
const crafted = "From: Acme <noreply@acme.example>\r\n" +
	"To: ana@example.com\r\n" +
	"Subject: =?utf-8?q?Caf=C3=A9_=E2=80=94_12,50_=E2=82=AC?=\r\n" +
	"Message-ID: <abc123@acme.example>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=ISO-8859-1\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Caf=E9: you earned $12.50 on a very long line that quoted-printable wraps=\r\n" +
	" softly.\r\n" +
	"Second line.\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+Q2Fmw6kg4oCUIDEyLDUwIOKCrDwv\r\n" +
	"cD4=\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0=\r\n" +
	"--outer--\r\n"

func TestReceiveDecodes(t *testing.T) {
	srv := StartWith(t, Options{Username: "me@acme.example", Password: "secret"})
	auth := smtp.PlainAuth("", "me@acme.example", "secret", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), auth, "bounce@acme.example", []string{"ana@example.com"}, []byte(crafted)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := srv.WaitFor(1, wait)[0]
	if m.ParseErr != nil {
		t.Fatalf("ParseErr: %v", m.ParseErr)
	}
	checks := []struct{ what, got, want string }{
		{"envelope from", m.From, "bounce@acme.example"},
		{"envelope to", strings.Join(m.To, ","), "ana@example.com"},
		{"username", m.Username, "me@acme.example"},
		{"Message-ID", m.MessageID, "<abc123@acme.example>"},
		{"Subject", m.Subject, "Café — 12,50 €"},
		{"content type", m.ContentType, "multipart/mixed"},
		{"text", m.Text, "Café: you earned $12.50 on a very long line that quoted-printable wraps softly.\nSecond line."},
		{"HTML", m.HTML, "<p>Café — 12,50 €</p>"},
		{"From header", m.Header.Get("From"), "Acme <noreply@acme.example>"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if len(m.Parts) != 3 || m.Parts[0].Charset != "iso-8859-1" || m.Parts[0].Encoding != "quoted-printable" ||
		m.Parts[1].Encoding != "base64" || m.Parts[2].ContentType != "application/pdf" || m.Parts[2].Body != "%PDF-" {
		t.Errorf("parts %+v", m.Parts)
	}
	if !strings.Contains(string(m.Raw), "Content-Type: multipart/alternative; boundary=inner\r\n") {
		t.Errorf("raw bytes not kept as sent:\n%s", m.Raw)
	}
}

func TestAuthRequired(t *testing.T) {
	srv := StartWith(t, Options{Username: "u", Password: "p"})
	err := smtp.SendMail(srv.Addr(), nil, "a@x.example", []string{"b@x.example"}, []byte("Subject: x\r\n\r\nx\r\n"))
	assertCode(t, err, 530)
	err = smtp.SendMail(srv.Addr(), smtp.PlainAuth("", "u", "wrong", "127.0.0.1"),
		"a@x.example", []string{"b@x.example"}, []byte("Subject: x\r\n\r\nx\r\n"))
	assertCode(t, err, 535)
	if len(srv.Messages()) != 0 || srv.Rejections() != 1 {
		t.Errorf("%d messages, %d rejections; want 0 and 1", len(srv.Messages()), srv.Rejections())
	}
}

func TestFailuresAndRestart(t *testing.T) {
	srv := Start(t)
	send := func() error {
		return smtp.SendMail(srv.Addr(), nil, "a@x.example", []string{"b@x.example"}, []byte("Subject: x\r\n\r\nbody\r\n"))
	}
	srv.FailNext(451, "try later", 2)
	assertCode(t, send(), 451)
	assertCode(t, send(), 451)
	if err := send(); err != nil {
		t.Fatalf("third send, after FailNext ran out: %v", err)
	}
	srv.FailNextData(554, "no thanks", 1)
	assertCode(t, send(), 554)
	srv.SetReject(func(rcpt string) (int, string) { return 550, "no " + rcpt })
	assertCode(t, send(), 550)
	srv.SetReject(nil)
	if srv.Rejections() != 4 || len(srv.Messages()) != 1 {
		t.Errorf("%d rejections, %d messages; want 4 and 1", srv.Rejections(), len(srv.Messages()))
	}

	addr := srv.Addr()
	srv.Stop()
	srv.Stop() // twice is fine
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("still accepting connections after Stop")
	}
	srv.Restart()
	srv.Restart() // twice is fine
	if srv.Addr() != addr {
		t.Errorf("restarted on %s, want %s", srv.Addr(), addr)
	}
	if err := send(); err != nil {
		t.Fatalf("send after Restart: %v", err)
	}
	if got := srv.WaitFor(2, wait); len(got) != 2 || got[1].Text != "body\n" {
		t.Errorf("after restart: %+v", got)
	}
}

func TestWaitFor(t *testing.T) {
	srv := Start(t)
	errc := make(chan error, 3)
	for range 3 {
		go func() {
			errc <- smtp.SendMail(srv.Addr(), nil, "a@x.example", []string{"b@x.example"}, []byte("Subject: x\r\n\r\nx\r\n"))
		}()
	}
	if got := srv.WaitFor(3, wait); len(got) != 3 {
		t.Errorf("WaitFor(3) returned %d messages", len(got))
	}
	for range 3 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

func TestURL(t *testing.T) {
	for _, tt := range []struct {
		sec       Security
		url, auth string
	}{
		{Plain, "smtp://ADDR?starttls=none", "smtp://me%40x.example:p%40ss@ADDR?starttls=none"},
		{StartTLS, "smtp://ADDR?starttls=always&tls=skip-verify", "smtp://me%40x.example:p%40ss@ADDR?starttls=always&tls=skip-verify"},
		{ImplicitTLS, "smtps://ADDR?tls=skip-verify", "smtps://me%40x.example:p%40ss@ADDR?tls=skip-verify"},
	} {
		srv := StartWith(t, Options{Security: tt.sec})
		if got, want := srv.URL(), strings.Replace(tt.url, "ADDR", srv.Addr(), 1); got != want {
			t.Errorf("%v: URL() = %q, want %q", tt.sec, got, want)
		}
		if got, want := srv.AuthURL("me@x.example", "p@ss"), strings.Replace(tt.auth, "ADDR", srv.Addr(), 1); got != want {
			t.Errorf("%v: AuthURL() = %q, want %q", tt.sec, got, want)
		}
		if !strings.HasSuffix(srv.Addr(), ":"+strconv.Itoa(srv.Port())) || !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
			t.Errorf("Addr %q, Port %d", srv.Addr(), srv.Port())
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, raw  string
		text, html string
		err        string // substring of ParseErr, "" for none
	}{
		{"not MIME", "Subject: hi\r\n\r\nline one\r\nline two\r\n", "line one\nline two\n", "", ""},
		{"single HTML part", "Content-Type: text/html; charset=utf-8\r\n\r\n<p>x</p>", "", "<p>x</p>", ""},
		{"8bit UTF-8", "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n12,50 €", "12,50 €", "", ""},
		{"unknown charset", "Content-Type: text/plain; charset=koi8-r\r\n\r\nx", "", "", "unsupported charset"},
		{"unknown encoding", "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nx", "", "", "unknown Content-Transfer-Encoding"},
		{"bad base64", "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!", "", "", "base64"},
		{"bad content type", "Content-Type: text/\r\n\r\nx", "", "", "content type"},
		{"unterminated multipart", "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n", "", "", "EOF"},
		{"no header end", "Subject", "", "", "headers"},
		{"bad subject", "Subject: =?x-unknown?q?abc?=\r\n\r\nx", "", "", "subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parse([]byte(tt.raw))
			if tt.err == "" && m.ParseErr != nil || tt.err != "" && (m.ParseErr == nil || !strings.Contains(m.ParseErr.Error(), tt.err)) {
				t.Fatalf("ParseErr = %v, want %q", m.ParseErr, tt.err)
			}
			if tt.err == "" && (m.Text != tt.text || m.HTML != tt.html) {
				t.Errorf("text %q HTML %q, want %q %q", m.Text, m.HTML, tt.text, tt.html)
			}
		})
	}
}

func assertCode(t *testing.T, err error, code int) {
	t.Helper()
	var tp *textproto.Error
	if !errors.As(err, &tp) || tp.Code != code {
		t.Errorf("error %v, want an SMTP reply %d", err, code)
	}
}
