package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"

	gomail "github.com/wneessen/go-mail"
)

// Error is a failed send. Code is the SMTP reply code when the server gave one
// ("550 5.1.1 mailbox unavailable" → 550), 0 otherwise (connection refused,
// timeout, invalid message).
//
// Permanent means that sending the same message again cannot succeed: the
// message is malformed, or the server answered 5xx to this message's own
// commands (MAIL FROM, RCPT TO, DATA). Everything else is temporary: 4xx
// replies, network errors, failures before the message is offered (greeting,
// STARTTLS, AUTH, certificate) and 530 "authentication required". A wrong password or a rejected
// connection says nothing about the message, and once the configuration is
// fixed every queued message should go, not be dead-lettered.
type Error struct {
	Stage     string // "message", "connect", "MAIL FROM", "RCPT TO" or "DATA"
	Code      int
	Permanent bool
	Err       error
}

func (e *Error) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return "mail: " + e.Stage + ": " + e.Err.Error() + " (" + kind + ")"
}

func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether err is an *Error that retrying cannot fix. Any
// other error, nil included, is not permanent.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// SMTP sends each message over a new connection to one SMTP server. A
// connection per message costs a few round trips (and a TLS handshake) but
// cannot carry a broken session from one message to the next, and the outbox
// sends one message per event, not bulk. Safe for concurrent use.
type SMTP struct {
	cfg Config
}

// NewSMTP returns a Sender for cfg, usually from ParseURL. It does not
// connect: a server that is down shows as a temporary error on Send.
func NewSMTP(cfg Config) *SMTP {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &SMTP{cfg: cfg}
}

// authMechanisms is the preference order among the mechanisms the server
// offers. PLAIN and LOGIN first: they are what providers support, and over
// TLS they are as safe as the others; go-mail refuses them in clear text
// except to localhost.
var authMechanisms = []gomail.SMTPAuthType{
	gomail.SMTPAuthPlain, gomail.SMTPAuthLogin,
	gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5,
}

// Send delivers m, or returns an *Error (see IsPermanent). Cancelling ctx
// aborts the conversation. nil means the server accepted the message; an
// error after the end of DATA (a lost reply) can mean it did too, so a retry
// may deliver a second copy with the same Message-ID.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, env, err := build(m)
	if err != nil {
		return err
	}

	// go-mail dials through this function so that the connection is ours to
	// close when ctx ends, and so that IPv6 addresses get their brackets
	// (go-mail joins host and port with a plain colon).
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		d := &net.Dialer{}
		var c net.Conn
		var err error
		if s.cfg.Security == ImplicitTLS {
			c, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig()}).DialContext(ctx, "tcp", s.cfg.Addr())
		} else {
			c, err = d.DialContext(ctx, "tcp", s.cfg.Addr())
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		conn = c
		mu.Unlock()
		if err := ctx.Err(); err != nil {
			// Cancelled while dialling: the AfterFunc may have found no
			// connection to close.
			c.Close()
			return nil, err
		}
		return c, nil
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			conn.Close()
		}
	})
	defer stop()

	client, err := gomail.NewClient(s.cfg.Host, s.options(dial)...)
	if err != nil {
		return &Error{Stage: "connect", Err: err}
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return s.fail(ctx, "connect", err, false)
	}
	defer sc.Close()

	step := func(stage string, f func() error) error {
		if err := sc.UpdateDeadline(s.cfg.Timeout); err != nil {
			return s.fail(ctx, stage, err, true)
		}
		if err := f(); err != nil {
			return s.fail(ctx, stage, err, true)
		}
		return nil
	}
	if err := step("MAIL FROM", func() error { return sc.Mail("<" + env.from + ">") }); err != nil {
		return err
	}
	if err := step("RCPT TO", func() error { return sc.Rcpt("<" + env.to + ">") }); err != nil {
		return err
	}
	err = step("DATA", func() error {
		w, err := sc.Data()
		if err != nil {
			return err
		}
		if _, err := msg.WriteTo(w); err != nil {
			return err
		}
		return w.Close() // reads the server's verdict on the message
	})
	if err != nil {
		return err
	}
	// Accepted: a failed QUIT no longer matters, and reporting it would make
	// the outbox send the message again.
	_ = sc.Quit()
	return nil
}

// fail classifies err. perMessage is true for the commands about this
// message, whose 5xx replies are permanent.
func (s *SMTP) fail(ctx context.Context, stage string, err error, perMessage bool) *Error {
	e := &Error{Stage: stage, Err: err}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		e.Code = tp.Code
		// textproto quotes the server's text; show the reply as it was sent.
		e.Err = &replyError{
			text: strings.Replace(err.Error(), tp.Error(), fmt.Sprintf("%03d %s", tp.Code, tp.Msg), 1),
			err:  err,
		}
	}
	// 530 "authentication required" answers MAIL FROM but is about the
	// configuration (credentials missing), like a failed AUTH.
	e.Permanent = perMessage && e.Code >= 500 && e.Code <= 599 && e.Code != 530
	if ctx.Err() != nil {
		// The connection was closed under the conversation: report why.
		e.Err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
		e.Permanent = false
	}
	if stage == "connect" && e.Code == 0 && !strings.Contains(err.Error(), s.cfg.Addr()) {
		e.Err = fmt.Errorf("%s: %w", s.cfg.Addr(), e.Err)
	}
	return e
}

// replyError words an error that holds an SMTP reply.
type replyError struct {
	text string
	err  error
}

func (e *replyError) Error() string { return e.text }
func (e *replyError) Unwrap() error { return e.err }

func (s *SMTP) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         s.cfg.Host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: s.cfg.SkipVerify, // only with tls=skip-verify, for test relays
	}
}

func (s *SMTP) options(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tlsConfig()),
	}
	switch s.cfg.Security {
	case Plain:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case OpportunisticTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case ImplicitTLS:
		// The dial function speaks TLS already; this only stops go-mail from
		// trying STARTTLS inside it.
		opts = append(opts, gomail.WithSSL())
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password),
			gomail.WithOpportunisticSMTPAuth(authMechanisms...))
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	return opts
}
