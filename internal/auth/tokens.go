// Package auth owns who may do what: API tokens for machines, and (for the
// portal and console) one-time sign-in codes and sessions. Secrets are
// stored only as SHA-256 hashes, so a leaked database grants nothing.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/db"
)

// TokenPrefix starts every API token, so secret scanners can spot one.
const TokenPrefix = "aff_"

// Token describes an API token; the secret itself is never stored.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the first characters, to tell tokens apart
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Tokens manages API tokens.
type Tokens struct {
	DB    *db.DB
	Audit *audit.Log
}

// Hash is the stored form of a secret: hex SHA-256. Secrets are 160+ random
// bits, so a plain hash is enough (no need for a slow KDF), and lookups by
// hash compare no secret bytes in Go, leaking nothing through timing.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// RandomSecret returns n random bytes in lower-case base32.
func RandomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Create makes a token named name and returns its secret, shown only now.
func (t *Tokens) Create(ctx context.Context, name string) (string, *Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", nil, apperr.Invalid("name", "must be 1–100 characters")
	}
	secret := TokenPrefix + RandomSecret(20)
	tok := &Token{Name: name, Prefix: secret[:len(TokenPrefix)+6], CreatedAt: db.Now()}
	err := t.DB.TX(ctx, func(ctx context.Context) error {
		err := t.DB.Q(ctx).QueryRowContext(ctx, `/* auth.Tokens.Create */
			insert into api_tokens (name, hash, prefix, created_at) values ($1, $2, $3, $4) returning id`,
			name, Hash(secret), tok.Prefix, tok.CreatedAt).Scan(&tok.ID)
		if db.IsUnique(err) {
			return apperr.Conflict("duplicate", "name", "a token named %q already exists", name)
		}
		if err != nil {
			return err
		}
		return t.Audit.Record(ctx, "token.create", "api_token", tok.ID, map[string]string{"name": name})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, tok, nil
}

// List returns every token, revoked ones too.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	rows, err := t.DB.R(ctx).QueryContext(ctx, `/* auth.Tokens.List */
		select id, name, prefix, created_at, last_used_at, revoked_at from api_tokens order by id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var tok Token
		var used, revoked sql.NullTime
		if err := rows.Scan(&tok.ID, &tok.Name, &tok.Prefix, &tok.CreatedAt, &used, &revoked); err != nil {
			return nil, err
		}
		tok.CreatedAt = tok.CreatedAt.UTC()
		if used.Valid {
			u := used.Time.UTC()
			tok.LastUsedAt = &u
		}
		if revoked.Valid {
			r := revoked.Time.UTC()
			tok.RevokedAt = &r
		}
		out = append(out, tok)
	}
	return out, rows.Err()
}

// Revoke revokes the active token named name.
func (t *Tokens) Revoke(ctx context.Context, name string) error {
	name = strings.TrimSpace(name)
	return t.DB.TX(ctx, func(ctx context.Context) error {
		res, err := t.DB.Q(ctx).ExecContext(ctx, `/* auth.Tokens.Revoke */
			update api_tokens set revoked_at = $1 where name = $2 and revoked_at is null`, db.Now(), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFound("active token " + name)
		}
		return t.Audit.Record(ctx, "token.revoke", "api_token", name, nil)
	})
}

// ErrBadToken is returned for a missing, unknown or revoked token.
var ErrBadToken = &apperr.Error{Kind: apperr.KindUnauthorized, Code: "unauthorized", Message: "missing, unknown or revoked API token"}

// Check returns the active token whose secret is secret.
func (t *Tokens) Check(ctx context.Context, secret string) (*Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return nil, ErrBadToken
	}
	var tok Token
	var used sql.NullTime
	err := t.DB.R(ctx).QueryRowContext(ctx, `/* auth.Tokens.Check */
		select id, name, prefix, created_at, last_used_at from api_tokens where hash = $1 and revoked_at is null`,
		Hash(secret)).Scan(&tok.ID, &tok.Name, &tok.Prefix, &tok.CreatedAt, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, err
	}
	// Record use at most once a minute: not a write per request.
	now := db.Now()
	if !used.Valid || now.Sub(used.Time) > time.Minute {
		_, _ = t.DB.Q(ctx).ExecContext(ctx, `/* auth.Tokens.Check */ update api_tokens set last_used_at = $1 where id = $2`, now, tok.ID)
	}
	return &tok, nil
}
