package auth_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

// clock is a settable time for tests: nothing here sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sent is one code handed to the sender.
type sent struct {
	kind              auth.Kind
	email, code, link string
}

// outbox records codes as the notify outbox would receive them.
type outbox struct {
	mu   sync.Mutex
	msgs []sent
}

func (o *outbox) SendSignInCode(ctx context.Context, kind auth.Kind, email, code, link string) error {
	if !db.InTX(ctx) {
		return errors.New("SendSignInCode called outside the code's transaction")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, sent{kind, email, code, link})
	return nil
}

func (o *outbox) last(t *testing.T) sent {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) == 0 {
		t.Fatal("no code was sent")
	}
	return o.msgs[len(o.msgs)-1]
}

func (o *outbox) count() int { o.mu.Lock(); defer o.mu.Unlock(); return len(o.msgs) }

type fixture struct {
	d     *db.DB
	clock *clock
	out   *outbox
	codes *auth.Codes
}

// known: ann@example.com is affiliate 7; the owner boss@example.com is 1.
func newFixture(t *testing.T, d *db.DB) *fixture {
	f := &fixture{d: d, clock: newClock(), out: &outbox{}}
	f.codes = &auth.Codes{
		DB: d, Limiter: &auth.Limiter{DB: d, Now: f.clock.Now}, Sender: f.out, Now: f.clock.Now,
		Lookup: func(ctx context.Context, kind auth.Kind, email string) (int64, bool, error) {
			switch {
			case kind == auth.KindAffiliate && email == "ann@example.com":
				return 7, true, nil
			case kind == auth.KindOwner && email == "boss@example.com":
				return 1, true, nil
			}
			return 0, false, nil
		},
	}
	return f
}

func (f *fixture) request(t *testing.T, kind auth.Kind, email, ip string) error {
	t.Helper()
	return f.codes.Request(context.Background(), auth.Request{Kind: kind, Email: email, IP: ip, Flow: "flow-" + ip,
		Link: func(tok string) string { return "https://x.test/portal/login/link?token=" + tok }})
}

func TestNewCode(t *testing.T) {
	re := regexp.MustCompile(`^[0-9]{6}$`)
	var first [10]int
	const n = 50000
	for range n {
		c := auth.NewCode()
		if !re.MatchString(c) {
			t.Fatalf("NewCode() = %q", c)
		}
		first[c[0]-'0']++
	}
	// Uniform leading digits (a modulo bias or a missing leading zero
	// would skew them): each near n/10, within 10 standard deviations.
	for d, k := range first {
		if k < n/10-950 || k > n/10+950 {
			t.Errorf("leading digit %d appears %d times in %d codes", d, k, n)
		}
	}
}

func TestCodeSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		if err := f.request(t, auth.KindAffiliate, " Ann@Example.com ", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		m := f.out.last(t)
		if m.email != "ann@example.com" || m.kind != auth.KindAffiliate || !regexp.MustCompile(`^\d{6}$`).MatchString(m.code) {
			t.Fatalf("sent %+v", m)
		}
		if !strings.HasPrefix(m.link, "https://x.test/portal/login/link?token=") {
			t.Fatalf("link %q", m.link)
		}
		// Nothing secret is stored in the clear.
		var codeHash, linkHash string
		if err := d.R(ctx).QueryRowContext(ctx, `select code_hash, link_hash from signin_codes`).Scan(&codeHash, &linkHash); err != nil {
			t.Fatal(err)
		}
		tok := strings.TrimPrefix(m.link, "https://x.test/portal/login/link?token=")
		if strings.Contains(codeHash, m.code) || strings.Contains(linkHash, tok) {
			t.Fatal("code or token stored in the clear")
		}
		// The code is for this kind only.
		if _, err := f.codes.Verify(ctx, auth.KindOwner, "ann@example.com", m.code, "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("owner verify with an affiliate's code: %v", err)
		}
		id, err := f.codes.Verify(ctx, auth.KindAffiliate, "ANN@example.com", m.code[:3]+" "+m.code[3:], "10.0.0.1")
		if err != nil || id != 7 {
			t.Fatalf("Verify = %d, %v", id, err)
		}
		// Single use: the code and its link are spent.
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", m.code, "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("reused code: %v", err)
		}
		if _, err := f.codes.Redeem(ctx, auth.KindAffiliate, tok, "10.0.0.1"); !errors.Is(err, auth.ErrBadLink) {
			t.Fatalf("link after code: %v", err)
		}
	})
}

func TestCodeExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		if err := f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		m := f.out.last(t)
		f.clock.Add(10*time.Minute + time.Second)
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", m.code, "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("expired code: %v", err)
		}
		// Just inside the ten minutes it works.
		if err := f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		m = f.out.last(t)
		f.clock.Add(9*time.Minute + 59*time.Second)
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", m.code, "10.0.0.1"); err != nil {
			t.Fatalf("code at 9:59: %v", err)
		}
	})
}

func TestCodeNewReplacesOld(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1")
		old := f.out.last(t)
		cur := old
		for cur.code == old.code { // two equal random codes in a row: one in a million
			_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1")
			cur = f.out.last(t)
		}
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", old.code, "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("replaced code: %v", err)
		}
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", cur.code, "10.0.0.1"); err != nil {
			t.Fatalf("current code: %v", err)
		}
	})
}

func TestCodeTries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1")
		m := f.out.last(t)
		wrong := "000000"
		if m.code == wrong {
			wrong = "111111"
		}
		for i := range 5 {
			if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", wrong, "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
				t.Fatalf("wrong try %d: %v", i+1, err)
			}
		}
		// The sixth try is refused even with the right code.
		_, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", m.code, "10.0.0.1")
		if !errors.Is(err, auth.ErrTooManyTries) || !apperr.Is(err, apperr.KindTooMany) {
			t.Fatalf("right code after 5 wrong tries: %v", err)
		}
		// A new code can be asked for and used right away.
		_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1")
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", f.out.last(t).code, "10.0.0.1"); err != nil {
			t.Fatalf("new code: %v", err)
		}
	})
}

func TestCodeTriesConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.codes.Limits = auth.CodeLimits{ // only the per-code tries matter here
			RequestPerEmail: auth.Limit{Max: 100, Window: time.Hour}, RequestPerIP: auth.Limit{Max: 100, Window: time.Hour},
			VerifyPerEmail: auth.Limit{Max: 100, Window: time.Hour}, VerifyPerIP: auth.Limit{Max: 100, Window: time.Hour},
		}
		_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1")
		m := f.out.last(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wrongs, spent := 0, 0
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				guess := "999999"
				if m.code == guess {
					guess = "888888"
				}
				_, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", guess, "10.0.0.1")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, auth.ErrBadCode):
					wrongs++
				case errors.Is(err, auth.ErrTooManyTries):
					spent++
				default:
					t.Errorf("concurrent guess: %v", err)
				}
			}()
		}
		wg.Wait()
		if wrongs != 5 || spent != 15 {
			t.Fatalf("20 concurrent guesses: %d judged, %d refused; want 5 and 15", wrongs, spent)
		}
	})
}

