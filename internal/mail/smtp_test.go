package mail_test

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mailpkg "affiliated/internal/mail"
	"affiliated/internal/mail/smtptest"
)

// wait bounds a hang in WaitFor; it is not a performance assertion.
const wait = 10 * time.Second

func sender(t *testing.T, rawURL string) *mailpkg.SMTP {
	t.Helper()
	cfg, err := mailpkg.ParseURL(rawURL)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", rawURL, err)
	}
	return mailpkg.NewSMTP(cfg)
}

func sale(key string) mailpkg.Message {
	return mailpkg.Message{
		MessageID: mailpkg.MessageIDFor(key, "acme.example"),
		From:      "Acme Affiliates <noreply@acme.example>",
		To:        "Ana Núñez <ana@example.com>",
		ReplyTo:   "owner@acme.example",
		Subject:   "Café — 12,50 € commission",
		HTML:      `<p>Hi Ana,</p><p>You earned <b>12,50 €</b> on <i>Café course</i>.</p><p><a href="https://aff.acme.example/portal">Portal</a></p>`,
		Text:      "Hi Ana,\n\nYou earned 12,50 € on Café course.\n\nPortal: https://aff.acme.example/portal\n",
		Headers:   map[string]string{"X-Affiliated-Key": key, "list-unsubscribe": "<https://aff.acme.example/unsubscribe>"},
	}
}

func TestSendMultipart(t *testing.T) {
	srv := smtptest.Start(t)
	m := sale("commission:1:created")
	if err := sender(t, srv.URL()).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(1, wait)[0]
	if got.ParseErr != nil {
		t.Fatalf("the server could not parse the message: %v\n%s", got.ParseErr, got.Raw)
	}
	if got.From != "noreply@acme.example" || len(got.To) != 1 || got.To[0] != "ana@example.com" {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	if got.MessageID != m.MessageID {
		t.Errorf("Message-ID %q, want %q exactly", got.MessageID, m.MessageID)
	}
	if got.Subject != m.Subject {
		t.Errorf("Subject %q, want %q", got.Subject, m.Subject)
	}
	if got.ContentType != "multipart/alternative" || len(got.Parts) != 2 ||
		got.Parts[0].ContentType != "text/plain" || got.Parts[1].ContentType != "text/html" {
		t.Fatalf("structure %s %+v, want multipart/alternative with text/plain then text/html", got.ContentType, got.Parts)
	}
	for _, p := range got.Parts {
		if p.Charset != "utf-8" {
			t.Errorf("%s part charset %q, want utf-8", p.ContentType, p.Charset)
		}
	}
	if got.Text != m.Text {
		t.Errorf("text part %q, want %q", got.Text, m.Text)
	}
	if got.HTML != m.HTML {
		t.Errorf("HTML part %q, want %q", got.HTML, m.HTML)
	}
	h := got.Header
	if rt, err := mail.ParseAddress(h.Get("Reply-To")); err != nil || rt.Address != "owner@acme.example" {
		t.Errorf("Reply-To %q (%v)", h.Get("Reply-To"), err)
	}
	from, err := (&mail.AddressParser{}).Parse(h.Get("From"))
	if err != nil || from.Name != "Acme Affiliates" || from.Address != "noreply@acme.example" {
		t.Errorf("From header %q: %+v, %v", h.Get("From"), from, err)
	}
	to, err := (&mail.AddressParser{}).Parse(h.Get("To"))
	if err != nil || to.Name != "Ana Núñez" || to.Address != "ana@example.com" {
		t.Errorf("To header %q: %+v, %v", h.Get("To"), to, err)
	}
	if h.Get("X-Affiliated-Key") != "commission:1:created" || h.Get("List-Unsubscribe") != "<https://aff.acme.example/unsubscribe>" {
		t.Errorf("extra headers: X-Affiliated-Key %q, List-Unsubscribe %q", h.Get("X-Affiliated-Key"), h.Get("List-Unsubscribe"))
	}
	if d, err := h.Date(); err != nil || d.IsZero() {
		t.Errorf("Date header %q: %v", h.Get("Date"), err)
	}
	if h.Get("Mime-Version") != "1.0" {
		t.Errorf("MIME-Version %q", h.Get("Mime-Version"))
	}
	if got.Username != "" {
		t.Errorf("authenticated as %q without credentials", got.Username)
	}
}

func TestSendDerivesTextFromHTML(t *testing.T) {
	srv := smtptest.Start(t)
	m := sale("commission:2:created")
	m.Text = ""
	if err := sender(t, srv.URL()).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(1, wait)[0]
	want := "Hi Ana,\n\nYou earned 12,50 € on Café course.\n\nPortal (https://aff.acme.example/portal)"
	if got.Text != want || got.HTML != m.HTML {
		t.Errorf("text part %q, want %q; HTML part %q", got.Text, want, got.HTML)
	}
}

func TestSendTextOnly(t *testing.T) {
	srv := smtptest.Start(t)
	m := sale("outreach:3")
	m.HTML = ""
	if err := sender(t, srv.URL()).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(1, wait)[0]
	if got.ContentType != "text/plain" || got.Text != m.Text || got.HTML != "" {
		t.Errorf("got %s with text %q and HTML %q, want text/plain only", got.ContentType, got.Text, got.HTML)
	}
}

func TestSendLongLinesAndDots(t *testing.T) {
	// Quoted-printable must wrap long lines, and a line that is a single dot
	// must not end the SMTP DATA early.
	srv := smtptest.Start(t)
	m := sale("k")
	m.Text = strings.Repeat("é", 500) + "\n.\n..\nend"
	m.HTML = "<p>" + strings.Repeat("x", 2000) + "</p>\n.\n"
	if err := sender(t, srv.URL()).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(1, wait)[0]
	if got.Text != m.Text || got.HTML != m.HTML {
		t.Errorf("parts changed in transit:\ntext %q\nHTML %q", got.Text, got.HTML)
	}
	for _, line := range strings.Split(string(got.Raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a raw line of %d bytes, over the SMTP limit of 998", len(line))
		}
	}
}

func TestSendAuthPlain(t *testing.T) {
	const user, pass = "me@acme.example", "p@ss:w/rd #?é"
	srv := smtptest.StartWith(t, smtptest.Options{Username: user, Password: pass})

	if err := sender(t, srv.AuthURL(user, pass)).Send(context.Background(), sale("a")); err != nil {
		t.Fatalf("Send with the right credentials: %v", err)
	}
	if got := srv.WaitFor(1, wait)[0].Username; got != user {
		t.Errorf("server saw user %q, want %q", got, user)
	}

	err := sender(t, srv.AuthURL(user, "wrong")).Send(context.Background(), sale("b"))
	assertSMTPError(t, err, "connect", 535, false)

	// Without credentials the server refuses MAIL FROM with 530: a
	// configuration problem, retried, not a verdict on the message.
	err = sender(t, srv.URL()).Send(context.Background(), sale("c"))
	assertSMTPError(t, err, "MAIL FROM", 530, false)

	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages accepted, want 1", n)
	}
}

