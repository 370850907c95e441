package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
)

// Kind is a kind of principal: who signs in. Affiliates and owners are
// different principals with different sessions; a session of one kind
// never opens the pages of the other.
type Kind string

// Principal kinds.
const (
	KindAffiliate Kind = "affiliate"
	KindOwner     Kind = "owner"
	// kindSetup marks the first owner's setup link in signin_codes.
	kindSetup Kind = "setup"
)

// CodeSender delivers a sign-in code and its magic link. It is called
// inside the transaction that stores the code, so an outbox row commits
// with the code or not at all.
type CodeSender interface {
	SendSignInCode(ctx context.Context, kind Kind, email, code, link string) error
}

// LookupFunc finds the principal an email belongs to. ok is false when
// nobody of that kind may sign in with it (unknown, rejected, …).
type LookupFunc func(ctx context.Context, kind Kind, email string) (id int64, ok bool, err error)

// Codes issues and checks one-time sign-in codes: 6 digits from
// crypto/rand, valid for TTL, single use, at most MaxTries tries each, and
// a magic link carrying a separate random token for the same grant. Only
// hashes are stored. Requests for unknown emails store a code too and do
// the same work, so neither the answer nor its cost tells who has an account.
type Codes struct {
	DB      *db.DB
	Limiter *Limiter
	Sender  CodeSender
	Lookup  LookupFunc
	// Committed, when set, is called after a code's transaction commits:
	// it wakes the outbox worker, so the email leaves at once.
	Committed func()
	Now       func() time.Time // time.Now when nil

	TTL      time.Duration // how long a code is valid; 10 minutes when 0
	MaxTries int           // tries per code; 5 when 0
	Limits   CodeLimits    // DefaultCodeLimits when zero
}

// CodeLimits bound how often codes may be requested and tried.
type CodeLimits struct {
	RequestPerEmail, RequestPerIP Limit
	VerifyPerEmail, VerifyPerIP   Limit
}

// DefaultCodeLimits are generous for people and tight for guessing: with 5
// tries per code and 5 codes per email a quarter hour, a guesser gets 25
// tries in a million per quarter hour, further capped at 10 per email.
var DefaultCodeLimits = CodeLimits{
	RequestPerEmail: Limit{Max: 5, Window: 15 * time.Minute},
	RequestPerIP:    Limit{Max: 30, Window: 15 * time.Minute},
	VerifyPerEmail:  Limit{Max: 10, Window: 15 * time.Minute},
	VerifyPerIP:     Limit{Max: 50, Window: 15 * time.Minute},
}

// Errors of Verify and Redeem. One message covers an unknown email, no
// code, a wrong, expired or used code: telling them apart would tell who
// has an account.
var (
	ErrBadCode = &apperr.Error{Kind: apperr.KindInvalid, Code: "bad_code", Field: "code",
		Message: "That code is not right, or it has expired. Check the latest email, or ask for a new code."}
	ErrTooManyTries = &apperr.Error{Kind: apperr.KindTooMany, Code: "too_many_tries", Field: "code",
		Message: "Too many wrong tries for this code. Ask for a new code; it can be used right away."}
	ErrBadLink = &apperr.Error{Kind: apperr.KindInvalid, Code: "bad_link",
		Message: "This sign-in link has expired or was already used. Ask for a new code."}
)

func (c *Codes) now() time.Time {
	if c.Now != nil {
		return db.Time(c.Now())
	}
	return db.Now()
}

func (c *Codes) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return 10 * time.Minute
}

func (c *Codes) maxTries() int {
	if c.MaxTries > 0 {
		return c.MaxTries
	}
	return 5
}

func (c *Codes) limits() CodeLimits {
	if c.Limits == (CodeLimits{}) {
		return DefaultCodeLimits
	}
	return c.Limits
}

// NormalizeEmail trims and lower-cases an address and checks its syntax.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 {
		return "", apperr.Invalid("email", "must be an email address like ann@example.com")
	}
	return s, nil
}

