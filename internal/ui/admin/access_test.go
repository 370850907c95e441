package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/ledger"
	"affiliated/internal/ui/admin"
)

// getPages are the console's pages and downloads, with what each shows.
func getPages(w *world) map[string]string {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	return map[string]string{
		"/admin/":                                            "Top affiliates",
		"/admin/?range=today&tz=Europe/Rome":                 "Top referrers",
		"/admin/overview.csv":                                "unique_visitors",
		"/admin/top.csv?report=affiliates":                   "affiliate_id",
		"/admin/top.csv?report=device":                       "device,clicks,share",
		"/admin/programs":                                    "Course",
		"/admin/programs.csv":                                "destination_url",
		"/admin/programs/new":                                "Create the program",
		"/admin/programs/" + id(w.prog.ID):                   "Product rates",
		"/admin/affiliates":                                  "Anna",
		"/admin/affiliates.csv":                              "anna@example.com",
		"/admin/affiliates/new":                              "Add the affiliate",
		"/admin/affiliates/import":                           "email,name,code,coupon",
		"/admin/affiliates/" + id(w.anna.ID):                 "Click log",
		"/admin/affiliates/" + id(w.anna.ID) + "/clicks.csv": "referral_id",
		"/admin/orders":                                      "All orders",
		"/admin/orders?unattributed=1":                       "Unattributed",
		"/admin/orders.csv":                                  "order_ref",
		"/admin/commissions":                                 "Commissions",
		"/admin/commissions?status=held":                     "Review queue",
		"/admin/commissions.csv":                             "payable_at",
		"/admin/payouts":                                     "Next payout",
		"/admin/payouts.csv":                                 "payout_id",
		"/admin/deliveries":                                  "Received webhooks",
		"/admin/deliveries.csv":                              "event_type",
		"/admin/outbox":                                      "Outgoing messages",
		"/admin/outbox.csv":                                  "recipient",
		"/admin/settings":                                    "API tokens",
		"/admin/settings/tokens.csv":                         "prefix",
		"/admin/mailbox":                                     "Dev mailbox",
		"/admin/audit":                                       "Audit log",
		"/admin/audit.csv":                                   "actor",
	}
}

// TestAccessRules: without an owner's session every page sends the
// browser to sign in; an affiliate's session never opens the console;
// an owner's opens every page.
func TestAccessRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		w.sale("o1", "ANNA", "", 10000)
		pages := getPages(w)
		affToken, _ := w.signIn(auth.KindAffiliate, w.anna.ID)

		for path := range pages {
			// Nobody signed in: to the sign-in page, and back afterwards.
			r := w.app.DoWith("GET", path, nil, http.Header{})
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
				t.Errorf("GET %s signed out: %d %s", path, r.Status, r.Header.Get("Location"))
			}
			if !strings.HasPrefix(path, "/admin/?") && path != "/admin/" && !strings.Contains(r.Header.Get("Location"), "next=") {
				t.Errorf("GET %s signed out: no way back in %s", path, r.Header.Get("Location"))
			}
			// An affiliate's session, in either cookie, is not an owner's.
			for _, cookie := range []string{admin.Cookie + "=" + affToken, "aff_portal=" + affToken} {
				r := w.app.DoWith("GET", path, nil, http.Header{"Cookie": {cookie}})
				if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
					t.Errorf("GET %s with an affiliate's session (%s): %d %s", path, strings.SplitN(cookie, "=", 2)[0], r.Status, r.Header.Get("Location"))
				}
			}
			// The owner.
			r = w.get(path)
			if r.Status != http.StatusOK {
				t.Errorf("GET %s as the owner: %d: %s", path, r.Status, excerpt(r.Body))
				continue
			}
			if want := pages[path]; !strings.Contains(string(r.Body), want) {
				t.Errorf("GET %s: no %q in %s", path, want, excerpt(r.Body))
			}
			ct := r.Header.Get("Content-Type")
			if strings.HasSuffix(strings.SplitN(path, "?", 2)[0], ".csv") {
				if !strings.HasPrefix(ct, "text/csv") || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
					t.Errorf("GET %s: %s, %s", path, ct, r.Header.Get("Content-Disposition"))
				}
			} else if csp := r.Header.Get("Content-Security-Policy"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("GET %s: Content-Type %q, CSP %q", path, ct, csp)
			}
		}
		// An affiliate's session still works in the portal: it was refused
		// as the wrong kind, not ended.
		if _, err := (&auth.Sessions{DB: d}).Check(context.Background(), auth.KindAffiliate, affToken); err != nil {
			t.Errorf("the affiliate's session: %v", err)
		}
		// Unknown pages and ids under /admin are 404 pages, for the owner only.
		for _, path := range []string{"/admin/nothing", "/admin/affiliates/999999", "/admin/orders/999999", "/admin/payouts/0",
			"/admin/programs/abc", "/admin/deliveries/424242"} {
			if r := w.get(path); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, r.Status)
			}
		}
	})
}

