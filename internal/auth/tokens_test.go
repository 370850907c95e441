package auth_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

func TestHash(t *testing.T) {
	a, b := auth.Hash("aff_secret"), auth.Hash("aff_secret")
	if a != b {
		t.Fatal("Hash is not deterministic")
	}
	if a == "aff_secret" || strings.Contains(a, "secret") {
		t.Fatalf("Hash reveals the secret: %q", a)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(a) {
		t.Fatalf("Hash = %q, want 64 hex digits", a)
	}
	if auth.Hash("aff_secret2") == a {
		t.Fatal("different secrets, same hash")
	}
}

func TestRandomSecret(t *testing.T) {
	re := regexp.MustCompile(`^[a-z2-7]{32}$`) // 20 bytes in base32, no padding
	seen := map[string]bool{}
	for range 100 {
		s := auth.RandomSecret(20)
		if !re.MatchString(s) {
			t.Fatalf("RandomSecret(20) = %q", s)
		}
		if seen[s] {
			t.Fatalf("RandomSecret repeated %q", s)
		}
		seen[s] = true
	}
}

func newTokens(d *db.DB) *auth.Tokens { return &auth.Tokens{DB: d, Audit: &audit.Log{DB: d}} }

func TestTokenLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := audit.WithActor(context.Background(), "cli")
		tokens := newTokens(d)
		secret, tok, err := tokens.Create(ctx, " deploy ")
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^aff_[a-z2-7]{32}$`).MatchString(secret) {
			t.Fatalf("secret = %q", secret)
		}
		if tok.Name != "deploy" || tok.ID <= 0 || tok.Prefix != secret[:10] || tok.CreatedAt.IsZero() {
			t.Fatalf("token = %+v", tok)
		}

		// Only the hash is stored: no column holds the secret, or its random part.
		var name, hash, prefix string
		if err := d.R(ctx).QueryRowContext(ctx, `select name, hash, prefix from api_tokens where id = $1`, tok.ID).Scan(&name, &hash, &prefix); err != nil {
			t.Fatal(err)
		}
		if hash != auth.Hash(secret) || hash == secret {
			t.Fatalf("stored hash %q", hash)
		}
		for _, col := range []string{name, hash, prefix} {
			if strings.Contains(col, secret[10:]) {
				t.Fatalf("a column holds the secret: %q", col)
			}
		}

		got, err := tokens.Check(ctx, secret)
		if err != nil || got.ID != tok.ID || got.Name != "deploy" {
			t.Fatalf("Check = %+v, %v", got, err)
		}
		list, err := tokens.List(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("List = %+v, %v", list, err)
		}
		if list[0].LastUsedAt == nil || list[0].RevokedAt != nil {
			t.Fatalf("after a check: %+v", list[0])
		}

		// Names are unique among active tokens.
		if _, _, err := tokens.Create(ctx, "deploy"); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		for _, bad := range []string{"", "   ", strings.Repeat("n", 101)} {
			if _, _, err := tokens.Create(ctx, bad); !apperr.Is(err, apperr.KindInvalid) {
				t.Fatalf("Create(%q): %v", bad, err)
			}
		}

		if err := tokens.Revoke(ctx, "deploy"); err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Check(ctx, secret); !errors.Is(err, auth.ErrBadToken) {
			t.Fatalf("revoked token: %v", err)
		}
		if err := tokens.Revoke(ctx, "deploy"); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("revoking twice: %v", err)
		}
		if err := tokens.Revoke(ctx, "nobody"); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("revoking an unknown name: %v", err)
		}
		list, err = tokens.List(ctx)
		if err != nil || len(list) != 1 || list[0].RevokedAt == nil {
			t.Fatalf("List after revoke = %+v, %v", list, err)
		}

		// The name is free again; the new secret works and the old one still does not.
		secret2, _, err := tokens.Create(ctx, "deploy")
		if err != nil {
			t.Fatal(err)
		}
		if secret2 == secret {
			t.Fatal("same secret twice")
		}
		if _, err := tokens.Check(ctx, secret2); err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.Check(ctx, secret); !errors.Is(err, auth.ErrBadToken) {
			t.Fatalf("old secret after re-create: %v", err)
		}

		entries, err := (&audit.Log{DB: d}).List(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			if e.Actor != "cli" {
				t.Errorf("audit actor %q", e.Actor)
			}
			if strings.Contains(string(e.Detail), secret) || strings.Contains(string(e.Detail), secret2) {
				t.Errorf("audit detail holds a secret: %s", e.Detail)
			}
			actions = append(actions, e.Action)
		}
		if got := strings.Join(actions, " "); got != "token.create token.revoke token.create" {
			t.Errorf("audit actions (newest first) = %q", got)
		}
	})
}

func TestCheckRejects(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		tokens := newTokens(d)
		secret, _, err := tokens.Create(ctx, "ci")
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{
			"",
			"aff_",
			"garbage",
			strings.TrimPrefix(secret, "aff_"), // the random part alone
			strings.ToUpper(secret),
			secret[:len(secret)-1],
			secret + "a",
			" " + secret,
			auth.Hash(secret), // the stored form is not a credential
			"aff_" + strings.Repeat("a", 32),
			"aff_" + strings.Repeat("a", 500),
			"aff_'; drop table api_tokens; --",
		} {
			tok, err := tokens.Check(ctx, bad)
			if !errors.Is(err, auth.ErrBadToken) || tok != nil {
				t.Errorf("Check(%.40q) = %v, %v; want ErrBadToken", bad, tok, err)
			}
		}
		if !apperr.Is(auth.ErrBadToken, apperr.KindUnauthorized) {
			t.Error("ErrBadToken is not an unauthorized error")
		}
		if _, err := tokens.Check(ctx, secret); err != nil {
			t.Fatalf("the real token after all that: %v", err)
		}
	})
}
