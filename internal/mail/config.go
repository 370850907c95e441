package mail

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Security says how the connection to the SMTP server is protected.
type Security int

const (
	// Plain sends everything, credentials included, in clear text. Meant for a
	// relay on the same host or network (smtp://localhost:25).
	Plain Security = iota
	// StartTLS requires the server to offer STARTTLS and upgrades the
	// connection before anything else is sent; a server without it is an error.
	StartTLS
	// OpportunisticTLS upgrades with STARTTLS when the server offers it and
	// continues in clear text otherwise.
	OpportunisticTLS
	// ImplicitTLS speaks TLS from the first byte (smtps://, port 465).
	ImplicitTLS
)

// String returns the name used in the starttls= URL option, or "implicit".
func (s Security) String() string {
	switch s {
	case Plain:
		return "none"
	case StartTLS:
		return "always"
	case OpportunisticTLS:
		return "opportunistic"
	case ImplicitTLS:
		return "implicit"
	}
	return "Security(" + strconv.Itoa(int(s)) + ")"
}

// DefaultTimeout bounds every single SMTP command (connect, each reply). RFC
// 5321 allows servers minutes for the end of DATA, but a relay that needs more
// than this is better retried later than waited for by the outbox worker.
const DefaultTimeout = 30 * time.Second

// Config is where and how to send mail. Build it with ParseURL.
type Config struct {
	Host     string // host name or IP address, without brackets
	Port     int
	Username string // empty: no SMTP AUTH
	Password string
	Security Security
	// SkipVerify accepts any server certificate (tls=skip-verify), for a
	// test relay with a self-signed certificate. Never for a real provider.
	SkipVerify bool
	// HELO is the name sent in EHLO; empty means the machine's host name.
	HELO    string
	Timeout time.Duration
}

