package program

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
)

// Affiliate statuses.
const (
	StatusPending   = "pending"
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusRejected  = "rejected"
)

// Affiliate promotes a program: a creator's partner or a local vendor.
type Affiliate struct {
	ID                int64     `json:"id"`
	ProgramID         int64     `json:"program_id"`
	Email             string    `json:"email"`
	Name              string    `json:"name"`
	Code              string    `json:"code"`
	CouponCode        string    `json:"coupon_code"`
	Status            string    `json:"status"`
	CommissionRateBps *int      `json:"commission_rate_bps"`
	PayoutEmail       string    `json:"payout_email"`
	Website           string    `json:"website"`
	Promotion         string    `json:"promotion"`
	NotifySales       bool      `json:"notify_sales"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// NewAffiliate returns an affiliate with the defaults: active, sale and
// refund emails on. Decode input over it.
func NewAffiliate() *Affiliate { return &Affiliate{Status: StatusActive, NotifySales: true} }

var codeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidCode reports whether s (lower-cased) can be an affiliate code.
func ValidCode(s string) bool { return codeRe.MatchString(strings.ToLower(s)) }

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// Validate checks and normalizes a; a blank code is left for the store to generate.
func (a *Affiliate) Validate() error {
	a.Email = strings.TrimSpace(a.Email)
	a.Name = strings.TrimSpace(a.Name)
	a.Code = strings.ToLower(strings.TrimSpace(a.Code))
	a.CouponCode = strings.TrimSpace(a.CouponCode)
	a.PayoutEmail = strings.TrimSpace(a.PayoutEmail)
	if !validEmail(a.Email) {
		return apperr.Invalid("email", "must be an email address like ann@example.com")
	}
	if len(a.Name) > 200 {
		return apperr.Invalid("name", "is longer than 200 characters")
	}
	if a.Code != "" && !codeRe.MatchString(a.Code) {
		return apperr.Invalid("code", "must be 1–64 characters of a-z, 0-9, - and _, starting with a letter or digit")
	}
	if a.CouponCode != "" && (len(a.CouponCode) > 64 || strings.ContainsAny(a.CouponCode, " \t\r\n")) {
		return apperr.Invalid("coupon_code", "must be at most 64 characters without spaces")
	}
	switch a.Status {
	case "":
		a.Status = StatusActive
	case StatusPending, StatusActive, StatusSuspended, StatusRejected:
	default:
		return apperr.Invalid("status", "must be pending, active, suspended or rejected")
	}
	if r := a.CommissionRateBps; r != nil && (*r < 0 || *r > 10000) {
		return apperr.Invalid("commission_rate_bps", "must be from 0 to 10000 (100%%)")
	}
	if a.PayoutEmail != "" && !validEmail(a.PayoutEmail) {
		return apperr.Invalid("payout_email", "must be an email address")
	}
	if len(a.Website) > 500 || len(a.Promotion) > 5000 {
		return apperr.Invalid("website", "is too long")
	}
	return nil
}

// ReferralURL is the affiliate's link: base URL + /r/{code}.
func (s *Store) ReferralURL(a *Affiliate) string { return s.BaseURL + "/r/" + a.Code }

const affiliateCols = `id, program_id, email, name, code, coalesce(coupon_code, ''), status, commission_rate_bps,
	payout_email, website, promotion, notify_sales, created_at, updated_at`

func scanAffiliate(row interface{ Scan(...any) error }) (*Affiliate, error) {
	var a Affiliate
	var rate sql.NullInt64
	err := row.Scan(&a.ID, &a.ProgramID, &a.Email, &a.Name, &a.Code, &a.CouponCode, &a.Status, &rate,
		&a.PayoutEmail, &a.Website, &a.Promotion, &a.NotifySales, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if rate.Valid {
		r := int(rate.Int64)
		a.CommissionRateBps = &r
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return &a, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullRate(r *int) any {
	if r == nil {
		return nil
	}
	return *r
}

// CreateAffiliate validates and stores a new affiliate, generating a code
// from the name when none is given.
func (s *Store) CreateAffiliate(ctx context.Context, a *Affiliate) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if _, err := s.Program(ctx, a.ProgramID); err != nil {
		if apperr.Is(err, apperr.KindNotFound) {
			return apperr.Invalid("program_id", "no program with id %d", a.ProgramID)
		}
		return err
	}
	generated := a.Code == ""
	for attempt := 0; ; attempt++ {
		if generated {
			a.Code = generateCode(a, attempt)
		}
		err := s.insertAffiliate(ctx, a)
		if err == nil {
			s.changed()
			return nil
		}
		if e, ok := apperr.As(err); ok && generated && e.Field == "code" && attempt < 8 {
			continue
		}
		return err
	}
}

func generateCode(a *Affiliate, attempt int) string {
	base := Slugify(a.Name)
	if base == "" {
		base = Slugify(strings.SplitN(a.Email, "@", 2)[0])
	}
	if len(base) > 32 {
		base = strings.Trim(base[:32], "-")
	}
	switch {
	case base == "":
		return randomSuffix(8)
	case attempt == 0:
		return base
	default:
		return base + "-" + randomSuffix(4)
	}
}

func (s *Store) insertAffiliate(ctx context.Context, a *Affiliate) error {
	a.CreatedAt = db.Now()
	a.UpdatedAt = a.CreatedAt
	return s.DB.TX(ctx, func(ctx context.Context) error {
		err := s.DB.Q(ctx).QueryRowContext(ctx, `/* program.CreateAffiliate */
			insert into affiliates (program_id, email, name, code, coupon_code, status, commission_rate_bps,
				payout_email, website, promotion, notify_sales, created_at, updated_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id`,
			a.ProgramID, a.Email, a.Name, a.Code, nullString(a.CouponCode), a.Status, nullRate(a.CommissionRateBps),
			a.PayoutEmail, a.Website, a.Promotion, a.NotifySales, a.CreatedAt, a.UpdatedAt).Scan(&a.ID)
		if err != nil {
			return uniqueErr(err)
		}
		return s.Audit.Record(ctx, "affiliate.create", "affiliate", a.ID, a)
	})
}

// UpdateAffiliate validates and saves every field of a.
func (s *Store) UpdateAffiliate(ctx context.Context, a *Affiliate) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.Code == "" {
		return apperr.Invalid("code", "is required")
	}
	if _, err := s.Program(ctx, a.ProgramID); err != nil {
		if apperr.Is(err, apperr.KindNotFound) {
			return apperr.Invalid("program_id", "no program with id %d", a.ProgramID)
		}
		return err
	}
	a.UpdatedAt = db.Now()
	err := s.DB.TX(ctx, func(ctx context.Context) error {
		res, err := s.DB.Q(ctx).ExecContext(ctx, `/* program.UpdateAffiliate */
			update affiliates set program_id = $1, email = $2, name = $3, code = $4, coupon_code = $5, status = $6,
				commission_rate_bps = $7, payout_email = $8, website = $9, promotion = $10, notify_sales = $11,
				updated_at = $12
			where id = $13`,
			a.ProgramID, a.Email, a.Name, a.Code, nullString(a.CouponCode), a.Status, nullRate(a.CommissionRateBps),
			a.PayoutEmail, a.Website, a.Promotion, a.NotifySales, a.UpdatedAt, a.ID)
		if err != nil {
			return uniqueErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFound("affiliate")
		}
		return s.Audit.Record(ctx, "affiliate.update", "affiliate", a.ID, a)
	})
	if err == nil {
		s.changed()
	}
	return err
}

func (s *Store) affiliateWhere(ctx context.Context, method, where string, arg any) (*Affiliate, error) {
	a, err := scanAffiliate(s.DB.R(ctx).QueryRowContext(ctx,
		`/* program.`+method+` */ select `+affiliateCols+` from affiliates where `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("affiliate")
	}
	return a, err
}

// Affiliate returns the affiliate with id.
func (s *Store) Affiliate(ctx context.Context, id int64) (*Affiliate, error) {
	return s.affiliateWhere(ctx, "Affiliate", "id = $1", id)
}

// AffiliateByCode returns the affiliate whose code is code (any case).
func (s *Store) AffiliateByCode(ctx context.Context, code string) (*Affiliate, error) {
	return s.affiliateWhere(ctx, "AffiliateByCode", "code = $1", strings.ToLower(code))
}

// AffiliateByCoupon returns the affiliate whose coupon code is coupon (any case).
func (s *Store) AffiliateByCoupon(ctx context.Context, coupon string) (*Affiliate, error) {
	return s.affiliateWhere(ctx, "AffiliateByCoupon", "lower(coupon_code) = lower($1)", coupon)
}

// AffiliateByEmail returns the affiliate whose email is email (any case).
func (s *Store) AffiliateByEmail(ctx context.Context, email string) (*Affiliate, error) {
	return s.affiliateWhere(ctx, "AffiliateByEmail", "lower(email) = lower($1)", strings.TrimSpace(email))
}

// AffiliateFilter narrows a listing.
type AffiliateFilter struct {
	ProgramID int64
	Status    string
	Query     string // substring of name, email or code
	After     int64  // cursor: the last id of the previous page
	Limit     int
}

// Affiliates lists affiliates by id, one page at a time.
func (s *Store) Affiliates(ctx context.Context, f AffiliateFilter) ([]*Affiliate, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `/* program.Affiliates */ select ` + affiliateCols + ` from affiliates where id > $1`
	args := []any{f.After}
	if f.ProgramID != 0 {
		args = append(args, f.ProgramID)
		q += ` and program_id = $` + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		q += ` and status = $` + strconv.Itoa(len(args))
	}
	if f.Query != "" {
		// The search is a substring, not a pattern: % and _ match themselves.
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(f.Query))
		args = append(args, "%"+esc+"%")
		n := strconv.Itoa(len(args))
		q += ` and (lower(name) like $` + n + ` escape '\' or lower(email) like $` + n + ` escape '\' or code like $` + n + ` escape '\')`
	}
	args = append(args, f.Limit)
	q += ` order by id limit $` + strconv.Itoa(len(args))
	rows, err := s.DB.R(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Affiliate
	for rows.Next() {
		a, err := scanAffiliate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
