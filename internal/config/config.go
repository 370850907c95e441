// Package config declares every option of `affiliated serve` once: its flag,
// its environment variable, its default, whether it is secret, and how it is
// checked. A flag wins over the environment, which wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"affiliated/internal/mail"
)

// Config is the validated configuration of a server.
type Config struct {
	Addr            string
	DB              string
	BaseURL         *url.URL
	LogJSON         bool
	LogLevel        string
	ShutdownTimeout time.Duration

	// Tracking.
	CookieName        string
	CookieDomain      string
	IPMode            string
	IPSalt            string
	FallbackURL       string
	ClickBatchSize    int
	ClickBatchWait    time.Duration
	ClickQueue        int
	ClickJournal      string // "auto", "off" or a directory
	ClickLoadWait     time.Duration
	ClickWaitTimeout  time.Duration
	LinkCacheTTL      time.Duration
	TrustProxyHeaders bool

	// Payment platforms.
	WebhookTolerance       time.Duration
	PaddleSecrets          []string
	PaddleClassicPublicKey string
	LemonSqueezySecret     string
	StripeSecret           string
	GumroadToken           string

	// Notifications.
	SMTPURL     string
	MailFrom    string
	OwnerEmails []string
	Workers     bool

	// Demo fills an empty database with demo data at start.
	Demo bool

	// Outbox and outgoing webhooks.
	OutboxRetryFor       time.Duration // how long a failing message is retried before it is dead
	OutboxLease          time.Duration // how long a claimed message is reserved for its worker
	PayableSweep         time.Duration // how often commissions that became payable are announced
	WebhooksAllowPrivate bool          // allow outgoing webhooks to private, loopback and link-local addresses
}

// Option is one row of the table.
type Option struct {
	Name    string // flag name, without dashes
	Env     string
	Default string
	Usage   string
	Secret  bool
	set     func(c *Config, v string) error
}

