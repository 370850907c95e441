package program

import (
	"context"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

func TestSlugify(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Solare Wines", "solare-wines"},
		{"  Solare   Wines  ", "solare-wines"},
		{"SOLARE", "solare"},
		{"Bob's Bar & Grill!", "bob-s-bar-grill"},
		{"a--b__c", "a-b-c"},
		{"2026 Course", "2026-course"},
		{"---", ""},
		{"", ""},
		{"Café Olé", "caf-ol"}, // letters outside a-z are separators, not transliterated
		{"日本", ""},
		{"ann.smith+aff", "ann-smith-aff"},
		{strings.Repeat("ab ", 40), strings.TrimSuffix(strings.Repeat("ab-", 16), "-")},
		{strings.Repeat("x", 100), strings.Repeat("x", 48)},
	}
	for _, c := range cases {
		got := Slugify(c.in)
		if got != c.want {
			t.Errorf("Slugify(%q) = %q, want %q", c.in, got, c.want)
		}
		// Every non-empty slug is a valid slug and a valid code.
		if got != "" && (!slugRe.MatchString(got) || !ValidCode(got)) {
			t.Errorf("Slugify(%q) = %q is not a valid slug", c.in, got)
		}
	}
}

func validProgram() *Program {
	p := NewProgram()
	p.Name, p.DestinationURL = "Course", "https://example.com/course"
	return p
}

func TestNewProgramDefaults(t *testing.T) {
	p := validProgram()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Program{
		Name: "Course", Slug: "course", DestinationURL: "https://example.com/course",
		AllowedHosts: []string{"example.com"}, CommissionRateBps: 5000, HoldDays: 30, CookieDays: 30,
		Attribution: "first", UTM: UTM{"{code}", "referral", "{program}"}, Recurring: "forever",
	}
	if got := *p; !reflect.DeepEqual(got, want) {
		t.Fatalf("validated defaults\n%+v\nwant\n%+v", got, want)
	}
}

func TestProgramValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(p *Program)
		field string // "" when valid
	}{
		{"defaults", func(p *Program) {}, ""},
		{"zero rate and hold", func(p *Program) { p.CommissionRateBps, p.HoldDays = 0, 0 }, ""},
		{"rate 100%", func(p *Program) { p.CommissionRateBps = 10000 }, ""},
		{"rate over 100%", func(p *Program) { p.CommissionRateBps = 10001 }, "commission_rate_bps"},
		{"negative rate", func(p *Program) { p.CommissionRateBps = -1 }, "commission_rate_bps"},
		{"no name", func(p *Program) { p.Name = " " }, "name"},
		{"given slug", func(p *Program) { p.Slug = "My_Course-1" }, ""},
		{"bad slug", func(p *Program) { p.Slug = "my course" }, "slug"},
		{"slug of 64", func(p *Program) { p.Slug = strings.Repeat("a", 64) }, ""},
		{"slug of 65", func(p *Program) { p.Slug = strings.Repeat("a", 65) }, "slug"},
		{"underscore first", func(p *Program) { p.Slug = "_a" }, "slug"},
		{"unsluggable name", func(p *Program) { p.Name = "日本" }, "slug"},
		{"http destination", func(p *Program) { p.DestinationURL = "http://example.com" }, ""},
		{"ftp destination", func(p *Program) { p.DestinationURL = "ftp://example.com" }, "destination_url"},
		{"no host", func(p *Program) { p.DestinationURL = "https:///x" }, "destination_url"},
		{"credentials", func(p *Program) { p.DestinationURL = "https://a@example.com/" }, "destination_url"},
		{"unparsable", func(p *Program) { p.DestinationURL = "https://exa mple.com/%zz" }, "destination_url"},
		{"host with path", func(p *Program) { p.AllowedHosts = []string{"example.com/x"} }, "allowed_hosts"},
		{"host list in one", func(p *Program) { p.AllowedHosts = []string{"a.com,b.com"} }, "allowed_hosts"},
		{"fallback", func(p *Program) { p.FallbackURL = "https://example.com/404" }, ""},
		{"bad fallback", func(p *Program) { p.FallbackURL = "/404" }, "fallback_url"},
		{"flat", func(p *Program) { p.FlatAmount, p.FlatCurrency = 500, "USD" }, ""},
		{"flat without currency", func(p *Program) { p.FlatAmount = 500 }, "flat_currency"},
		{"flat with bad currency", func(p *Program) { p.FlatAmount, p.FlatCurrency = 500, "US" }, "flat_currency"},
		{"negative flat", func(p *Program) { p.FlatAmount = -1 }, "flat_amount"},
		{"hold 3650", func(p *Program) { p.HoldDays = 3650 }, ""},
		{"hold 3651", func(p *Program) { p.HoldDays = 3651 }, "hold_days"},
		{"cookie 0", func(p *Program) { p.CookieDays = 0 }, "cookie_days"},
		{"cookie 3651", func(p *Program) { p.CookieDays = 3651 }, "cookie_days"},
		{"last", func(p *Program) { p.Attribution = "last" }, ""},
		{"middle", func(p *Program) { p.Attribution = "middle" }, "attribution"},
		{"utm medium too long", func(p *Program) { p.UTM.Medium = strings.Repeat("m", 201) }, "utm.medium"},
		{"utm campaign too long", func(p *Program) { p.UTM.Campaign = strings.Repeat("m", 201) }, "utm.campaign"},
		{"once", func(p *Program) { p.Recurring = "once" }, ""},
		{"months:12", func(p *Program) { p.Recurring = "months:12" }, ""},
		{"months:0", func(p *Program) { p.Recurring = "months:0" }, "recurring"},
		{"months:1000", func(p *Program) { p.Recurring = "months:1000" }, "recurring"},
		{"weekly", func(p *Program) { p.Recurring = "weekly" }, "recurring"},
		{"empty recurring", func(p *Program) { p.Recurring = "" }, "recurring"},
		{"negative min payout", func(p *Program) { p.MinPayout = -1 }, "min_payout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validProgram()
			c.edit(p)
			checkField(t, p.Validate(), c.field)
		})
	}
}

