package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

func TestMessageIDFor(t *testing.T) {
	a := MessageIDFor("commission:42:created", "example.com")
	if a != MessageIDFor("commission:42:created", "example.com") {
		t.Error("same key, different Message-IDs")
	}
	if a == MessageIDFor("commission:42:reversed", "example.com") {
		t.Error("different keys, same Message-ID")
	}
	if !regexp.MustCompile(`^<[0-9a-f]{32}@example\.com>$`).MatchString(a) {
		t.Errorf("MessageIDFor = %q, want <32 hex digits@example.com>", a)
	}
	for _, tt := range []struct{ domain, want string }{
		{"example.com", "example.com"},
		{"Example.COM", "example.com"},
		{"noreply@mail.example.com", "mail.example.com"},
		{`"Acme Affiliates" <noreply@acme.example>`, "acme.example"},
		{"", "affiliated.invalid"},
		{"<>@ \r\n", "affiliated.invalid"},
		{"exa mple.com>", "example.com"},
	} {
		id := MessageIDFor("k", tt.domain)
		if !strings.HasSuffix(id, "@"+tt.want+">") {
			t.Errorf("MessageIDFor(k, %q) = %q, want domain %q", tt.domain, id, tt.want)
		}
	}
}

func TestBuildRefusesBadMessages(t *testing.T) {
	ok := Message{From: "Acme <noreply@acme.example>", To: "ana@example.com", Subject: "s", Text: "t"}
	if _, _, err := build(ok); err != nil {
		t.Fatalf("valid message: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Message)
		want string
	}{
		{"bad From", func(m *Message) { m.From = "not an address" }, "invalid From"},
		{"empty To", func(m *Message) { m.To = "" }, "invalid To"},
		{"two To", func(m *Message) { m.To = "a@x.example, b@x.example" }, "invalid To"},
		{"bad Reply-To", func(m *Message) { m.ReplyTo = "@@" }, "invalid Reply-To"},
		{"no body", func(m *Message) { m.Text = "" }, "neither an HTML nor a text body"},
		{"Message-ID without @", func(m *Message) { m.MessageID = "<abc>" }, "invalid Message-ID"},
		{"Message-ID with a space", func(m *Message) { m.MessageID = "<a b@c>" }, "invalid Message-ID"},
		{"Message-ID with CRLF", func(m *Message) { m.MessageID = "a@b>\r\nBcc: x@y" }, "invalid Message-ID"},
		{"managed header", func(m *Message) { m.Headers = map[string]string{"bcc": "x@y.example"} }, "header Bcc is set from the Message fields"},
		{"header name with a colon", func(m *Message) { m.Headers = map[string]string{"X-A:": "1"} }, "invalid header name"},
		{"header name with a space", func(m *Message) { m.Headers = map[string]string{"X A": "1"} }, "invalid header name"},
		{"header value with CRLF", func(m *Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: x@y.example"} }, "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			_, _, err := build(m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("build: %v, want an error containing %q", err, tt.want)
			}
			if !IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = false: the same message fails every time", err)
			}
		})
	}
}

func TestIsPermanent(t *testing.T) {
	perm := &Error{Stage: "RCPT TO", Code: 550, Permanent: true, Err: errors.New("550 no such user")}
	temp := &Error{Stage: "RCPT TO", Code: 451, Err: errors.New("451 later")}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("other"), false},
		{perm, true},
		{temp, false},
		{errors.Join(errors.New("outbox: sending"), perm), true},
	} {
		if got := IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if got := perm.Error(); got != "mail: RCPT TO: 550 no such user (permanent)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	s := NewLogSender(slog.New(slog.NewJSONHandler(&buf, nil)))
	m := Message{
		MessageID: MessageIDFor("signin:7", "acme.example"),
		From:      "noreply@acme.example", To: "Ana <ana@example.com>",
		Subject: "Your sign-in code",
		HTML:    "<p>Your code is <b>482913</b></p>",
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	if rec["to"] != "ana@example.com" || rec["subject"] != "Your sign-in code" || rec["message_id"] != m.MessageID {
		t.Errorf("log record %v: want to, subject and message_id", rec)
	}
	if strings.Contains(buf.String(), "482913") {
		t.Errorf("log line %q contains the body (a sign-in code)", buf.String())
	}

	m.To = "nobody"
	if err := s.Send(context.Background(), m); !IsPermanent(err) {
		t.Errorf("Send with a bad address: %v, want a permanent error as over SMTP", err)
	}
}
