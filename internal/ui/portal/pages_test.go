package portal_test

import (
	"context"
	"encoding/csv"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/program"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestScoping: Ann sees only her own data; Bob's ids answer 404 to her,
// exactly like ids that do not exist.
func TestScoping(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		ann := e.affiliate("ann@example.com", "Ann", program.StatusActive)
		bob := e.affiliate("bob@example.com", "Bob", program.StatusActive)
		old := e.clock.Now().AddDate(0, 0, -40) // past the 30-day hold: payable
		annC := e.sale(ann, "o-ann", "Ann's course", 10000, old)
		bobC := e.sale(bob, "o-bob", "Bob's secret product", 20000, old)
		e.sale(ann, "o-ann-2", "Ann's second", 5000, e.clock.Now().AddDate(0, 0, -2)) // pending
		both, err := e.ledger.CreatePayout(ctx, 0, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		e.sale(bob, "o-bob-2", "Bob's other", 5000, old.Add(time.Hour))
		bobsOnly, err := e.ledger.CreatePayout(ctx, 0, time.Time{})
		if err != nil || len(bobsOnly.Lines) != 1 || bobsOnly.Lines[0].AffiliateID != bob.ID {
			t.Fatalf("Bob's payout: %+v, %v", bobsOnly, err)
		}
		bAnn, bBob := e.client(), e.client()
		bAnn.signIn("ann@example.com")
		bBob.signIn("bob@example.com")
		bobSessions, _ := e.sessions.List(ctx, auth.KindAffiliate, bob.ID)

		// Her own things open.
		wantStatus(t, "own commission", bAnn.get("/portal/commissions/"+itoa(annC.ID)), 200)
		wantStatus(t, "own payout", bAnn.get("/portal/payouts/"+itoa(both.ID)), 200)
		// Bob's answer 404, the same page as a missing id.
		missing := bAnn.get("/portal/commissions/999999")
		wantStatus(t, "missing commission", missing, 404)
		for _, path := range []string{"/portal/commissions/" + itoa(bobC.ID), "/portal/payouts/" + itoa(bobsOnly.ID)} {
			r := bAnn.get(path)
			wantStatus(t, path, r, 404)
			if r.body != missing.body || strings.Contains(r.body, "Bob") {
				t.Fatalf("%s differs from a missing id or leaks:\n%s", path, r.body)
			}
		}
		r := bAnn.post("/portal/settings", "/portal/sessions/"+itoa(bobSessions[0].ID)+"/revoke", nil)
		wantStatus(t, "revoking Bob's session", r, 404)
		wantStatus(t, "Bob still signed in", bBob.get("/portal"), 200)
		for _, bad := range []string{"/portal/commissions/abc", "/portal/commissions/-1", "/portal/payouts/0", "/portal/nothing"} {
			wantStatus(t, bad, bAnn.get(bad), 404)
		}

		// Lists and the CSV hold Ann's rows only.
		r = bAnn.get("/portal/commissions")
		wantStatus(t, "commissions", r, 200)
		if !strings.Contains(r.body, "Ann&#39;s course") || strings.Contains(r.body, "Bob") {
			t.Fatalf("commissions page:\n%s", r.body)
		}
		r = bAnn.get("/portal/commissions.csv")
		wantStatus(t, "csv", r, 200)
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || strings.Contains(r.body, "Bob") {
			t.Fatalf("CSV rows %q", rows)
		}
		r = bAnn.get("/portal/payouts")
		if strings.Contains(r.body, "Bob") || !strings.Contains(r.body, "Payout "+itoa(both.ID)) || strings.Contains(r.body, "Payout "+itoa(bobsOnly.ID)) {
			t.Fatalf("payouts page:\n%s", r.body)
		}
		// The payout page lists Ann's commissions in it, not Bob's.
		r = bAnn.get("/portal/payouts/" + itoa(both.ID))
		if !strings.Contains(r.body, "Ann&#39;s course") || strings.Contains(r.body, "Bob") || strings.Contains(r.body, "Ann&#39;s second") {
			t.Fatalf("payout page:\n%s", r.body)
		}
	})
}

const (
	iphone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1"
	desktop = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	bot     = "Googlebot/2.1 (+http://www.google.com/bot.html)"
)