// Options returns the table, in the order --help and README list it.
func Options() []Option {
	return []Option{
		{"addr", "AFFILIATED_ADDR", "localhost:8080", "address to listen on (host:port)", false, func(c *Config, v string) error {
			if _, _, err := splitHostPort(v); err != nil {
				return err
			}
			c.Addr = v
			return nil
		}},
		{"db", "AFFILIATED_DB", "affiliated.db", "database: a SQLite file path, or postgres://user@host/db", true, func(c *Config, v string) error {
			if v == "" {
				return errors.New("must not be empty")
			}
			if strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") {
				if _, err := url.Parse(v); err != nil {
					return errors.New("not a valid postgres:// URL")
				}
			}
			c.DB = v
			return nil
		}},
		{"base-url", "AFFILIATED_BASE_URL", "", "public URL of this server, used in referral links and emails (default http://ADDR)", false, func(c *Config, v string) error {
			if v == "" {
				return nil // filled from addr after parsing
			}
			u, err := absURL(v)
			if err != nil {
				return err
			}
			c.BaseURL = u
			return nil
		}},
		{"log-json", "AFFILIATED_LOG_JSON", "false", "log as JSON lines instead of text", false, boolOpt(func(c *Config) *bool { return &c.LogJSON })},
		{"log-level", "AFFILIATED_LOG_LEVEL", "info", "debug, info, warn or error", false, func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return errors.New("must be debug, info, warn or error")
		}},
		{"shutdown-timeout", "AFFILIATED_SHUTDOWN_TIMEOUT", "15s", "how long shutdown waits for in-flight requests and queued clicks", false, durOpt(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},

		{"cookie-name", "AFFILIATED_COOKIE_NAME", "aff_ref", "name of the referral cookie", false, func(c *Config, v string) error {
			if v == "" || strings.ContainsAny(v, " ;,=\t\r\n\"") {
				return errors.New("must be a plain cookie name")
			}
			c.CookieName = v
			return nil
		}},
		{"cookie-domain", "AFFILIATED_COOKIE_DOMAIN", "", "Domain of the referral cookie (e.g. example.com when serving from go.example.com)", false, func(c *Config, v string) error {
			if strings.ContainsAny(v, " ;,/:\t\r\n") {
				return errors.New("must be a bare domain name")
			}
			c.CookieDomain = strings.TrimPrefix(strings.ToLower(v), ".")
			return nil
		}},
		{"ip-mode", "AFFILIATED_IP_MODE", "truncate", "how click IPs are stored: truncate (/24, /48), hash, none, full", false, func(c *Config, v string) error {
			switch v {
			case "truncate", "hash", "none", "full":
				c.IPMode = v
				return nil
			}
			return errors.New("must be truncate, hash, none or full")
		}},
		{"ip-salt", "AFFILIATED_IP_SALT", "", "secret salt for --ip-mode=hash (required in that mode)", true, strOpt(func(c *Config) *string { return &c.IPSalt })},
		{"fallback-url", "AFFILIATED_FALLBACK_URL", "", "where unknown or suspended codes go (default: a 404 page)", false, func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if _, err := absURL(v); err != nil {
				return err
			}
			c.FallbackURL = v
			return nil
		}},
		{"click-batch-size", "AFFILIATED_CLICK_BATCH_SIZE", "1000", "most clicks committed in one transaction", false, intOpt(1, 100000, func(c *Config) *int { return &c.ClickBatchSize })},
		{"click-batch-wait", "AFFILIATED_CLICK_BATCH_WAIT", "2ms", "longest a click waits for others to share its commit", false, durOpt(func(c *Config) *time.Duration { return &c.ClickBatchWait })},
		{"click-queue", "AFFILIATED_CLICK_QUEUE", "100000", "clicks queued in memory before redirects wait for room", false, intOpt(1, 10000000, func(c *Config) *int { return &c.ClickQueue })},
		{"click-journal", "AFFILIATED_CLICK_JOURNAL", "auto", "directory of the click journal: a redirect appends its click there and answers, a loader moves clicks to the database in batches; auto: beside a SQLite file, off on PostgreSQL; off: redirects wait for the database commit", false, func(c *Config, v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("must be auto, off or a directory")
			}
			c.ClickJournal = v
			return nil
		}},
		{"click-load-wait", "AFFILIATED_CLICK_LOAD_WAIT", "10ms", "with the click journal: how long clicks gather before a load into the database (reads wait for the load they need, never this long)", false, durOpt(func(c *Config) *time.Duration { return &c.ClickLoadWait })},
		{"click-wait-timeout", "AFFILIATED_CLICK_WAIT_TIMEOUT", "1s", "longest a redirect waits for its click's commit before answering anyway (the click stays queued)", false, durOpt(func(c *Config) *time.Duration { return &c.ClickWaitTimeout })},
		{"link-cache-ttl", "AFFILIATED_LINK_CACHE_TTL", "30s", "how long a resolved referral code is trusted without asking the database", false, durOpt(func(c *Config) *time.Duration { return &c.LinkCacheTTL })},
		{"trust-proxy", "AFFILIATED_TRUST_PROXY", "false", "take the client IP from X-Forwarded-For (only behind a proxy you control)", false, boolOpt(func(c *Config) *bool { return &c.TrustProxyHeaders })},

		{"webhook-tolerance", "AFFILIATED_WEBHOOK_TOLERANCE", "5m", "how old a signed webhook timestamp may be", false, durOpt(func(c *Config) *time.Duration { return &c.WebhookTolerance })},
		{"paddle-secret", "AFFILIATED_PADDLE_SECRET", "", "Paddle Billing notification secret(s), comma-separated during rotation", true, func(c *Config, v string) error {
			c.PaddleSecrets = splitList(v)
			return nil
		}},
		{"paddle-classic-public-key", "AFFILIATED_PADDLE_CLASSIC_PUBLIC_KEY", "", "Paddle Classic public key: PEM text or a file path", true, strOpt(func(c *Config) *string { return &c.PaddleClassicPublicKey })},
		{"lemonsqueezy-secret", "AFFILIATED_LEMONSQUEEZY_SECRET", "", "Lemon Squeezy signing secret", true, strOpt(func(c *Config) *string { return &c.LemonSqueezySecret })},
		{"stripe-secret", "AFFILIATED_STRIPE_SECRET", "", "Stripe endpoint signing secret (whsec_…)", true, strOpt(func(c *Config) *string { return &c.StripeSecret })},
		{"gumroad-token", "AFFILIATED_GUMROAD_TOKEN", "", "secret token in the Gumroad ping URL /webhooks/gumroad/TOKEN", true, strOpt(func(c *Config) *string { return &c.GumroadToken })},

		{"smtp", "AFFILIATED_SMTP_URL", "", "SMTP server: smtp://user:pass@host:587 (STARTTLS), smtps://…:465, smtp://host:25; empty keeps mail in the dev mailbox", true, func(c *Config, v string) error {
			if v != "" {
				if _, err := mail.ParseURL(v); err != nil {
					return err
				}
			}
			c.SMTPURL = v
			return nil
		}},
		{"mail-from", "AFFILIATED_MAIL_FROM", "affiliated@localhost", "From address of emails", false, func(c *Config, v string) error {
			if !strings.Contains(v, "@") {
				return errors.New("must be an email address")
			}
			c.MailFrom = v
			return nil
		}},
		{"owner-emails", "AFFILIATED_OWNER_EMAILS", "", "owner notification recipients, comma-separated", false, func(c *Config, v string) error {
			c.OwnerEmails = splitList(v)
			for _, e := range c.OwnerEmails {
				if !strings.Contains(e, "@") {
					return fmt.Errorf("%q is not an email address", e)
				}
			}
			return nil
		}},
		{"workers", "AFFILIATED_WORKERS", "true", "run background workers (outbox) in this process; false on extra replicas", false, boolOpt(func(c *Config) *bool { return &c.Workers })},
		{"demo", "AFFILIATED_DEMO", "false", "fill an empty database with demo data at start (see affiliated demo); a database with data is left alone", false, boolOpt(func(c *Config) *bool { return &c.Demo })},
		{"outbox-retry-for", "AFFILIATED_OUTBOX_RETRY_FOR", "24h", "how long a failing email or webhook is retried (exponential backoff with jitter) before it is dead", false, minDurOpt(time.Second, func(c *Config) *time.Duration { return &c.OutboxRetryFor })},
		{"outbox-lease", "AFFILIATED_OUTBOX_LEASE", "2m", "how long a worker holds a message it is sending; a crashed worker's messages are sent again after it", false, minDurOpt(time.Second, func(c *Config) *time.Duration { return &c.OutboxLease })},
		{"payable-sweep", "AFFILIATED_PAYABLE_SWEEP", "10m", "how often commissions whose hold has passed are announced (commission.payable)", false, minDurOpt(time.Second, func(c *Config) *time.Duration { return &c.PayableSweep })},
		{"webhooks-allow-private", "AFFILIATED_WEBHOOKS_ALLOW_PRIVATE", "false", "allow outgoing webhooks to private, loopback and link-local addresses (refused by default: SSRF)", false, boolOpt(func(c *Config) *bool { return &c.WebhooksAllowPrivate })},
	}
}