func TestSendTLS(t *testing.T) {
	for _, sec := range []smtptest.Security{smtptest.StartTLS, smtptest.ImplicitTLS} {
		t.Run(fmt.Sprint(sec), func(t *testing.T) {
			srv := smtptest.StartWith(t, smtptest.Options{Security: sec, Username: "u", Password: "p"})
			if err := sender(t, srv.AuthURL("u", "p")).Send(context.Background(), sale("tls")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := srv.WaitFor(1, wait)[0]; got.Username != "u" || got.Text == "" {
				t.Errorf("received %+v", got)
			}
			// The certificate is self-signed: without tls=skip-verify it is
			// refused, and that is temporary (fix the configuration, retry).
			strict := strings.Replace(srv.AuthURL("u", "p"), "tls=skip-verify", "tls=verify", 1)
			err := sender(t, strict).Send(context.Background(), sale("strict"))
			assertSMTPError(t, err, "connect", 0, false)
			if !strings.Contains(err.Error(), "certificate") {
				t.Errorf("error %q does not mention the certificate", err)
			}
		})
	}
}

func TestSendRequiresSTARTTLS(t *testing.T) {
	srv := smtptest.Start(t) // offers no STARTTLS
	url := strings.Replace(srv.URL(), "starttls=none", "starttls=always", 1)
	err := sender(t, url).Send(context.Background(), sale("x"))
	assertSMTPError(t, err, "connect", 0, false)
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error %q does not say STARTTLS is missing", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("message sent in clear text although STARTTLS was required")
	}
	// Opportunistic STARTTLS falls back to clear text.
	url = strings.Replace(srv.URL(), "starttls=none", "starttls=opportunistic", 1)
	if err := sender(t, url).Send(context.Background(), sale("y")); err != nil {
		t.Errorf("opportunistic: %v", err)
	}
}

