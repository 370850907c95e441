package auth

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
)

// Session is a signed-in browser. The token that identifies it lives only
// in the browser's cookie; the database keeps its hash.
type Session struct {
	ID          int64     `json:"id"`
	Kind        Kind      `json:"kind"`
	PrincipalID int64     `json:"principal_id"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	UserAgent   string    `json:"user_agent"`
	IP          string    `json:"ip"` // truncated to /24 or /48
}

// ErrNoSession is returned for a missing, unknown, expired or ended session.
var ErrNoSession = &apperr.Error{Kind: apperr.KindUnauthorized, Code: "unauthorized", Message: "You are not signed in, or your session has ended."}

// Sessions creates, checks and ends sessions. Expiry slides: every use
// pushes it TTL into the future (written at most once per TouchEvery, so
// browsing is not a write per page).
type Sessions struct {
	DB         *db.DB
	Now        func() time.Time // time.Now when nil
	TTL        time.Duration    // 30 days when 0
	TouchEvery time.Duration    // 1 minute when 0

	creates atomic.Uint32
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return db.Time(s.Now())
	}
	return db.Now()
}

func (s *Sessions) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return 30 * 24 * time.Hour
}

func (s *Sessions) touchEvery() time.Duration {
	if s.TouchEvery > 0 {
		return s.TouchEvery
	}
	return time.Minute
}

// TruncateIP keeps the network of a client address: /24 for IPv4, /48 for
// IPv6, enough to tell "home" from "a café abroad" in a session list
// without storing the address. It returns "" for anything unparsable.
func TruncateIP(ip string) string {
	ip = strings.TrimSpace(ip)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(ip)
		if err2 != nil {
			return ""
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap().WithZone("")
	bits := 24
	if addr.Is6() {
		bits = 48
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.Addr().String()
}

const sessionCols = `id, kind, principal_id, created_at, last_seen_at, expires_at, user_agent, ip`

func scanSession(row interface{ Scan(...any) error }) (*Session, error) {
	var ss Session
	var kind string
	if err := row.Scan(&ss.ID, &kind, &ss.PrincipalID, &ss.CreatedAt, &ss.LastSeenAt, &ss.ExpiresAt, &ss.UserAgent, &ss.IP); err != nil {
		return nil, err
	}
	ss.Kind = Kind(kind)
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.LastSeenAt.UTC(), ss.ExpiresAt.UTC()
	return &ss, nil
}

// Create starts a session for a principal and returns the token for its cookie.
func (s *Sessions) Create(ctx context.Context, kind Kind, principalID int64, userAgent, ip string) (string, *Session, error) {
	if len(userAgent) > 300 {
		userAgent = strings.ToValidUTF8(userAgent[:300], "")
	}
	now := s.now()
	token := RandomSecret(32)
	ss := &Session{Kind: kind, PrincipalID: principalID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.ttl()), UserAgent: userAgent, IP: TruncateIP(ip)}
	err := s.DB.Q(ctx).QueryRowContext(ctx, `/* auth.Sessions.Create */
		insert into sessions (token_hash, kind, principal_id, created_at, last_seen_at, expires_at, user_agent, ip)
		values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
		Hash(token), string(kind), principalID, ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt, ss.UserAgent, ss.IP).Scan(&ss.ID)
	if err != nil {
		return "", nil, err
	}
	if s.creates.Add(1)%64 == 0 {
		_, _ = s.DB.Q(ctx).ExecContext(ctx, `/* auth.Sessions.Create */ delete from sessions where expires_at < $1`, now)
	}
	return token, ss, nil
}

// Check returns the live session of kind whose cookie token is token, and
// slides its expiry.
func (s *Sessions) Check(ctx context.Context, kind Kind, token string) (*Session, error) {
	if token == "" || len(token) > 200 {
		return nil, ErrNoSession
	}
	now := s.now()
	ss, err := scanSession(s.DB.R(ctx).QueryRowContext(ctx, `/* auth.Sessions.Check */
		select `+sessionCols+` from sessions where token_hash = $1 and kind = $2 and expires_at > $3`,
		Hash(token), string(kind), now))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(ss.LastSeenAt) >= s.touchEvery() {
		ss.LastSeenAt, ss.ExpiresAt = now, now.Add(s.ttl())
		if _, err := s.DB.Q(ctx).ExecContext(ctx, `/* auth.Sessions.Check */
			update sessions set last_seen_at = $1, expires_at = $2 where id = $3`, ss.LastSeenAt, ss.ExpiresAt, ss.ID); err != nil {
			return nil, err
		}
	}
	return ss, nil
}

// List returns a principal's live sessions, most recently used first.
func (s *Sessions) List(ctx context.Context, kind Kind, principalID int64) ([]Session, error) {
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* auth.Sessions.List */
		select `+sessionCols+` from sessions where kind = $1 and principal_id = $2 and expires_at > $3
		order by last_seen_at desc, id desc`, string(kind), principalID, s.now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *ss)
	}
	return out, rows.Err()
}

// Revoke ends one of a principal's sessions; someone else's id is not found.
func (s *Sessions) Revoke(ctx context.Context, kind Kind, principalID, id int64) error {
	res, err := s.DB.Q(ctx).ExecContext(ctx, `/* auth.Sessions.Revoke */
		delete from sessions where id = $1 and kind = $2 and principal_id = $3`, id, string(kind), principalID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.NotFound("session")
	}
	return nil
}

// RevokeOthers ends every session of a principal but keep, and returns how many.
func (s *Sessions) RevokeOthers(ctx context.Context, kind Kind, principalID, keep int64) (int64, error) {
	res, err := s.DB.Q(ctx).ExecContext(ctx, `/* auth.Sessions.RevokeOthers */
		delete from sessions where kind = $1 and principal_id = $2 and id <> $3 and expires_at > $4`,
		string(kind), principalID, keep, s.now())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// RevokeAll ends every session of a principal (when an owner suspends or
// rejects an affiliate, say).
func (s *Sessions) RevokeAll(ctx context.Context, kind Kind, principalID int64) error {
	_, err := s.DB.Q(ctx).ExecContext(ctx, `/* auth.Sessions.RevokeAll */
		delete from sessions where kind = $1 and principal_id = $2`, string(kind), principalID)
	return err
}

// End ends the session whose token is token (sign-out). Ending an unknown
// session is not an error: the result is the same.
func (s *Sessions) End(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	_, err := s.DB.Q(ctx).ExecContext(ctx, `/* auth.Sessions.End */ delete from sessions where token_hash = $1`, Hash(token))
	return err
}
