package mail

import (
	"bytes"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Config
	}{
		{"smtp://user:pass@mail.example.com:587",
			Config{Host: "mail.example.com", Port: 587, Username: "user", Password: "pass", Security: StartTLS}},
		{"smtp://user:pass@mail.example.com", // default port: submission
			Config{Host: "mail.example.com", Port: 587, Username: "user", Password: "pass", Security: StartTLS}},
		{"smtps://user:pass@mail.example.com:465",
			Config{Host: "mail.example.com", Port: 465, Username: "user", Password: "pass", Security: ImplicitTLS}},
		{"smtps://user:pass@mail.example.com",
			Config{Host: "mail.example.com", Port: 465, Username: "user", Password: "pass", Security: ImplicitTLS}},
		{"smtps://mail.example.com:2465",
			Config{Host: "mail.example.com", Port: 2465, Security: ImplicitTLS}},
		{"smtp://localhost:25", // local relay: plain
			Config{Host: "localhost", Port: 25, Security: Plain}},
		{"smtp://relay.internal:2525/",
			Config{Host: "relay.internal", Port: 2525, Security: Plain}},
		{"smtp://mail.example.com", // no credentials, but the submission port
			Config{Host: "mail.example.com", Port: 587, Security: StartTLS}},
		{"smtp://apikey:secret@smtp.example.net:2525", // credentials: STARTTLS required
			Config{Host: "smtp.example.net", Port: 2525, Username: "apikey", Password: "secret", Security: StartTLS}},
		{"smtp://u:p@127.0.0.1:1025?starttls=none",
			Config{Host: "127.0.0.1", Port: 1025, Username: "u", Password: "p", Security: Plain}},
		{"smtp://relay:25?starttls=always",
			Config{Host: "relay", Port: 25, Security: StartTLS}},
		{"smtp://relay:25?starttls=opportunistic",
			Config{Host: "relay", Port: 25, Security: OpportunisticTLS}},
		{"smtp://relay:465?starttls=none", // explicit: allowed, even on 465
			Config{Host: "relay", Port: 465, Security: Plain}},
		{"smtp://relay:587?starttls=none",
			Config{Host: "relay", Port: 587, Security: Plain}},
		// Percent-decoded credentials; '@' in the user name works unencoded too.
		{"smtp://me%40example.com:p%40ss%3Aw%2Frd%23%3F%20%C3%A9@mail.example.com:587",
			Config{Host: "mail.example.com", Port: 587, Username: "me@example.com", Password: "p@ss:w/rd#? é", Security: StartTLS}},
		{"smtp://me@example.com:pass@mail.example.com:587",
			Config{Host: "mail.example.com", Port: 587, Username: "me@example.com", Password: "pass", Security: StartTLS}},
		{"smtp://[::1]:25",
			Config{Host: "::1", Port: 25, Security: Plain}},
		{"  smtp://relay:25  \n",
			Config{Host: "relay", Port: 25, Security: Plain}},
		{"smtps://relay:465?tls=skip-verify&timeout=5s&helo=app.example.com",
			Config{Host: "relay", Port: 465, Security: ImplicitTLS, SkipVerify: true, Timeout: 5 * time.Second, HELO: "app.example.com"}},
		{"smtp://relay:25?tls=verify",
			Config{Host: "relay", Port: 25, Security: Plain}},
		{"SMTP://Mail.Example.com:25", // schemes are case-insensitive
			Config{Host: "Mail.Example.com", Port: 25, Security: Plain}},
		{"smtp://relay:1", Config{Host: "relay", Port: 1, Security: Plain}},
		{"smtp://relay:65535", Config{Host: "relay", Port: 65535, Security: Plain}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if tt.want.Timeout == 0 {
				tt.want.Timeout = DefaultTimeout
			}
			if got != tt.want {
				t.Errorf("ParseURL(%q)\n got  %+v\n want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		in, want string // want: a substring of the error
	}{
		{"", "empty URL"},
		{"   ", "empty URL"},
		{"http://mail.example.com", `scheme must be smtp or smtps, not "http"`},
		{"mail.example.com:587", "scheme must be smtp or smtps"},
		{"mail.example.com", "scheme must be smtp or smtps"},
		{"smtp:mail.example.com", "expected smtp://host:port"},
		{"smtp://", "missing host"},
		{"smtp://:587", "missing host"},
		{"smtp://user:pass@:587", "missing host"},
		{"smtp://mail.example.com:0", "port must be a number from 1 to 65535"},
		{"smtp://mail.example.com:65536", "port must be a number from 1 to 65535"},
		{"smtp://mail.example.com:", "empty port"},
		{"smtp://mail.example.com:abc", "not a valid URL"},
		{"smtp://mail.example.com:587/inbox", "unexpected path"},
		{"smtp://user:pa#ss@mail.example.com", "'#'"},
		{"smtp://user:pass@mail.example.com#frag", "'#'"},
		{"smtp://:pass@mail.example.com", "password given without a user name"},
		{"smtp://@mail.example.com", "empty user name"},
		{"smtp://user@mail.example.com", "without a password"},
		{"smtp://user:@mail.example.com", "without a password"},
		{"smtp://mail.example.com:465", "write smtps://host:465"},
		{"smtp://user:pass@mail.example.com:465", "write smtps://host:465"},
		{"smtps://mail.example.com:587", "port 587 uses STARTTLS"},
		{"smtps://mail.example.com?starttls=always", "starttls applies to smtp:// only"},
		{"smtp://relay:25?starttls=yes", `starttls must be always, opportunistic or none, not "yes"`},
		{"smtp://relay:25?tls=off", `tls must be verify or skip-verify`},
		{"smtp://relay:25?timeout=0s", "timeout must be a positive duration"},
		{"smtp://relay:25?timeout=-1s", "timeout must be a positive duration"},
		{"smtp://relay:25?timeout=soon", "timeout must be a positive duration"},
		{"smtp://relay:25?helo=", "helo must be a host name"},
		{"smtp://relay:25?helo=a%20b", "helo must be a host name"},
		{"smtp://relay:25?startls=none", `unknown option "startls"`},
		{"smtp://relay:25?starttls=none&starttls=always", "given more than once"},
		{"smtp://relay:25?a=%zz", "invalid query options"},
		{"smtp://re lay:25", "not a valid URL"},
		{"smtp://[fe80::1%25eth0]:25", "invalid host"},
		{"smtp://0:0:1", "invalid host"},
		{"smtp://[127.0.0.1]:25", "not a valid URL"},
		{"smtp://ex%41mple.com:25", "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if err == nil {
				t.Fatalf("ParseURL(%q) = %+v, want error containing %q", tt.in, got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseURL(%q) error %q, want it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

// Errors end up in logs and on the console: they must not repeat the
// password, even when the password is what makes the URL invalid.
func TestParseURLErrorsHidePassword(t *testing.T) {
	for _, in := range []string{
		"smtp://user:s3cr3t/pw@mail.example.com:587",
		"smtp://user:s3cr3t?pw@mail.example.com:587",
		"smtp://user:s3cr3t pw@mail.example.com:587",
		"smtp://user:s3cr3t#pw@mail.example.com:587",
		"smtp://user:s3cr3t:pw@mail.example.com:x",
		"smtp://user:s3cr3tpw@mail.example.com:465",
		"smtp://user:s3cr3tpw@mail.example.com:99999",
		"smtp://user:s3cr3tpw@mail.example.com:587/path",
		"smtp://user:s3cr3tpw@mail.example.com:587?x=1",
		"http://user:s3cr3tpw@mail.example.com",
	} {
		_, err := ParseURL(in)
		if err == nil {
			t.Errorf("ParseURL(%q): want an error", in)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("ParseURL(%q) error repeats the password: %v", in, err)
		}
	}
}

func TestConfigStringHidesPassword(t *testing.T) {
	cfg, err := ParseURL("smtp://me%40example.com:hunter2@mail.example.com:587?tls=skip-verify&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.String()
	if strings.Contains(s, "hunter2") {
		t.Errorf("String() = %q repeats the password", s)
	}
	want := "smtp://me%40example.com:xxxxx@mail.example.com:587?starttls=always&timeout=5s&tls=skip-verify"
	if s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
	// What String prints parses back to the same settings.
	back, err := ParseURL(s)
	if err != nil {
		t.Fatalf("ParseURL(String()): %v", err)
	}
	cfg.Password = "xxxxx"
	if back != cfg {
		t.Errorf("round trip:\n got  %+v\n want %+v", back, cfg)
	}

	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("configured", "smtp", cfg)
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), "mail.example.com") {
		t.Errorf("log line %q: want the host and no password", buf.String())
	}

	for _, in := range []string{"smtps://relay:2465", "smtp://[::1]:25", "smtp://relay:25?starttls=opportunistic&helo=x.example"} {
		cfg, err := ParseURL(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseURL(cfg.String())
		if err != nil || back != cfg {
			t.Errorf("%s: String() = %q parses to %+v, %v; want %+v", in, cfg.String(), back, err, cfg)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"smtp://user:pass@mail.example.com:587",
		"smtps://u%40x:p%2Fw@[::1]:465?tls=skip-verify",
		"smtp://relay:25?starttls=none&timeout=3s&helo=h",
		"smtp://user:pa#ss@host",
		"smtp://user:pa?ss@host",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := ParseURL(s)
		if err != nil {
			// The password, when the parser finds one that occurs once in
			// the input, never reappears in the error.
			if u, perr := url.Parse(strings.TrimSpace(s)); perr == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) >= 6 && strings.Count(s, p) == 1 &&
					strings.Contains(err.Error(), p) {
					t.Errorf("error %q repeats the password %q", err, p)
				}
			}
			return
		}
		if cfg.Host == "" || cfg.Port < 1 || cfg.Port > 65535 || cfg.Timeout <= 0 {
			t.Errorf("ParseURL(%q) = %+v: accepted an incomplete config", s, cfg)
		}
		if (cfg.Username == "") != (cfg.Password == "") {
			t.Errorf("ParseURL(%q) = %+v: half a credential", s, cfg)
		}
		u, _ := url.Parse(strings.TrimSpace(s))
		if cfg.Username != "" && cfg.Security == Plain && u.Query().Get("starttls") != "none" {
			t.Errorf("ParseURL(%q) = %+v: credentials in clear text without asking", s, cfg)
		}
		back, err := ParseURL(cfg.String())
		if err != nil {
			t.Fatalf("ParseURL(%q).String() = %q does not parse: %v", s, cfg.String(), err)
		}
		cfg.Password = map[bool]string{true: "xxxxx", false: ""}[cfg.Username != ""]
		if back != cfg {
			t.Errorf("round trip of %q through %q:\n got  %+v\n want %+v", s, cfg.String(), back, cfg)
		}
	})
}