// NewCode returns 6 uniformly random digits.
func NewCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// codeHash is the stored form of a code. The kind and email are part of
// the input, so equal codes of two people hash differently and a table of
// a million precomputed hashes is of no use.
func codeHash(kind Kind, email, code string) string {
	sum := sha256.Sum256([]byte("affiliated sign-in code\x00" + string(kind) + "\x00" + email + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

func flowHash(flow string) string {
	if flow == "" {
		return ""
	}
	return Hash("affiliated login flow\x00" + flow)
}

// emailKey is the rate-limit key part of an email: a hash, so the limits
// table holds no addresses.
func emailKey(kind Kind, email string) string {
	return string(kind) + ":" + Hash(email)[:32]
}

// Request is a request for a sign-in code.
type Request struct {
	Kind  Kind
	Email string
	IP    string // the client's address, for the per-address limit
	// Flow is the requesting browser's login cookie. A magic link opened
	// in a browser carrying the same cookie signs in with one click; any
	// other browser is asked to confirm first (see Peek).
	Flow string
	// Link builds the absolute magic link from its token.
	Link func(token string) string
}

// Request issues a code for req.Email and has it sent when the email
// belongs to a principal of req.Kind. The result is the same either way:
// nil, unless the email is malformed or a limit is reached (*LockedError).
// A new code replaces any earlier one of the same email.
func (c *Codes) Request(ctx context.Context, req Request) error {
	email, err := NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	lim := c.limits()
	if err := c.Limiter.Hit(ctx, "signin-request:ip:"+NetworkKey(req.IP), lim.RequestPerIP, "sign-in requests from your network"); err != nil {
		return err
	}
	if err := c.Limiter.Hit(ctx, "signin-request:email:"+emailKey(req.Kind, email), lim.RequestPerEmail, "codes requested for this email"); err != nil {
		return err
	}
	id, ok, err := c.Lookup(ctx, req.Kind, email)
	if err != nil {
		return err
	}
	code, token := NewCode(), RandomSecret(20)
	now := c.now()
	err = c.DB.TX(ctx, func(ctx context.Context) error {
		q := c.DB.Q(ctx)
		// Expire what this code replaces, and drop codes long dead.
		if _, err := q.ExecContext(ctx, `/* auth.Codes.Request */
			update signin_codes set expires_at = $1 where kind = $2 and email = $3 and used_at is null and expires_at > $1`,
			now, string(req.Kind), email); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `/* auth.Codes.Request */ delete from signin_codes where expires_at < $1 and kind <> $2`,
			now.Add(-24*time.Hour), string(kindSetup)); err != nil {
			return err
		}
		var rowID int64
		if err := q.QueryRowContext(ctx, `/* auth.Codes.Request */
			insert into signin_codes (kind, email, code_hash, link_hash, flow_hash, created_at, expires_at)
			values ($1, $2, $3, $4, $5, $6, $7) returning id`,
			string(req.Kind), email, codeHash(req.Kind, email, code), Hash(token), flowHash(req.Flow), now, now.Add(c.ttl()),
		).Scan(&rowID); err != nil {
			return err
		}
		if !ok || id == 0 {
			// Stand-in for the outbox row of a real send: one more write
			// in the same transaction, so both cases cost about the same.
			_, err := q.ExecContext(ctx, `/* auth.Codes.Request */ update signin_codes set attempts = 0 where id = $1`, rowID)
			return err
		}
		return c.Sender.SendSignInCode(ctx, req.Kind, email, code, req.Link(token))
	})
	if err == nil && ok && c.Committed != nil {
		c.Committed()
	}
	return err
}

// Verify checks a code typed by a person and returns the principal it
// signs in. Every call uses one of the code's tries, right or wrong, and
// counts against the per-email and per-address limits.
func (c *Codes) Verify(ctx context.Context, kind Kind, email, code, ip string) (int64, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return 0, err
	}
	lim := c.limits()
	if err := c.Limiter.Hit(ctx, "signin-verify:ip:"+NetworkKey(ip), lim.VerifyPerIP, "sign-in attempts from your network"); err != nil {
		return 0, err
	}
	if err := c.Limiter.Hit(ctx, "signin-verify:email:"+emailKey(kind, email), lim.VerifyPerEmail, "sign-in attempts for this email"); err != nil {
		return 0, err
	}
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	now := c.now()
	var rowID int64
	var stored string
	err = c.DB.Q(ctx).QueryRowContext(ctx, `/* auth.Codes.Verify */
		select id, code_hash from signin_codes
		where kind = $1 and email = $2 and used_at is null and expires_at > $3 order by id desc limit 1`,
		string(kind), email, now).Scan(&rowID, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrBadCode
	}
	if err != nil {
		return 0, err
	}
	// Take a try before comparing, in one statement, so concurrent
	// guesses cannot share one.
	res, err := c.DB.Q(ctx).ExecContext(ctx, `/* auth.Codes.Verify */
		update signin_codes set attempts = attempts + 1 where id = $1 and attempts < $2 and used_at is null`,
		rowID, c.maxTries())
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, ErrTooManyTries
	}
	if len(code) != 6 || subtle.ConstantTimeCompare([]byte(stored), []byte(codeHash(kind, email, code))) != 1 {
		return 0, ErrBadCode
	}
	if err := c.use(ctx, rowID, now); err != nil {
		return 0, err
	}
	id, ok, err := c.Lookup(ctx, kind, email)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, ErrBadCode
	}
	return id, nil
}