// ParseURL reads an SMTP URL such as the value of AFFILIATED_SMTP_URL:
//
//	smtp://user:pass@host:587     STARTTLS, required (the submission port)
//	smtps://user:pass@host:465    implicit TLS
//	smtp://host:25                clear text, for a local relay
//
// The default port is 587 for smtp:// and 465 for smtps://. With smtp://, the
// connection uses STARTTLS, required, when the port is 587 or credentials are
// given, so that a password never crosses the network in clear by default;
// otherwise it is plain text. Query options change that:
//
//	starttls=always|opportunistic|none   (smtp:// only)
//	tls=skip-verify                      accept any certificate (test relays)
//	timeout=30s                          per SMTP command, default 30s
//	helo=name                            name sent in EHLO
//
// Even with starttls=none, the PLAIN and LOGIN mechanisms refuse to send a
// password in clear text to any host other than localhost, 127.0.0.1 or ::1.
//
// The user name and password are percent-decoded; characters such as @ : / ? #
// in them must be percent-encoded. Errors never repeat the password; callers
// prefix them with the option's name.
func ParseURL(s string) (Config, error) {
	var cfg Config
	s = strings.TrimSpace(s)
	if s == "" {
		return cfg, errors.New("empty URL: expected smtp://user:pass@host:587")
	}
	if strings.Contains(s, "#") {
		// Checked first: a '#' cuts the URL short, and what remains would
		// give a confusing error.
		return cfg, errors.New("unexpected '#': percent-encode it (%23) in the user name or password")
	}
	u, err := url.Parse(s)
	if err != nil {
		// The parser's message quotes the URL or pieces of it, which may be
		// pieces of the password: say what is expected instead.
		return cfg, errors.New("not a valid URL: expected smtp://user:pass@host:port, with special characters such as @ : / ? # in the user name and password percent-encoded")
	}
	switch u.Scheme {
	case "smtp":
		cfg.Port = 587
	case "smtps":
		cfg.Port = 465
		cfg.Security = ImplicitTLS
	case "":
		return cfg, errors.New("scheme must be smtp or smtps, as in smtp://user:pass@host:587")
	default:
		return cfg, fmt.Errorf("scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Opaque != "" {
		return cfg, fmt.Errorf("expected %s://host:port", u.Scheme)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, errors.New("unexpected path after the host: an SMTP URL is scheme://user:pass@host:port")
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return cfg, errors.New("missing host, as in smtp://host:587")
	}
	if !validHost(cfg.Host, strings.HasPrefix(u.Host, "[")) {
		return cfg, fmt.Errorf("invalid host %q: expected a DNS name or an IP address ([…] for IPv6)", cfg.Host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return cfg, fmt.Errorf("port must be a number from 1 to 65535, not %q", p)
		}
		cfg.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return cfg, errors.New("empty port after ':'")
	}

	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		switch {
		case cfg.Username == "" && cfg.Password != "":
			return cfg, errors.New("password given without a user name")
		case cfg.Username == "":
			return cfg, errors.New("empty user name before '@'")
		case cfg.Password == "":
			return cfg, errors.New("user name given without a password (smtp://user:pass@host)")
		}
	}

	if err := parseOptions(&cfg, u); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// validHost accepts an ASCII DNS name, an IPv4 address, or an IPv6 address
// written in brackets (bracketed).
func validHost(h string, bracketed bool) bool {
	if bracketed {
		ip := net.ParseIP(h)
		return ip != nil && ip.To4() == nil
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// parseOptions applies the query options and the default security for smtp://.
func parseOptions(cfg *Config, u *url.URL) error {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("invalid query options: %v", err)
	}
	explicit := false
	for key, vals := range q {
		if len(vals) != 1 {
			return fmt.Errorf("option %q given more than once", key)
		}
		v := vals[0]
		switch key {
		case "starttls":
			if cfg.Security == ImplicitTLS {
				return errors.New("starttls applies to smtp:// only; smtps:// always uses TLS")
			}
			switch v {
			case "always":
				cfg.Security = StartTLS
			case "opportunistic":
				cfg.Security = OpportunisticTLS
			case "none":
				cfg.Security = Plain
			default:
				return fmt.Errorf("starttls must be always, opportunistic or none, not %q", v)
			}
			explicit = true
		case "tls":
			switch v {
			case "skip-verify":
				cfg.SkipVerify = true
			case "verify":
				cfg.SkipVerify = false
			default:
				return fmt.Errorf("tls must be verify or skip-verify, not %q", v)
			}
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("timeout must be a positive duration such as 30s, not %q", v)
			}
			cfg.Timeout = d
		case "helo":
			if v == "" || strings.ContainsAny(v, " \t\r\n<>") {
				return fmt.Errorf("helo must be a host name, not %q", v)
			}
			cfg.HELO = v
		default:
			return fmt.Errorf("unknown option %q (known: starttls, tls, timeout, helo)", key)
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Security == ImplicitTLS {
		if cfg.Port == 587 {
			return errors.New("port 587 uses STARTTLS: write smtp://host:587, or smtps:// with port 465")
		}
		return nil
	}
	if !explicit {
		if cfg.Port == 465 {
			// Clear text against an implicit-TLS port hangs until the timeout
			// instead of failing: say so now.
			return errors.New("port 465 expects implicit TLS: write smtps://host:465")
		}
		if cfg.Port == 587 || cfg.Username != "" {
			cfg.Security = StartTLS
		}
	}
	return nil
}

// Addr is host:port, brackets included for an IPv6 address.
func (c Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// String gives the configuration as a URL with the password replaced by
// "xxxxx", fit for logs and error messages.
func (c Config) String() string {
	u := url.URL{Scheme: "smtp", Host: c.Addr()}
	if c.Security == ImplicitTLS {
		u.Scheme = "smtps"
	}
	if c.Username != "" {
		u.User = url.UserPassword(c.Username, "xxxxx")
	}
	q := url.Values{}
	if c.Security != ImplicitTLS {
		q.Set("starttls", c.Security.String())
	}
	if c.SkipVerify {
		q.Set("tls", "skip-verify")
	}
	if c.Timeout != 0 && c.Timeout != DefaultTimeout {
		q.Set("timeout", c.Timeout.String())
	}
	if c.HELO != "" {
		q.Set("helo", c.HELO)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// LogValue keeps the password out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.StringValue(c.String())
}