func TestSendRejected(t *testing.T) {
	tests := []struct {
		name      string
		reject    func(*smtptest.Server)
		stage     string
		code      int
		permanent bool
	}{
		{"mailbox unavailable", func(s *smtptest.Server) { s.FailNext(550, "mailbox unavailable", 1) }, "RCPT TO", 550, true},
		{"no such user", func(s *smtptest.Server) { s.FailNext(551, "user not local", 1) }, "RCPT TO", 551, true},
		{"greylisted", func(s *smtptest.Server) { s.FailNext(451, "try again later", 1) }, "RCPT TO", 451, false},
		{"mailbox full", func(s *smtptest.Server) { s.FailNext(452, "mailbox full", 1) }, "RCPT TO", 452, false},
		{"too large", func(s *smtptest.Server) { s.FailNextData(552, "message too large", 1) }, "DATA", 552, true},
		{"spam", func(s *smtptest.Server) { s.FailNextData(554, "looks like spam", 1) }, "DATA", 554, true},
		{"queue full", func(s *smtptest.Server) { s.FailNextData(452, "queue full", 1) }, "DATA", 452, false},
		{"per recipient", func(s *smtptest.Server) {
			s.SetReject(func(rcpt string) (int, string) {
				if rcpt == "ana@example.com" {
					return 550, "bounced"
				}
				return 0, ""
			})
		}, "RCPT TO", 550, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t)
			tt.reject(srv)
			s := sender(t, srv.URL())
			err := s.Send(context.Background(), sale("r"))
			assertSMTPError(t, err, tt.stage, tt.code, tt.permanent)
			// The reply as the server wrote it: code, enhanced code, text.
			if reply := fmt.Sprintf(": %d %d.0.0 ", tt.code, tt.code/100); !strings.Contains(err.Error(), reply) {
				t.Errorf("error %q does not carry the reply %q", err, reply)
			}
			if srv.Rejections() != 1 || len(srv.Messages()) != 0 {
				t.Errorf("server: %d rejections, %d messages; want 1 and 0", srv.Rejections(), len(srv.Messages()))
			}
			srv.SetReject(nil)
			if err := s.Send(context.Background(), sale("r")); err != nil {
				t.Errorf("Send after the rejection: %v", err)
			}
		})
	}
}

func TestSendServerDown(t *testing.T) {
	srv := smtptest.Start(t)
	s := sender(t, srv.URL())
	srv.Stop()

	// Sales arrive while SMTP is down: every send fails, temporarily.
	var keys []string
	for i := range 3 {
		keys = append(keys, fmt.Sprintf("commission:%d:created", i))
	}
	for _, k := range keys {
		err := s.Send(context.Background(), sale(k))
		assertSMTPError(t, err, "connect", 0, false)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("error %v: want connection refused", err)
		}
	}

	srv.Restart()
	for _, k := range keys {
		if err := s.Send(context.Background(), sale(k)); err != nil {
			t.Fatalf("Send after restart: %v", err)
		}
	}
	got := srv.WaitFor(len(keys), wait)
	seen := map[string]bool{}
	for _, m := range got {
		if seen[m.MessageID] {
			t.Errorf("Message-ID %s received twice", m.MessageID)
		}
		seen[m.MessageID] = true
	}
	for _, k := range keys {
		if id := mailpkg.MessageIDFor(k, "acme.example"); !seen[id] {
			t.Errorf("message %s (%s) not received", k, id)
		}
	}
}

func TestSendContextCanceled(t *testing.T) {
	srv := smtptest.Start(t)
	s := sender(t, srv.URL())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, sale("x"))
	assertSMTPError(t, err, "connect", 0, false)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v: want context.Canceled", err)
	}

	// Cancelled in the middle of the conversation: the server holds RCPT TO
	// until the client has given up.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv.SetReject(func(string) (int, string) {
		once.Do(func() { close(entered) })
		<-release
		return 0, ""
	})
	defer close(release)
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	err = s.Send(ctx, sale("y"))
	assertSMTPError(t, err, "RCPT TO", 0, false)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v: want context.Canceled", err)
	}
}

func TestSendConcurrent(t *testing.T) {
	srv := smtptest.Start(t)
	s := sender(t, srv.URL())
	const workers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- s.Send(context.Background(), sale(fmt.Sprintf("k:%d:%d", w, i)))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	got := srv.WaitFor(workers*each, wait)
	ids := map[string]bool{}
	for _, m := range got {
		ids[m.MessageID] = true
	}
	if len(got) != workers*each || len(ids) != workers*each {
		t.Errorf("%d messages with %d distinct Message-IDs, want %d", len(got), len(ids), workers*each)
	}
}

func TestSendInvalidMessage(t *testing.T) {
	srv := smtptest.Start(t)
	m := sale("x")
	m.To = "not an address"
	err := sender(t, srv.URL()).Send(context.Background(), m)
	assertSMTPError(t, err, "message", 0, true)
}

func asError(t *testing.T, err error) *mailpkg.Error {
	t.Helper()
	var e *mailpkg.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *mail.Error", err, err)
	}
	return e
}

func assertSMTPError(t *testing.T, err error, stage string, code int, permanent bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("Send succeeded, want a %s error %d", stage, code)
	}
	e := asError(t, err)
	if e.Stage != stage || e.Code != code || e.Permanent != permanent || mailpkg.IsPermanent(err) != permanent {
		t.Errorf("error %q: stage %q code %d permanent %v; want %q %d %v",
			err, e.Stage, e.Code, e.Permanent, stage, code, permanent)
	}
}

func BenchmarkSend(b *testing.B) {
	srv := smtptest.Start(b)
	cfg, err := mailpkg.ParseURL(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	s := mailpkg.NewSMTP(cfg)
	m := sale("bench")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
}