// posts are every state-changing route of the console with a valid form.
func posts(w *world) map[string]url.Values {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	return map[string]url.Values{
		"/admin/programs":                                    {"name": {"Second"}, "destination_url": {"https://b.example.com"}, "rate": {"30"}, "hold_days": {"30"}, "cookie_days": {"30"}, "attribution": {"first"}, "recurring": {"forever"}},
		"/admin/programs/" + id(w.prog.ID):                   {"name": {"Course"}, "destination_url": {"https://shop.example.com/course"}, "rate": {"40"}, "hold_days": {"0"}, "cookie_days": {"60"}, "attribution": {"last"}, "recurring": {"once"}},
		"/admin/programs/" + id(w.prog.ID) + "/rates":        {"product_id": {"pro"}, "rate": {"20"}},
		"/admin/programs/" + id(w.prog.ID) + "/rates/delete": {"product_id": {"pro"}},
		"/admin/affiliates":                                  {"email": {"new@example.com"}, "program_id": {id(w.prog.ID)}},
		"/admin/affiliates/import":                           {"program_id": {id(w.prog.ID)}, "status": {"active"}, "csv": {"x@example.com,X"}},
		"/admin/affiliates/" + id(w.anna.ID):                 {"email": {"anna@example.com"}, "program_id": {id(w.prog.ID)}, "code": {"anna"}},
		"/admin/affiliates/" + id(w.pete.ID) + "/approve":    nil,
		"/admin/affiliates/" + id(w.pete.ID) + "/reject":     nil,
		"/admin/affiliates/" + id(w.anna.ID) + "/suspend":    nil,
		"/admin/affiliates/" + id(w.anna.ID) + "/reactivate": nil,
		"/admin/orders/1/attribute":                          {"code": {"anna"}},
		"/admin/commissions/1/approve":                       nil,
		"/admin/commissions/1/reject":                        nil,
		"/admin/payouts":                                     nil,
		"/admin/payouts/1/paid":                              nil,
		"/admin/payouts/1/cancel":                            nil,
		"/admin/outbox/1/retry":                              nil,
		"/admin/settings/tz":                                 {"tz": {"Europe/Rome"}},
		"/admin/settings/tokens":                             {"name": {"zapier"}},
		"/admin/settings/tokens/revoke":                      {"name": {"test"}},
		"/admin/settings/endpoints":                          {"url": {"https://hooks.example.com/x"}, "events": {"*"}},
		"/admin/settings/endpoints/1/delete":                 nil,
		"/admin/logout":                                      nil,
	}
}

// TestCSRFOnEveryPost: a POST without the page's token, with another
// session's token, or from another site changes nothing.
func TestCSRFOnEveryPost(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		w.sale("o1", "", "", 10000) // unattributed: order 1
		_, otherCSRF := w.signIn(auth.KindOwner, w.owner.ID)
		before := len(flatten(w.audit()))
		cookie := http.Header{"Cookie": {admin.Cookie + "=" + w.session}}
		for path, form := range posts(w) {
			cases := map[string]struct {
				csrf string
				h    http.Header
			}{
				"no token":      {"", cookie},
				"wrong token":   {wrongToken(w.csrf), cookie},
				"other session": {otherCSRF, cookie},
				"cross-site":    {w.csrf, http.Header{"Cookie": cookie["Cookie"], "Sec-Fetch-Site": {"cross-site"}}},
				"other origin":  {w.csrf, http.Header{"Cookie": cookie["Cookie"], "Origin": {"https://evil.example"}}},
			}
			for name, c := range cases {
				f := url.Values{}
				for k, v := range form {
					f[k] = v
				}
				if c.csrf != "" {
					f.Set("csrf", c.csrf)
				}
				r := w.app.DoWith("POST", path, f, c.h)
				if r.Status != http.StatusForbidden {
					t.Errorf("POST %s (%s): %d, want 403: %s", path, name, r.Status, excerpt(r.Body))
				}
			}
		}
		if after := len(flatten(w.audit())); after != before {
			t.Errorf("refused posts wrote %d audit entries", after-before)
		}
		if a, _ := w.app.Programs.Affiliate(context.Background(), w.pete.ID); a.Status != "pending" {
			t.Errorf("pete is %s after refused posts", a.Status)
		}
		if o, _ := w.app.Ledger.Order(context.Background(), 1); o.AffiliateID != nil {
			t.Errorf("order 1 attributed by a refused post")
		}
		// The session still works: nothing signed the owner out.
		w.mustGet("/admin/")
		// The same POST with the token goes through.
		w.mustPost("/admin/affiliates/"+strconv.FormatInt(w.pete.ID, 10)+"/approve", nil, "/admin/affiliates/")
	})
}

// held makes a self-referral that waits for review and returns its commission.
func (w *world) held(order string) *ledger.Commission {
	w.t.Helper()
	a, err := w.app.Programs.Affiliate(context.Background(), w.anna.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sale(order, a.CouponCode, a.Email, 5000)
	c := w.commissionOf(order)
	if c.Status != ledger.StatusHeld {
		w.t.Fatalf("self-referral %s is %s, not held", order, c.Status)
	}
	return c
}

// wrongToken returns tok with its first character changed: "x" + tok[1:]
// was tok itself whenever tok began with "x", and the POST /admin/logout
// that then succeeded ended the session every later case relied on.
func wrongToken(tok string) string {
	if strings.HasPrefix(tok, "x") {
		return "y" + tok[1:]
	}
	return "x" + tok[1:]
}