// use marks a code used; only one caller can.
func (c *Codes) use(ctx context.Context, rowID int64, now time.Time) error {
	res, err := c.DB.Q(ctx).ExecContext(ctx, `/* auth.Codes.use */
		update signin_codes set used_at = $1 where id = $2 and used_at is null`, now, rowID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrBadCode
	}
	return nil
}

// LinkInfo describes a magic link before it is used.
type LinkInfo struct {
	Email string
	// SameBrowser is true when the link is opened in the browser that
	// asked for the code (its login cookie matches). Such a click signs in
	// at once; otherwise the page asks to confirm, so that mail scanners
	// that open links do not use them up, and so that nobody can sign a
	// victim into the attacker's account by sending them a link.
	SameBrowser bool
}

func (c *Codes) linkRow(ctx context.Context, kind Kind, token string) (id int64, email, flow string, err error) {
	if token == "" || len(token) > 200 {
		return 0, "", "", ErrBadLink
	}
	err = c.DB.Q(ctx).QueryRowContext(ctx, `/* auth.Codes.linkRow */
		select id, email, flow_hash from signin_codes where link_hash = $1 and kind = $2 and used_at is null and expires_at > $3`,
		Hash(token), string(kind), c.now()).Scan(&id, &email, &flow)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", "", ErrBadLink
	}
	return id, email, flow, err
}

// Peek tells whether a magic link is valid and for whom, without using it.
func (c *Codes) Peek(ctx context.Context, kind Kind, token, flow string) (*LinkInfo, error) {
	_, email, stored, err := c.linkRow(ctx, kind, token)
	if err != nil {
		return nil, err
	}
	same := flow != "" && stored != "" && subtle.ConstantTimeCompare([]byte(stored), []byte(flowHash(flow))) == 1
	return &LinkInfo{Email: email, SameBrowser: same}, nil
}

// Redeem uses a magic link and returns the principal it signs in. The link
// and the code are one grant: using either spends both.
func (c *Codes) Redeem(ctx context.Context, kind Kind, token, ip string) (int64, error) {
	if err := c.Limiter.Hit(ctx, "signin-verify:ip:"+NetworkKey(ip), c.limits().VerifyPerIP, "sign-in attempts from your network"); err != nil {
		return 0, err
	}
	rowID, email, _, err := c.linkRow(ctx, kind, token)
	if err != nil {
		return 0, err
	}
	if err := c.use(ctx, rowID, c.now()); err != nil {
		return 0, ErrBadLink
	}
	id, ok, err := c.Lookup(ctx, kind, email)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, ErrBadLink
	}
	return id, nil
}
