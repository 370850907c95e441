// Package smtptest runs a real SMTP server (emersion/go-smtp) in the test
// process, on 127.0.0.1, and keeps what it receives for assertions: envelope,
// raw bytes, headers and the decoded text and HTML parts. It can be stopped
// and restarted on the same port, and told to reject messages.
package smtptest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"
)

// Security selects how clients talk to the server.
type Security int

const (
	// Plain offers neither STARTTLS nor TLS; AUTH PLAIN is allowed anyway.
	Plain Security = iota
	// StartTLS offers STARTTLS, with a self-signed certificate.
	StartTLS
	// ImplicitTLS speaks TLS from the first byte, with a self-signed certificate.
	ImplicitTLS
)

func (s Security) String() string {
	switch s {
	case Plain:
		return "plain"
	case StartTLS:
		return "starttls"
	case ImplicitTLS:
		return "implicit-tls"
	}
	return "Security(" + strconv.Itoa(int(s)) + ")"
}

// Options configure StartWith. The zero value is what Start uses.
type Options struct {
	Security Security
	// Username and Password, when set, are the only credentials accepted,
	// and mail is refused (530) until the client has authenticated. When
	// empty, any credentials are accepted and authentication is optional.
	Username, Password string
}

// Server is a running test SMTP server. Its methods are safe for concurrent
// use; WaitFor, Restart and the constructors call t.Fatal and so belong on the
// test's goroutine.
type Server struct {
	t    testing.TB
	opts Options
	addr string // fixed at the first start, reused by Restart
	tls  *tls.Config

	mu         sync.Mutex
	srv        *smtp.Server // nil while stopped
	listener   net.Listener
	serveDone  chan struct{}
	messages   []Received
	arrived    chan struct{} // closed and replaced on every new message
	rejections int
	failRcpt   failure
	failData   failure
	reject     func(rcpt string) (code int, msg string)
	logClosed  bool
}

type failure struct {
	code  int
	msg   string
	count int
}

// Start runs a plain-text server (no TLS, AUTH PLAIN allowed) and stops it when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith runs a server configured by o and stops it when the test ends.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{t: t, opts: o, arrived: make(chan struct{})}
	if o.Security != Plain {
		cfg, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		s.tls = cfg
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(func() {
		s.Stop()
		s.mu.Lock()
		s.logClosed = true // the test is over: t.Log would panic
		s.mu.Unlock()
	})
	return s
}

func (s *Server) serve(l net.Listener) {
	if s.opts.Security == ImplicitTLS {
		l = tls.NewListener(l, s.tls)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtptest.localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = testLogger{s}
	if s.opts.Security == StartTLS {
		srv.TLSConfig = s.tls
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.srv, s.listener, s.serveDone = srv, l, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		srv.Serve(l) // returns nil once Close is called
	}()
}

// Addr is the server's "127.0.0.1:port", the same after Restart.
func (s *Server) Addr() string { return s.addr }

// URL is a URL for mail.ParseURL that matches the server's security:
// smtp://127.0.0.1:port?starttls=none for Plain; with tls=skip-verify for the
// TLS variants, whose certificate is self-signed.
func (s *Server) URL() string { return s.url(nil) }

// AuthURL is URL with user:password, percent-encoded.
func (s *Server) AuthURL(user, password string) string {
	return s.url(url.UserPassword(user, password))
}

func (s *Server) url(user *url.Userinfo) string {
	u := url.URL{Scheme: "smtp", Host: s.addr, User: user}
	switch s.opts.Security {
	case Plain:
		u.RawQuery = "starttls=none"
	case StartTLS:
		u.RawQuery = "starttls=always&tls=skip-verify"
	case ImplicitTLS:
		u.Scheme = "smtps"
		u.RawQuery = "tls=skip-verify"
	}
	return u.String()
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Stop closes the listener and every open connection; clients then get
// "connection refused". Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, l, done := s.srv, s.listener, s.serveDone
	s.srv, s.listener = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	// Closing the listener ourselves covers a Stop that comes before the
	// Serve goroutine has registered it with the server.
	l.Close()
	srv.Close()
	<-done
}

// Restart starts a stopped server again on the same port, keeping the
// messages received so far. Restarting a running server does nothing.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("smtptest: restart on %s: %v", s.addr, err)
	}
	s.serve(l)
}

// FailNext makes the next count recipients (RCPT TO) be rejected with code
// and msg, e.g. 550 "mailbox unavailable" or 451 "try again later".
func (s *Server) FailNext(code int, msg string, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRcpt = failure{code, msg, count}
}

// FailNextData makes the next count messages be rejected after their content
// was received (the reply to the end of DATA), e.g. 552 "message too large".
func (s *Server) FailNextData(code int, msg string, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData = failure{code, msg, count}
}

// SetReject decides per recipient, after FailNext is used up: a code of 0
// accepts, anything else rejects with that code and message. nil removes it.
// f runs on the connection's goroutine and may block, for example to hold a
// client in the middle of a conversation.
func (s *Server) SetReject(f func(rcpt string) (code int, msg string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = f
}

// Rejections counts the replies refused by FailNext, FailNextData, SetReject
// and bad credentials.
func (s *Server) Rejections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejections
}

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// WaitFor waits until at least n messages have been accepted and returns
// them all. It fails the test if that takes longer than timeout, which is a
// bound on a hang, not a performance assertion: use a generous one.
func (s *Server) WaitFor(n int, timeout time.Duration) []Received {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, arrived := len(s.messages), s.arrived
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-arrived:
		case <-deadline.C:
			s.t.Fatalf("smtptest: waited %v for %d messages, got %d", timeout, n, got)
			return nil
		}
	}
}

// take counts down a failure and returns the reply to give, if any.
func (s *Server) take(f *failure) error {
	if f.count <= 0 {
		return nil
	}
	f.count--
	s.rejections++
	return reply(f.code, f.msg)
}

func reply(code int, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: msg}
}

func (s *Server) newSession(*smtp.Conn) (smtp.Session, error) {
	return &session{srv: s}, nil
}

// session is one SMTP connection.
type session struct {
	srv      *Server
	username string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		o := se.srv.opts
		if o.Username != "" && (username != o.Username || password != o.Password) {
			se.srv.mu.Lock()
			se.srv.rejections++
			se.srv.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		se.username = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.srv.opts.Username != "" && se.username == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s := se.srv
	s.mu.Lock()
	err, reject := s.take(&s.failRcpt), s.reject
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if reject != nil {
		// Called without the lock: a test may block in it to hold a
		// client mid-conversation.
		if code, msg := reject(to); code != 0 {
			s.mu.Lock()
			s.rejections++
			s.mu.Unlock()
			return reply(code, msg)
		}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := se.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.take(&s.failData); err != nil {
		return err
	}
	m := parse(raw)
	m.From, m.To, m.Username = se.from, append([]string(nil), se.to...), se.username
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

// testLogger sends go-smtp's internal errors to the test log while the test
// runs (connections closed by Stop are expected and not errors).
type testLogger struct{ s *Server }

func (l testLogger) Printf(format string, v ...any) { l.log(fmt.Sprintf(format, v...)) }
func (l testLogger) Println(v ...any)               { l.log(fmt.Sprintln(v...)) }

func (l testLogger) log(msg string) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.logClosed {
		l.s.t.Logf("smtptest: %s", msg)
	}
}