func TestHomeAndClicks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		ann := e.affiliate("ann@example.com", "Ann", program.StatusActive)
		ann.CouponCode = "ANN15"
		if err := e.programs.UpdateAffiliate(ctx, ann); err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		yesterday := now.AddDate(0, 0, -1)
		e.click(ann, yesterday.Add(-2*time.Hour), "https://shop.test/course?utm_source=ann&ref=x", "https://blog.example/post?id=3", iphone, true)
		e.click(ann, yesterday.Add(-time.Hour), "https://shop.test/course", "", desktop, true)
		e.click(ann, yesterday, "https://shop.test/pricing", "", desktop, false)
		e.click(ann, yesterday.Add(time.Minute), "https://shop.test/", "", bot, false)
		e.sale(ann, "o-1", "Course", 10000, yesterday.Add(time.Hour)) // pending, €50.00
		e.sale(ann, "o-2", "Workshop", 4000, now.AddDate(0, 0, -45))  // payable, €20.00
		b := e.client()
		b.signIn("ann@example.com")

		r := b.get("/portal")
		wantStatus(t, "home", r, 200)
		for _, want := range []string{
			`value="http://go.test/r/` + ann.Code + `" readonly`, // the link, ready to copy
			`data-copy="link-watercolour-course" hidden`,         // the copy button, shown by script
			"ANN15",
			`<span class="k">Pending</span><span class="v">€50.00</span>`,
			`<span class="k">Payable now</span><span class="v">€20.00</span>`,
			"becomes payable on",
			`<span class="k">Clicks</span><span class="v">3</span>`, // bots are not clicks
			`<span class="k">Unique visitors</span><span class="v">2</span>`,
			`<span class="k">Conversions</span><span class="v">1</span>`, // in the last 30 days
			`<svg class="chart"`,
			"Commission per day (EUR)",
		} {
			if !strings.Contains(r.body, want) {
				t.Errorf("home lacks %s", want)
			}
		}
		// Another range: the 45-day-old sale counts in 90 days.
		if r := b.get("/portal?range=90"); !strings.Contains(r.body, `<span class="k">Conversions</span><span class="v">2</span>`) {
			t.Error("90 days do not hold both sales")
		}
		if r := b.get("/portal?range=custom&from=2026-11-10&to=2026-11-01"); !strings.Contains(r.body, "the end date is before the start date") {
			t.Error("a bad custom range is not explained")
		}

		r = b.get("/portal/clicks")
		wantStatus(t, "clicks", r, 200)
		for _, want := range []string{
			"Recent clicks on 22 Nov 2026",
			"<td class=\"url\">shop.test/course</td>", // no query string
			"blog.example/post",
			"<td>Mobile</td>", "<td>Desktop</td>", "<td>Bot</td>",
			"direct or hidden",
		} {
			if !strings.Contains(r.body, want) {
				t.Errorf("clicks page lacks %s", want)
			}
		}
		if strings.Contains(r.body, "utm_source") || strings.Contains(r.body, iphone) {
			t.Error("the clicks page shows query strings or user agents")
		}
	})
}

func TestCommissionFiltersAndCSV(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ann := e.affiliate("ann@example.com", "Ann", program.StatusActive)
		now := e.clock.Now()
		for i := range 60 {
			e.sale(ann, "o-"+itoa(int64(i)), "=HYPERLINK(\"x\")", 1000+int64(i), now.AddDate(0, 0, -i))
		}
		b := e.client()
		b.signIn("ann@example.com")
		r := b.get("/portal/commissions")
		if n := strings.Count(r.body, `<a href="/portal/commissions/`); n != 50 {
			t.Fatalf("first page: %d rows", n)
		}
		if !strings.Contains(r.body, `rel="next"`) {
			t.Fatal("no next page link")
		}
		r = b.get("/portal/commissions?status=payable")
		if n := strings.Count(r.body, `<a href="/portal/commissions/`); n != 30 { // sold 30+ days ago
			t.Fatalf("payable: %d rows", n)
		}
		if !strings.Contains(r.body, `href="/portal/commissions.csv?status=payable"`) {
			t.Fatal("the CSV link does not keep the filter")
		}
		r = b.get("/portal/commissions?from=2026-11-20&to=2026-11-23&platform=lemonsqueezy")
		if n := strings.Count(r.body, `<a href="/portal/commissions/`); n != 4 {
			t.Fatalf("4 days: %d rows", n)
		}
		if r := b.get("/portal/commissions?platform=stripe"); !strings.Contains(r.body, "No commissions match.") {
			t.Fatal("another platform shows rows")
		}
		wantStatus(t, "bad status", b.get("/portal/commissions?status=nope"), 400)

		// The CSV holds every matching row, past the first page, formula-safe.
		r = b.get("/portal/commissions.csv")
		wantStatus(t, "csv", r, 200)
		if r.header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("csv headers %v", r.header)
		}
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 61 || rows[0][0] != "commission_id" || rows[1][4] != `'=HYPERLINK("x")` || rows[1][8] != "5.00" {
			t.Fatalf("csv: %d rows, %q", len(rows), rows[:2])
		}
		r = b.get("/portal/commissions.csv?status=pending")
		if rows, _ := csv.NewReader(strings.NewReader(r.body)).ReadAll(); len(rows) != 31 {
			t.Fatalf("pending csv: %d rows", len(rows))
		}
	})
}