// UsageError is a configuration mistake by the user: the command prints it
// on one line and exits with status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Load parses args (without the subcommand name) and the environment into a
// Config. --help prints the table to out and returns flag.ErrHelp.
func Load(name string, args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	opts := Options()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := make([]*string, len(opts))
	for i, o := range opts {
		if o.Default == "true" || o.Default == "false" {
			vals[i] = new(string)
			fs.Var(boolFlag{vals[i]}, o.Name, o.Usage) // "--demo" alone means true
			continue
		}
		vals[i] = fs.String(o.Name, "", o.Usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			PrintUsage(out, name)
			return nil, err
		}
		return nil, &UsageError{Msg: err.Error() + " (see --help)"}
	}
	if fs.NArg() > 0 {
		// "--log-json maybe": a true/false option takes no separate value.
		if i := len(args) - fs.NArg() - 1; i >= 0 {
			name, _, _ := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
			if f := fs.Lookup(name); f != nil && strings.HasPrefix(args[i], "-") {
				if _, ok := f.Value.(boolFlag); ok {
					return nil, &UsageError{Msg: fmt.Sprintf("unexpected argument %q after --%s, which is true or false: write --%s=%s", fs.Arg(0), name, name, fs.Arg(0))}
				}
			}
		}
		return nil, &UsageError{Msg: fmt.Sprintf("unexpected argument %q (see --help)", fs.Arg(0))}
	}
	setByFlag := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setByFlag[f.Name] = true })
	c := &Config{}
	for i, o := range opts {
		v, from := o.Default, "default"
		if e := getenv(o.Env); e != "" {
			v, from = e, o.Env
		}
		if setByFlag[o.Name] {
			v, from = *vals[i], "--"+o.Name
		}
		if err := o.set(c, v); err != nil {
			shown := v
			if o.Secret {
				shown = "(secret)"
			}
			return nil, &UsageError{Msg: fmt.Sprintf("invalid %s (--%s / %s) = %s: %v", from, o.Name, o.Env, shown, err)}
		}
	}
	if c.BaseURL == nil {
		c.BaseURL = &url.URL{Scheme: "http", Host: c.Addr}
	}
	if c.IPMode == "hash" && c.IPSalt == "" {
		return nil, &UsageError{Msg: "invalid --ip-salt / AFFILIATED_IP_SALT: required when --ip-mode=hash"}
	}
	return c, nil
}

// PrintUsage writes the option table.
func PrintUsage(w io.Writer, name string) {
	fmt.Fprintf(w, "Usage: affiliated %s [options]\n\nOptions (flag, environment variable, default):\n", name)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, o := range Options() {
		def := o.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(tw, "  --%s\t%s\t%s\t%s\n", o.Name, o.Env, def, o.Usage)
	}
	tw.Flush()
}

// boolFlag is a flag that may stand alone ("--log-json") or take a value
// ("--log-json=false"); the option's set function checks the value.
type boolFlag struct{ v *string }

func (b boolFlag) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}
func (b boolFlag) Set(v string) error { *b.v = v; return nil }
func (b boolFlag) IsBoolFlag() bool   { return true }

func strOpt(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func boolOpt(f func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		*f(c) = b
		return nil
	}
}

func durOpt(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("must be a duration like 500ms, 5s or 2m")
		}
		*f(c) = d
		return nil
	}
}

func minDurOpt(lo time.Duration, f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo {
			return fmt.Errorf("must be a duration of at least %v, like 30s, 2m or 24h", lo)
		}
		*f(c) = d
		return nil
	}
}

func intOpt(lo, hi int, f func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		*f(c) = n
		return nil
	}
}

func absURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("must be an absolute http(s) URL")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func splitHostPort(v string) (string, string, error) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return "", "", errors.New("must be host:port")
	}
	port, err := strconv.Atoi(v[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", "", errors.New("port must be a number from 0 to 65535")
	}
	return v[:i], v[i+1:], nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
