package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

func TestSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		s := &auth.Sessions{DB: d, Now: c.Now}
		tok, ss, err := s.Create(ctx, auth.KindAffiliate, 7, "Mozilla/5.0 (iPhone)", "203.0.113.77:5555")
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) < 40 || ss.IP != "203.0.113.0" || !ss.ExpiresAt.Equal(c.Now().Add(30*24*time.Hour)) {
			t.Fatalf("Create = %q, %+v", tok, ss)
		}
		var stored string
		if err := d.R(ctx).QueryRowContext(ctx, `select token_hash from sessions`).Scan(&stored); err != nil || strings.Contains(stored, tok) {
			t.Fatalf("stored %q, %v", stored, err)
		}
		got, err := s.Check(ctx, auth.KindAffiliate, tok)
		if err != nil || got.ID != ss.ID || got.PrincipalID != 7 {
			t.Fatalf("Check = %+v, %v", got, err)
		}
		// A session of one kind is nothing to the other.
		if _, err := s.Check(ctx, auth.KindOwner, tok); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("affiliate session as owner: %v", err)
		}
		for _, bad := range []string{"", tok + "x", strings.Repeat("a", 500)} {
			if _, err := s.Check(ctx, auth.KindAffiliate, bad); !errors.Is(err, auth.ErrNoSession) {
				t.Fatalf("Check(%q): %v", bad, err)
			}
		}

		// Sliding expiry: used every 29 days, it lives on; idle 30 days, it ends.
		for range 3 {
			c.Add(29 * 24 * time.Hour)
			if _, err := s.Check(ctx, auth.KindAffiliate, tok); err != nil {
				t.Fatalf("after 29 idle days: %v", err)
			}
		}
		c.Add(30*24*time.Hour + time.Second)
		if _, err := s.Check(ctx, auth.KindAffiliate, tok); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("after 30 idle days: %v", err)
		}

		// List, revoke one, revoke the others, end.
		a, sa, _ := s.Create(ctx, auth.KindAffiliate, 7, "A", "10.0.0.1")
		_, sb, _ := s.Create(ctx, auth.KindAffiliate, 7, "B", "10.0.0.2")
		_, sc, _ := s.Create(ctx, auth.KindAffiliate, 7, "C", "2001:db8:1:2::1")
		other, so, _ := s.Create(ctx, auth.KindAffiliate, 8, "someone else", "10.0.0.3")
		list, err := s.List(ctx, auth.KindAffiliate, 7)
		if err != nil || len(list) != 3 {
			t.Fatalf("List = %d sessions, %v", len(list), err)
		}
		if list[0].ID != sc.ID || list[0].IP != "2001:db8:1::" {
			t.Fatalf("List[0] = %+v", list[0])
		}
		if err := s.Revoke(ctx, auth.KindAffiliate, 7, so.ID); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("revoking someone else's session: %v", err)
		}
		if err := s.Revoke(ctx, auth.KindAffiliate, 7, sb.ID); err != nil {
			t.Fatal(err)
		}
		n, err := s.RevokeOthers(ctx, auth.KindAffiliate, 7, sa.ID)
		if err != nil || n != 1 {
			t.Fatalf("RevokeOthers = %d, %v", n, err)
		}
		if list, _ := s.List(ctx, auth.KindAffiliate, 7); len(list) != 1 || list[0].ID != sa.ID {
			t.Fatalf("left: %+v", list)
		}
		if _, err := s.Check(ctx, auth.KindAffiliate, other); err != nil {
			t.Fatalf("someone else's session was ended: %v", err)
		}
		if err := s.End(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Check(ctx, auth.KindAffiliate, a); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("after End: %v", err)
		}
		if err := s.RevokeAll(ctx, auth.KindAffiliate, 8); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Check(ctx, auth.KindAffiliate, other); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("after RevokeAll: %v", err)
		}
	})
}

func TestTruncateIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":          "203.0.113.0",
		"203.0.113.77:443":      "203.0.113.0",
		"[2001:db8:a:b::1]:443": "2001:db8:a::",
		"::ffff:192.0.2.9":      "192.0.2.0",
		"fe80::1%eth0":          "fe80::",
		"nonsense":              "",
		"":                      "",
	} {
		if got := auth.TruncateIP(in); got != want {
			t.Errorf("TruncateIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		c.Add(7 * time.Minute) // 10:07, inside the 10:00–10:15 window
		l := &auth.Limiter{DB: d, Now: c.Now}
		lim := auth.Limit{Max: 3, Window: 15 * time.Minute}
		for i := range 3 {
			if err := l.Hit(ctx, "k", lim, "tries"); err != nil {
				t.Fatalf("hit %d: %v", i+1, err)
			}
		}
		err := l.Hit(ctx, "k", lim, "tries")
		var le *auth.LockedError
		if !errors.As(err, &le) || !le.Until.Equal(time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)) {
			t.Fatalf("4th hit: %v", err)
		}
		if msg := err.Error(); msg != "Too many tries. Try again after 10:15 UTC on 23 Nov 2026." {
			t.Fatalf("message %q", msg)
		}
		// Other keys are counted apart; a new window starts afresh.
		if err := l.Hit(ctx, "other", lim, "tries"); err != nil {
			t.Fatal(err)
		}
		c.Add(8 * time.Minute)
		if err := l.Hit(ctx, "k", lim, "tries"); err != nil {
			t.Fatalf("next window: %v", err)
		}
		// Two limiters (two replicas) share the count.
		l2 := &auth.Limiter{DB: d, Now: c.Now}
		_ = l.Hit(ctx, "shared", lim, "tries")
		_ = l2.Hit(ctx, "shared", lim, "tries")
		_ = l.Hit(ctx, "shared", lim, "tries")
		if err := l2.Hit(ctx, "shared", lim, "tries"); !errors.As(err, &le) {
			t.Fatalf("shared 4th hit: %v", err)
		}
		// Old windows are swept as hits go by.
		c.Add(72 * time.Hour)
		for range 300 {
			_ = l.Hit(ctx, "sweep", auth.Limit{Max: 1000, Window: time.Minute}, "x")
		}
		var old int
		if err := d.R(ctx).QueryRowContext(ctx, `select count(*) from rate_limits where key = 'k'`).Scan(&old); err != nil || old != 0 {
			t.Fatalf("old windows left: %d, %v", old, err)
		}
	})
}

func TestOwners(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		o := &auth.Owners{DB: d, Audit: &audit.Log{DB: d}, Now: c.Now}
		tok, err := o.NewSetupToken(ctx)
		if err != nil || tok == "" {
			t.Fatalf("NewSetupToken = %q, %v", tok, err)
		}
		tok2, _ := o.NewSetupToken(ctx)
		if err := o.CheckSetup(ctx, tok); err != nil {
			t.Fatalf("CheckSetup: %v", err)
		}
		if _, err := o.ClaimSetup(ctx, tok, "not an email"); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("claim with a bad email: %v", err)
		}
		ow, err := o.ClaimSetup(ctx, tok, "Boss@Example.com")
		if err != nil || ow.Email != "boss@example.com" {
			t.Fatalf("ClaimSetup = %+v, %v", ow, err)
		}
		// Every setup link is dead once an owner exists.
		for _, k := range []string{tok, tok2} {
			if _, err := o.ClaimSetup(ctx, k, "thief@example.com"); !errors.Is(err, auth.ErrSetupDone) {
				t.Fatalf("second claim: %v", err)
			}
		}
		if k, err := o.NewSetupToken(ctx); k != "" || err != nil {
			t.Fatalf("NewSetupToken with an owner = %q, %v", k, err)
		}
		if _, err := o.Add(ctx, "BOSS@example.com"); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("duplicate owner: %v", err)
		}
		two, err := o.Add(ctx, "partner@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if id, ok, err := o.Lookup(ctx, "PARTNER@example.com"); err != nil || !ok || id != two.ID {
			t.Fatalf("Lookup = %d, %v, %v", id, ok, err)
		}
		if _, ok, err := o.Lookup(ctx, "nobody@example.com"); ok || err != nil {
			t.Fatalf("Lookup unknown = %v, %v", ok, err)
		}
		if list, err := o.List(ctx); err != nil || len(list) != 2 {
			t.Fatalf("List = %+v, %v", list, err)
		}
		entries, _ := (&audit.Log{DB: d}).List(ctx, 0, 10)
		if len(entries) != 2 || entries[1].Actor != "setup:boss@example.com" {
			t.Fatalf("audit = %+v", entries)
		}
	})
}

func TestSetupTokenExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		o := &auth.Owners{DB: d, Audit: &audit.Log{DB: d}, Now: c.Now}
		tok, _ := o.NewSetupToken(ctx)
		c.Add(auth.SetupTTL + time.Second)
		if _, err := o.ClaimSetup(ctx, tok, "boss@example.com"); !errors.Is(err, auth.ErrSetupDone) {
			t.Fatalf("expired setup link: %v", err)
		}
	})
}

func TestNetworkKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"::ffff:203.0.113.7":   "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
	} {
		if got := auth.NetworkKey(in); got != want {
			t.Errorf("NetworkKey(%q) = %q, want %q", in, got, want)
		}
	}
}