func TestSettingsAndPayoutDetails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		ann := e.affiliate("ann@example.com", "Ann", program.StatusActive)
		b, phone := e.client(), e.client()
		b.signIn("ann@example.com")
		phone.signIn("ann@example.com")

		r := b.post("/portal/settings", "/portal/settings", url.Values{"name": {"Ann Lee"}})
		if r.status != 303 || r.header.Get("Location") != "/portal/settings?done=saved" {
			t.Fatalf("save settings: %d %v", r.status, r.header)
		}
		got, _ := e.programs.Affiliate(ctx, ann.ID)
		if got.Name != "Ann Lee" || got.NotifySales {
			t.Fatalf("saved %+v (an unchecked box turns emails off)", got)
		}
		if r := b.get("/portal/settings?done=saved"); !strings.Contains(r.body, "Settings saved.") || strings.Contains(r.body, `id="notify_sales" name="notify_sales" checked`) {
			t.Fatalf("settings page:\n%s", r.body)
		}
		b.post("/portal/settings", "/portal/settings", url.Values{"name": {"Ann Lee"}, "notify_sales": {"on"}})
		if got, _ := e.programs.Affiliate(ctx, ann.ID); !got.NotifySales {
			t.Fatal("emails not turned back on")
		}
		r = b.post("/portal/settings", "/portal/settings", url.Values{"name": {strings.Repeat("x", 201)}})
		wantStatus(t, "long name", r, 400)

		r = b.post("/portal/payouts", "/portal/payouts/details", url.Values{"payout_email": {"not an email"}})
		wantStatus(t, "bad payout email", r, 400)
		if !strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, "must be an email address") {
			t.Fatalf("bad payout email page:\n%s", r.body)
		}
		r = b.post("/portal/payouts", "/portal/payouts/details", url.Values{"payout_email": {"ann.pays@example.com"}})
		if r.status != 303 {
			t.Fatalf("payout email: %d", r.status)
		}
		if got, _ := e.programs.Affiliate(ctx, ann.ID); got.PayoutEmail != "ann.pays@example.com" || got.Name != "Ann Lee" {
			t.Fatalf("saved %+v", got)
		}
		entries, _ := e.programs.Audit.List(ctx, 0, 1)
		if entries[0].Actor != "affiliate:ann@example.com" {
			t.Fatalf("audit actor %q", entries[0].Actor)
		}

		// Two devices listed; sign out the other one.
		r = b.get("/portal/settings")
		if strings.Count(r.body, "/revoke\"") != 2 || !strings.Contains(r.body, "(this device)") {
			t.Fatalf("sessions:\n%s", r.body)
		}
		r = b.post("/portal/settings", "/portal/sessions/revoke-others", nil)
		if r.status != 303 || r.header.Get("Location") != "/portal/settings?done=others" {
			t.Fatalf("revoke others: %d %v", r.status, r.header)
		}
		if r := phone.get("/portal"); r.status != 303 {
			t.Fatalf("the other device is still in: %d", r.status)
		}
		wantStatus(t, "this device", b.get("/portal"), 200)
		// Signing out this very device from the list ends this session.
		list, _ := e.sessions.List(ctx, auth.KindAffiliate, ann.ID)
		r = b.post("/portal/settings", "/portal/sessions/"+itoa(list[0].ID)+"/revoke", nil)
		if r.status != 303 || r.header.Get("Location") != "/portal/login?out=1" {
			t.Fatalf("revoke own: %d %v", r.status, r.header)
		}
	})
}