func TestCodeNoAccountDiscovery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		// Same result for a known and an unknown email, and a stored code for both.
		if err := f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := f.request(t, auth.KindAffiliate, "nobody@example.com", "10.0.0.1"); err != nil {
			t.Fatalf("unknown email: %v", err)
		}
		if f.out.count() != 1 {
			t.Fatalf("%d codes sent, want 1 (none to an unknown email)", f.out.count())
		}
		var n int
		if err := d.R(ctx).QueryRowContext(ctx, `select count(*) from signin_codes where email = 'nobody@example.com'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("codes stored for the unknown email: %d, %v", n, err)
		}
		// Verifying an unknown email fails like a wrong code, tries and all.
		for i := range 5 {
			if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "nobody@example.com", "123456", "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
				t.Fatalf("unknown email try %d: %v", i, err)
			}
		}
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "nobody@example.com", "123456", "10.0.0.1"); !errors.Is(err, auth.ErrTooManyTries) {
			t.Fatalf("unknown email 6th try: %v", err)
		}
		// Malformed emails are refused the same way for everyone.
		if err := f.request(t, auth.KindAffiliate, "not an email", "10.0.0.1"); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("malformed email: %v", err)
		}
	})
}

func TestCodeRateLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		// Per email: 5 requests per quarter hour, then a lockout that says until when.
		for i := range 5 {
			if err := f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0."+string(rune('1'+i))); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		err := f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.9")
		var le *auth.LockedError
		if !errors.As(err, &le) || !apperr.Is(err, apperr.KindTooMany) {
			t.Fatalf("6th request: %v", err)
		}
		want := time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)
		if !le.Until.Equal(want) || !strings.Contains(le.Error(), "10:15 UTC") {
			t.Fatalf("locked until %v (%q), want %v", le.Until, le.Error(), want)
		}
		// An unknown email is limited just the same.
		for range 5 {
			_ = f.request(t, auth.KindAffiliate, "nobody@example.com", "10.0.1.1")
		}
		if err := f.request(t, auth.KindAffiliate, "nobody@example.com", "10.0.1.2"); !errors.As(err, &le) {
			t.Fatalf("6th request for an unknown email: %v", err)
		}
		// The lockout ends with its window.
		f.clock.Add(15 * time.Minute)
		if err := f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.9"); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}

		// Per email, verifying: 10 tries per quarter hour across codes.
		f.clock.Add(15 * time.Minute)
		for i := range 10 {
			if i%5 == 0 {
				_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.2.1")
			}
			_, _ = f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", "000000", "10.0.2.1")
		}
		_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.2.1")
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", f.out.last(t).code, "10.0.2.1"); !errors.As(err, &le) {
			t.Fatalf("11th try within the window: %v", err)
		}

		// Per address: 50 tries, whatever the emails.
		f.clock.Add(15 * time.Minute)
		for i := range 50 {
			_, _ = f.codes.Verify(ctx, auth.KindAffiliate, "x"+string(rune('a'+i%26))+"@example.com", "000000", "10.9.9.9")
		}
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", "000000", "10.9.9.9"); !errors.As(err, &le) {
			t.Fatalf("51st try from one address: %v", err)
		}
	})
}

func TestMagicLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1")
		m := f.out.last(t)
		tok := m.link[strings.Index(m.link, "token=")+len("token="):]
		// Peeking does not use it; the browser that asked is recognised.
		for range 2 {
			info, err := f.codes.Peek(ctx, auth.KindAffiliate, tok, "flow-10.0.0.1")
			if err != nil || info.Email != "ann@example.com" || !info.SameBrowser {
				t.Fatalf("Peek = %+v, %v", info, err)
			}
		}
		if info, err := f.codes.Peek(ctx, auth.KindAffiliate, tok, "another browser"); err != nil || info.SameBrowser {
			t.Fatalf("Peek from another browser = %+v, %v", info, err)
		}
		if _, err := f.codes.Peek(ctx, auth.KindOwner, tok, ""); !errors.Is(err, auth.ErrBadLink) {
			t.Fatalf("affiliate link as an owner: %v", err)
		}
		if _, err := f.codes.Redeem(ctx, auth.KindAffiliate, tok+"x", "10.0.0.1"); !errors.Is(err, auth.ErrBadLink) {
			t.Fatalf("bad token: %v", err)
		}
		id, err := f.codes.Redeem(ctx, auth.KindAffiliate, tok, "10.0.0.1")
		if err != nil || id != 7 {
			t.Fatalf("Redeem = %d, %v", id, err)
		}
		if _, err := f.codes.Redeem(ctx, auth.KindAffiliate, tok, "10.0.0.1"); !errors.Is(err, auth.ErrBadLink) {
			t.Fatalf("reused link: %v", err)
		}
		if _, err := f.codes.Verify(ctx, auth.KindAffiliate, "ann@example.com", m.code, "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("code after its link: %v", err)
		}
		// Links expire with their code.
		_ = f.request(t, auth.KindAffiliate, "ann@example.com", "10.0.0.1")
		m = f.out.last(t)
		tok = m.link[strings.Index(m.link, "token=")+len("token="):]
		f.clock.Add(11 * time.Minute)
		if _, err := f.codes.Redeem(ctx, auth.KindAffiliate, tok, "10.0.0.1"); !errors.Is(err, auth.ErrBadLink) {
			t.Fatalf("expired link: %v", err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", " Ann@Example.COM ", "a@b", "x", "\"q\"@example.com", "ann@example.com\r\nBcc: x@y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := auth.NormalizeEmail(s)
		if err != nil {
			return
		}
		if e != strings.ToLower(e) || strings.ContainsAny(e, " \t\r\n<>,") || len(e) > 254 {
			t.Fatalf("NormalizeEmail(%q) = %q", s, e)
		}
		if again, err := auth.NormalizeEmail(e); err != nil || again != e {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, e, again, err)
		}
	})
}
