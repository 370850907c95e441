// Package program owns programs and their affiliates: what is promoted, on
// which terms, and by whom. Tracking, the ledger and the surfaces read them
// from here; nothing else writes their tables.
package program

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/db"
)

// UTM holds the templates of the UTM parameters added to referral redirects.
// {code} is replaced by the affiliate's code and {program} by the program's slug.
type UTM struct {
	Source   string `json:"source"`
	Medium   string `json:"medium"`
	Campaign string `json:"campaign"`
}

// Program is what affiliates promote and the rules that apply to it.
type Program struct {
	ID                int64     `json:"id"`
	Name              string    `json:"name"`
	Slug              string    `json:"slug"`
	DestinationURL    string    `json:"destination_url"`
	AllowedHosts      []string  `json:"allowed_hosts"`
	FallbackURL       string    `json:"fallback_url"`
	CommissionRateBps int       `json:"commission_rate_bps"`
	FlatAmount        int64     `json:"flat_amount"`
	FlatCurrency      string    `json:"flat_currency"`
	HoldDays          int       `json:"hold_days"`
	CookieDays        int       `json:"cookie_days"`
	Attribution       string    `json:"attribution"`
	UTM               UTM       `json:"utm"`
	Recurring         string    `json:"recurring"`
	MinPayout         int64     `json:"min_payout"`
	AutoApprove       bool      `json:"auto_approve"`
	Terms             string    `json:"terms"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// NewProgram returns a program with every default: 50% commission, a
// 30-day hold, a 30-day cookie, first touch, default UTM templates. Decode
// input over it, so a field left out keeps its default and an explicit 0
// stays 0.
func NewProgram() *Program {
	p := &Program{CommissionRateBps: 5000, HoldDays: 30, CookieDays: 30}
	p.Defaults()
	return p
}

// Defaults fills the unset text fields of a program (numbers can be 0 on
// purpose; NewProgram sets their defaults).
func (p *Program) Defaults() {
	if p.Attribution == "" {
		p.Attribution = "first"
	}
	if p.UTM.Source == "" {
		p.UTM.Source = "{code}"
	}
	if p.UTM.Medium == "" {
		p.UTM.Medium = "referral"
	}
	if p.UTM.Campaign == "" {
		p.UTM.Campaign = "{program}"
	}
	if p.Recurring == "" {
		p.Recurring = "forever"
	}
}

var (
	slugRe      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	recurringRe = regexp.MustCompile(`^(once|forever|months:[1-9][0-9]{0,2})$`)
	currencyRe  = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Validate checks and normalizes p.
func (p *Program) Validate() error {
	p.Name = strings.TrimSpace(p.Name)
	p.Slug = strings.ToLower(strings.TrimSpace(p.Slug))
	if p.Name == "" {
		return apperr.Invalid("name", "is required")
	}
	if p.Slug == "" {
		p.Slug = Slugify(p.Name)
	}
	if !slugRe.MatchString(p.Slug) {
		return apperr.Invalid("slug", "must be 1–64 characters of a-z, 0-9, - and _")
	}
	dest, err := httpURL(p.DestinationURL)
	if err != nil {
		return apperr.Invalid("destination_url", "%v", err)
	}
	hosts := []string{strings.ToLower(dest.Host)}
	for _, h := range p.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if strings.ContainsAny(h, "/@\\ ,?#") {
			return apperr.Invalid("allowed_hosts", "%q is not a host name", h)
		}
		if !contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	p.AllowedHosts = hosts
	if p.FallbackURL != "" {
		if _, err := httpURL(p.FallbackURL); err != nil {
			return apperr.Invalid("fallback_url", "%v", err)
		}
	}
	if p.CommissionRateBps < 0 || p.CommissionRateBps > 10000 {
		return apperr.Invalid("commission_rate_bps", "must be from 0 to 10000 (100%%)")
	}
	if p.FlatAmount < 0 {
		return apperr.Invalid("flat_amount", "must not be negative")
	}
	if p.FlatAmount > 0 && !currencyRe.MatchString(p.FlatCurrency) {
		return apperr.Invalid("flat_currency", "must be an ISO 4217 code like USD when flat_amount is set")
	}
	if p.HoldDays < 0 || p.HoldDays > 3650 {
		return apperr.Invalid("hold_days", "must be from 0 to 3650")
	}
	if p.CookieDays < 1 || p.CookieDays > 3650 {
		return apperr.Invalid("cookie_days", "must be from 1 to 3650")
	}
	if p.Attribution != "first" && p.Attribution != "last" {
		return apperr.Invalid("attribution", "must be first or last")
	}
	for f, v := range map[string]string{"utm.source": p.UTM.Source, "utm.medium": p.UTM.Medium, "utm.campaign": p.UTM.Campaign} {
		if len(v) > 200 {
			return apperr.Invalid(f, "is longer than 200 characters")
		}
	}
	if !recurringRe.MatchString(p.Recurring) {
		return apperr.Invalid("recurring", "must be once, forever or months:N")
	}
	if p.MinPayout < 0 {
		return apperr.Invalid("min_payout", "must not be negative")
	}
	return nil
}

func httpURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, errors.New("must be an absolute http(s) URL without credentials")
	}
	return u, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Slugify turns a name into a URL-safe slug ("Solare Wines" → "solare-wines").
func Slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// randomSuffix returns n lower-case letters and digits from crypto/rand.
func randomSuffix(n int) string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Store reads and writes programs and affiliates.
type Store struct {
	DB      *db.DB
	Audit   *audit.Log
	BaseURL string // public URL of the server, for referral links

	// Changed, when set, is called after a program or affiliate changes
	// (the link cache drops what it knows).
	Changed func()
}

func (s *Store) changed() {
	if s.Changed != nil {
		s.Changed()
	}
}

const programCols = `id, name, slug, destination_url, allowed_hosts, fallback_url, commission_rate_bps,
	flat_amount, flat_currency, hold_days, cookie_days, attribution, utm_source, utm_medium, utm_campaign,
	recurring, min_payout, auto_approve, terms, created_at, updated_at`

func scanProgram(row interface{ Scan(...any) error }) (*Program, error) {
	var p Program
	var hosts string
	err := row.Scan(&p.ID, &p.Name, &p.Slug, &p.DestinationURL, &hosts, &p.FallbackURL, &p.CommissionRateBps,
		&p.FlatAmount, &p.FlatCurrency, &p.HoldDays, &p.CookieDays, &p.Attribution, &p.UTM.Source, &p.UTM.Medium,
		&p.UTM.Campaign, &p.Recurring, &p.MinPayout, &p.AutoApprove, &p.Terms, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return nil, err
	}
	p.AllowedHosts = strings.Split(hosts, ",")
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// CreateProgram validates and stores a new program, filling p.ID.
func (s *Store) CreateProgram(ctx context.Context, p *Program) error {
	p.Defaults()
	if err := p.Validate(); err != nil {
		return err
	}
	p.CreatedAt = db.Now()
	p.UpdatedAt = p.CreatedAt
	err := s.DB.TX(ctx, func(ctx context.Context) error {
		err := s.DB.Q(ctx).QueryRowContext(ctx, `/* program.CreateProgram */
			insert into programs (name, slug, destination_url, allowed_hosts, fallback_url, commission_rate_bps,
				flat_amount, flat_currency, hold_days, cookie_days, attribution, utm_source, utm_medium, utm_campaign,
				recurring, min_payout, auto_approve, terms, created_at, updated_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			returning id`,
			p.Name, p.Slug, p.DestinationURL, strings.Join(p.AllowedHosts, ","), p.FallbackURL, p.CommissionRateBps,
			p.FlatAmount, p.FlatCurrency, p.HoldDays, p.CookieDays, p.Attribution, p.UTM.Source, p.UTM.Medium,
			p.UTM.Campaign, p.Recurring, p.MinPayout, p.AutoApprove, p.Terms, p.CreatedAt, p.UpdatedAt).Scan(&p.ID)
		if err != nil {
			return uniqueErr(err)
		}
		return s.Audit.Record(ctx, "program.create", "program", p.ID, p)
	})
	if err == nil {
		s.changed()
	}
	return err
}

// UpdateProgram validates and saves every field of p.
func (s *Store) UpdateProgram(ctx context.Context, p *Program) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.UpdatedAt = db.Now()
	err := s.DB.TX(ctx, func(ctx context.Context) error {
		res, err := s.DB.Q(ctx).ExecContext(ctx, `/* program.UpdateProgram */
			update programs set name = $1, slug = $2, destination_url = $3, allowed_hosts = $4, fallback_url = $5,
				commission_rate_bps = $6, flat_amount = $7, flat_currency = $8, hold_days = $9, cookie_days = $10,
				attribution = $11, utm_source = $12, utm_medium = $13, utm_campaign = $14, recurring = $15,
				min_payout = $16, auto_approve = $17, terms = $18, updated_at = $19
			where id = $20`,
			p.Name, p.Slug, p.DestinationURL, strings.Join(p.AllowedHosts, ","), p.FallbackURL, p.CommissionRateBps,
			p.FlatAmount, p.FlatCurrency, p.HoldDays, p.CookieDays, p.Attribution, p.UTM.Source, p.UTM.Medium,
			p.UTM.Campaign, p.Recurring, p.MinPayout, p.AutoApprove, p.Terms, p.UpdatedAt, p.ID)
		if err != nil {
			return uniqueErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFound("program")
		}
		return s.Audit.Record(ctx, "program.update", "program", p.ID, p)
	})
	if err == nil {
		s.changed()
	}
	return err
}

// Program returns the program with id.
func (s *Store) Program(ctx context.Context, id int64) (*Program, error) {
	p, err := scanProgram(s.DB.R(ctx).QueryRowContext(ctx,
		`/* program.Program */ select `+programCols+` from programs where id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("program")
	}
	return p, err
}

// ProgramBySlug returns the program with slug.
func (s *Store) ProgramBySlug(ctx context.Context, slug string) (*Program, error) {
	p, err := scanProgram(s.DB.R(ctx).QueryRowContext(ctx,
		`/* program.ProgramBySlug */ select `+programCols+` from programs where slug = $1`, strings.ToLower(slug)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("program")
	}
	return p, err
}

// Programs lists every program, oldest first.
func (s *Store) Programs(ctx context.Context) ([]*Program, error) {
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* program.Programs */ select `+programCols+` from programs order by id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Program
	for rows.Next() {
		p, err := scanProgram(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// uniqueErr turns a unique violation into a 409 naming the field.
func uniqueErr(err error) error {
	if !db.IsUnique(err) {
		return err
	}
	col := db.UniqueColumn(err)
	for _, f := range []string{"coupon_code", "email", "code", "slug"} {
		if strings.Contains(col, f) {
			return apperr.Conflict("duplicate", f, "is already taken")
		}
	}
	return apperr.Conflict("duplicate", "", "already exists")
}