func checkField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalid || e.Field != field || e.Message == "" {
		t.Fatalf("error %#v, want invalid %s", err, field)
	}
}

func TestProgramValidateNormalizes(t *testing.T) {
	p := validProgram()
	p.Name, p.Slug = "  Course  ", " My-Course "
	p.AllowedHosts = []string{"WWW.Example.com", "", " example.COM ", "www.example.com"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Name != "Course" || p.Slug != "my-course" {
		t.Errorf("name %q slug %q", p.Name, p.Slug)
	}
	if got := strings.Join(p.AllowedHosts, ","); got != "example.com,www.example.com" {
		t.Errorf("allowed hosts %q", got)
	}
}

func validAffiliate() *Affiliate {
	a := NewAffiliate()
	a.Email, a.ProgramID = "ann@example.com", 1
	return a
}

func TestAffiliateValidate(t *testing.T) {
	rate := func(n int) *int { return &n }
	cases := []struct {
		name  string
		edit  func(a *Affiliate)
		field string
	}{
		{"defaults", func(a *Affiliate) {}, ""},
		{"no email", func(a *Affiliate) { a.Email = "" }, "email"},
		{"email without @", func(a *Affiliate) { a.Email = "ann" }, "email"},
		{"email with name", func(a *Affiliate) { a.Email = "Ann <ann@example.com>" }, "email"},
		{"two emails", func(a *Affiliate) { a.Email = "a@example.com, b@example.com" }, "email"},
		{"upper-case email", func(a *Affiliate) { a.Email = "Ann@Example.COM" }, ""},
		{"code", func(a *Affiliate) { a.Code = "Solare_2" }, ""},
		{"code with space", func(a *Affiliate) { a.Code = "so lare" }, "code"},
		{"code with dot", func(a *Affiliate) { a.Code = "so.lare" }, "code"},
		{"code of 65", func(a *Affiliate) { a.Code = strings.Repeat("c", 65) }, "code"},
		{"coupon", func(a *Affiliate) { a.CouponCode = "SAVE-10%" }, ""},
		{"coupon with tab", func(a *Affiliate) { a.CouponCode = "SAVE\t10" }, "coupon_code"},
		{"pending", func(a *Affiliate) { a.Status = StatusPending }, ""},
		{"suspended", func(a *Affiliate) { a.Status = StatusSuspended }, ""},
		{"rejected", func(a *Affiliate) { a.Status = StatusRejected }, ""},
		{"blank status means active", func(a *Affiliate) { a.Status = "" }, ""},
		{"unknown status", func(a *Affiliate) { a.Status = "deleted" }, "status"},
		{"rate 0", func(a *Affiliate) { a.CommissionRateBps = rate(0) }, ""},
		{"rate 10000", func(a *Affiliate) { a.CommissionRateBps = rate(10000) }, ""},
		{"rate 10001", func(a *Affiliate) { a.CommissionRateBps = rate(10001) }, "commission_rate_bps"},
		{"negative rate", func(a *Affiliate) { a.CommissionRateBps = rate(-5) }, "commission_rate_bps"},
		{"payout email", func(a *Affiliate) { a.PayoutEmail = "pay@example.com" }, ""},
		{"bad payout email", func(a *Affiliate) { a.PayoutEmail = "paypal" }, "payout_email"},
		{"long name", func(a *Affiliate) { a.Name = strings.Repeat("n", 201) }, "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := validAffiliate()
			c.edit(a)
			checkField(t, a.Validate(), c.field)
		})
	}

	a := validAffiliate()
	a.Email, a.Code, a.CouponCode, a.Status = " ann@example.com ", " SOLARE ", " Save10 ", ""
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.Email != "ann@example.com" || a.Code != "solare" || a.CouponCode != "Save10" || a.Status != StatusActive {
		t.Errorf("normalized to %+v", a)
	}
}

func TestGenerateCode(t *testing.T) {
	suffixed := func(base string) *regexp.Regexp {
		return regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `-[a-hjkmnp-z2-9]{4}$`)
	}
	cases := []struct {
		name, email string
		first       string         // attempt 0
		later       *regexp.Regexp // attempts 1…
	}{
		{"Solare Wines", "x@example.com", "solare-wines", suffixed("solare-wines")},
		{"", "Ann.Smith@example.com", "ann-smith", suffixed("ann-smith")},
		{"!!!", "bob@example.com", "bob", suffixed("bob")},
		{strings.Repeat("Long Name ", 10), "x@example.com", "long-name-long-name-long-name-lo", suffixed("long-name-long-name-long-name-lo")},
		{"abcdefghij abcdefghij abcdefghij x", "x@example.com", "abcdefghij-abcdefghij-abcdefghij", nil},
		{"日本", "日本@example.com", "", regexp.MustCompile(`^[a-hjkmnp-z2-9]{8}$`)},
	}
	for _, c := range cases {
		a := &Affiliate{Name: c.name, Email: c.email}
		first := generateCode(a, 0)
		if c.first != "" && first != c.first {
			t.Errorf("%q attempt 0 = %q, want %q", c.name, first, c.first)
		}
		if !ValidCode(first) || len(first) > 40 {
			t.Errorf("%q attempt 0 = %q is not a valid code", c.name, first)
		}
		if c.later == nil {
			continue
		}
		seen := map[string]bool{}
		for attempt := 1; attempt <= 8; attempt++ {
			got := generateCode(a, attempt)
			if !c.later.MatchString(got) || !ValidCode(got) {
				t.Errorf("%q attempt %d = %q, want %v", c.name, attempt, got, c.later)
			}
			seen[got] = true
		}
		if len(seen) < 2 {
			t.Errorf("%q: retries all gave %v", c.name, seen)
		}
	}
	// A code never ends in a dash before its suffix, even when cut.
	a := &Affiliate{Name: strings.Repeat("a", 31) + " b"}
	if got := generateCode(a, 0); got != strings.Repeat("a", 31) {
		t.Errorf("cut code = %q", got)
	}
}

func TestRandomSuffix(t *testing.T) {
	re := regexp.MustCompile(`^[a-hjkmnp-z2-9]{6}$`) // no 0/o, 1/l/i: easy to read aloud
	seen := map[string]bool{}
	for range 200 {
		s := randomSuffix(6)
		if !re.MatchString(s) {
			t.Fatalf("randomSuffix = %q", s)
		}
		seen[s] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct suffixes in 200", len(seen))
	}
}

func TestReferralURL(t *testing.T) {
	s := &Store{BaseURL: "https://go.example.com/p"}
	if got := s.ReferralURL(&Affiliate{Code: "solare"}); got != "https://go.example.com/p/r/solare" {
		t.Fatalf("ReferralURL = %q", got)
	}
}

// TestCodeCollisionRetries fills the first generated code and checks the
// store steps around it, on both engines (PostgreSQL aborts the failed insert's transaction).
func TestCodeCollisionRetries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := audit.WithActor(context.Background(), "test")
		changes := 0
		s := &Store{DB: d, Audit: &audit.Log{DB: d}, BaseURL: "http://x", Changed: func() { changes++ }}
		p := validProgram()
		if err := s.CreateProgram(ctx, p); err != nil {
			t.Fatal(err)
		}
		mk := func(email, name, code string) (*Affiliate, error) {
			a := NewAffiliate()
			a.ProgramID, a.Email, a.Name, a.Code = p.ID, email, name, code
			return a, s.CreateAffiliate(ctx, a)
		}
		if _, err := mk("a@example.com", "", "vino"); err != nil {
			t.Fatal(err)
		}
		b, err := mk("b@example.com", "Vino", "")
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^vino-[a-z0-9]{4}$`).MatchString(b.Code) {
			t.Fatalf("code %q", b.Code)
		}
		// A given code that is taken is a conflict, not silently changed.
		_, err = mk("c@example.com", "", "VINO")
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindConflict || e.Field != "code" {
			t.Fatalf("taken code: %v", err)
		}
		_, err = mk("b@EXAMPLE.com", "Other", "")
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindConflict || e.Field != "email" {
			t.Fatalf("taken email: %v", err)
		}
		_, err = mk("d@example.com", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if changes != 4 { // the program and three affiliates
			t.Errorf("Changed called %d times, want 4", changes)
		}
		got, err := s.AffiliateByCode(ctx, "VINO")
		if err != nil || got.Email != "a@example.com" {
			t.Fatalf("AffiliateByCode: %+v %v", got, err)
		}
		if _, err := s.AffiliateByEmail(ctx, " B@Example.com "); err != nil {
			t.Fatalf("AffiliateByEmail: %v", err)
		}
		if _, err := s.Affiliate(ctx, 9999); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("Affiliate(9999): %v", err)
		}
	})
}
