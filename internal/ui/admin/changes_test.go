package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/ledger"
)

// TestChangesAreAudited makes every kind of change through the console and
// checks its effect and its audit entry, written with the owner as actor.
func TestChangesAreAudited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		id := func(n int64) string { return strconv.FormatInt(n, 10) }
		aff := "/admin/affiliates/"
		var start int64 // the changes of the fixture come before
		for _, e := range flatten(w.audit()) {
			start = max(start, e.ID)
		}

		// Programs: create, edit every setting, product rates.
		w.mustPost("/admin/programs", url.Values{"name": {"Wine tours"}, "destination_url": {"https://villa.example.it/tours"},
			"rate": {"12.5"}, "hold_days": {"14"}, "cookie_days": {"90"}, "attribution": {"last"}, "recurring": {"months"},
			"recurring_months": {"12"}, "min_payout": {"5000"}, "auto_approve": {"on"}, "terms": {"Be nice."},
			"allowed_hosts": {"shop.villa.example.it\nbook.example.it"}, "utm_source": {"partner-{code}"}}, "/admin/programs/")
		progs, _ := w.app.Programs.Programs(ctx)
		p := progs[len(progs)-1]
		if p.Name != "Wine tours" || p.CommissionRateBps != 1250 || p.HoldDays != 14 || p.CookieDays != 90 || p.Attribution != "last" ||
			p.Recurring != "months:12" || p.MinPayout != 5000 || !p.AutoApprove || p.Terms != "Be nice." ||
			len(p.AllowedHosts) != 3 || p.UTM.Source != "partner-{code}" || p.Slug != "wine-tours" {
			t.Fatalf("created program %+v", p)
		}
		w.mustPost("/admin/programs/"+id(p.ID), url.Values{"name": {"Wine tours"}, "slug": {"tours"}, "destination_url": {"https://villa.example.it/tours"},
			"rate": {"10"}, "flat_amount": {"15.00"}, "flat_currency": {"eur"}, "hold_days": {"0"}, "cookie_days": {"30"},
			"attribution": {"first"}, "recurring": {"once"}}, "/admin/programs/"+id(p.ID))
		p, _ = w.app.Programs.Program(ctx, p.ID)
		if p.Slug != "tours" || p.FlatAmount != 1500 || p.FlatCurrency != "EUR" || p.HoldDays != 0 || p.AutoApprove || p.Recurring != "once" {
			t.Fatalf("edited program %+v", p)
		}
		w.mustPost("/admin/programs/"+id(p.ID)+"/rates", url.Values{"product_id": {"tasting"}, "flat_amount": {"7"}, "flat_currency": {"EUR"}}, "/admin/programs/")
		w.mustPost("/admin/programs/"+id(p.ID)+"/rates", url.Values{"product_id": {"dinner"}, "rate": {"5"}}, "/admin/programs/")
		w.mustPost("/admin/programs/"+id(p.ID)+"/rates/delete", url.Values{"product_id": {"dinner"}}, "/admin/programs/")
		if rates, _ := w.app.Programs.ProductRates(ctx, p.ID); len(rates) != 1 || rates[0].FlatAmount != 700 {
			t.Fatalf("rates %+v", rates)
		}
		if page := w.mustGet("/admin/programs/" + id(p.ID)); !strings.Contains(page, "tasting") || !strings.Contains(page, "€7.00") {
			t.Errorf("the program page does not list the rate")
		}

		// Affiliates: add by hand, import, edit code, coupon and rate, decide.
		w.mustPost("/admin/affiliates", url.Values{"email": {"vera@example.com"}, "name": {"Vera Vendor"}, "program_id": {id(p.ID)},
			"coupon_code": {"VERA"}, "rate": {"8"}}, aff)
		vera, err := w.app.Programs.AffiliateByEmail(ctx, "vera@example.com")
		if err != nil || vera.Code != "vera-vendor" || vera.CouponCode != "VERA" || *vera.CommissionRateBps != 800 || vera.Status != "active" {
			t.Fatalf("added %+v, %v", vera, err)
		}
		r := w.post("/admin/affiliates/import", url.Values{"program_id": {id(p.ID)}, "status": {"pending"},
			"csv": {"email,name,code,coupon\nsol@example.it,Enoteca Solare,solare,SOLE10\nbad-email,Nobody,,\ngino@example.it,Gino,,\n"}})
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "2 added, 1 refused") {
			t.Fatalf("import: %d %s", r.Status, excerpt(r.Body))
		}
		sol, err := w.app.Programs.AffiliateByCode(ctx, "solare")
		if err != nil || sol.Status != "pending" || sol.CouponCode != "SOLE10" || sol.ProgramID != p.ID {
			t.Fatalf("imported %+v, %v", sol, err)
		}
		w.mustPost(aff+id(w.anna.ID), url.Values{"email": {"anna@example.com"}, "name": {"Anna B"}, "program_id": {id(w.prog.ID)},
			"code": {"annab"}, "coupon_code": {"ANNA20"}, "rate": {"60"}, "notify_sales": {"on"}}, aff+id(w.anna.ID))
		a, _ := w.app.Programs.Affiliate(ctx, w.anna.ID)
		if a.Code != "annab" || a.CouponCode != "ANNA20" || a.CommissionRateBps == nil || *a.CommissionRateBps != 6000 || a.Name != "Anna B" || !a.NotifySales {
			t.Fatalf("edited %+v", a)
		}
		// A code taken by someone else is refused, on the page, and nothing changes.
		r = w.post(aff+id(w.anna.ID), url.Values{"email": {"anna@example.com"}, "program_id": {id(w.prog.ID)}, "code": {"solare"}})
		if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), `aria-invalid="true"`) {
			t.Fatalf("taken code: %d %s", r.Status, excerpt(r.Body))
		}
		w.mustPost(aff+id(w.pete.ID)+"/approve", nil, aff+id(w.pete.ID))
		w.mustPost(aff+id(sol.ID)+"/reject", nil, aff+id(sol.ID))
		w.mustPost(aff+id(vera.ID)+"/suspend", nil, aff+id(vera.ID))
		w.mustPost(aff+id(vera.ID)+"/reactivate", nil, aff+id(vera.ID))
		// Rejecting an active affiliate is refused, with the reason.
		if r := w.post(aff+id(vera.ID)+"/reject", nil); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "only a pending signup can be decided") {
			t.Fatalf("reject an active affiliate: %d %s", r.Status, excerpt(r.Body))
		}
		for code, want := range map[string]string{"pete": "active", "solare": "rejected", "vera-vendor": "active"} {
			if a, _ := w.app.Programs.AffiliateByCode(ctx, code); a.Status != want {
				t.Errorf("%s is %s, want %s", code, a.Status, want)
			}
		}

		// Orders: attribute an unattributed one; review held commissions.
		w.sale("lost-1", "", "", 20000)
		orders, _, _ := w.app.Ledger.Orders(ctx, ledger.OrderFilter{Unattributed: true})
		if len(orders) != 1 {
			t.Fatalf("unattributed orders: %d", len(orders))
		}
		if r := w.post("/admin/orders/"+id(orders[0].ID)+"/attribute", url.Values{"code": {"nobody"}}); r.Status != http.StatusBadRequest ||
			!strings.Contains(string(r.Body), "no affiliate has the code") {
			t.Fatalf("attribute to an unknown code: %d %s", r.Status, excerpt(r.Body))
		}
		w.mustPost("/admin/orders/"+id(orders[0].ID)+"/attribute", url.Values{"code": {"pete"}}, "/admin/orders/"+id(orders[0].ID))
		if c := w.commissionOf("lost-1"); c.AffiliateID != w.pete.ID || c.Amount != 10000 {
			t.Fatalf("attributed commission %+v", c)
		}
		if r := w.post("/admin/orders/"+id(orders[0].ID)+"/attribute", url.Values{"code": {"annab"}}); r.Status != http.StatusConflict {
			t.Fatalf("attribute twice: %d", r.Status)
		}
		self1, self2 := w.held("self-1"), w.held("self-2")
		if page := w.mustGet("/admin/commissions?status=held"); !strings.Contains(page, "self-1") || !strings.Contains(page, "self-2") {
			t.Fatalf("the review queue does not list both self-referrals")
		}
		w.mustPost("/admin/commissions/"+id(self1.ID)+"/approve", nil, "/admin/commissions?status=held")
		w.mustPost("/admin/commissions/"+id(self2.ID)+"/reject", url.Values{"back": {"/admin/orders/" + id(self2.OrderID)}}, "/admin/orders/"+id(self2.OrderID))
		if c := w.commissionOf("self-1"); c.Review != "approved" {
			t.Errorf("self-1 is %s", c.Review)
		}
		if c := w.commissionOf("self-2"); c.Status != ledger.StatusRejected || c.Amount != 0 {
			t.Errorf("self-2 is %+v", c)
		}

		// Payouts: create, mark paid; create, cancel.
		w.mustPost("/admin/payouts", nil, "/admin/payouts/")
		pays, _ := w.app.Ledger.Payouts(ctx)
		if len(pays) != 1 {
			t.Fatalf("payouts: %+v", pays)
		}
		full, _ := w.app.Ledger.Payout(ctx, pays[0].ID)
		if len(full.Lines) != 2 { // pete's attributed order, anna's approved self-referral
			t.Fatalf("payout lines %+v", full.Lines)
		}
		csv := w.get("/admin/payouts/" + id(pays[0].ID) + "/csv")
		if csv.Status != 200 || !strings.Contains(string(csv.Body), "pete@example.com") || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("payout CSV: %d %s", csv.Status, csv.Body)
		}
		w.mustPost("/admin/payouts/"+id(pays[0].ID)+"/paid", nil, "/admin/payouts/"+id(pays[0].ID))
		if r := w.post("/admin/payouts/"+id(pays[0].ID)+"/cancel", nil); r.Status != http.StatusConflict {
			t.Fatalf("cancel a paid payout: %d", r.Status)
		}
		w.sale("o-late", "ANNA20", "", 4000)
		w.mustPost("/admin/payouts", url.Values{"program_id": {id(w.prog.ID)}}, "/admin/payouts/")
		pays, _ = w.app.Ledger.Payouts(ctx)
		w.mustPost("/admin/payouts/"+id(pays[0].ID)+"/cancel", nil, "/admin/payouts/"+id(pays[0].ID))
		// Nothing left: the page says why, and nothing is written.
		w.mustPost("/admin/payouts", nil, "/admin/payouts/") // the cancelled payout's commissions are payable again
		if r := w.post("/admin/payouts", nil); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "nothing is payable") {
			t.Fatalf("empty payout: %d %s", r.Status, excerpt(r.Body))
		}

		// Settings: tokens, endpoints, time zone.
		r = w.post("/admin/settings/tokens", url.Values{"name": {"zapier"}})
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `value="aff_`) {
			t.Fatalf("create a token: %d %s", r.Status, excerpt(r.Body))
		}
		if r := w.post("/admin/settings/tokens", url.Values{"name": {"zapier"}}); r.Status != http.StatusConflict {
			t.Fatalf("duplicate token: %d", r.Status)
		}
		w.mustPost("/admin/settings/tokens/revoke", url.Values{"name": {"zapier"}}, "/admin/settings")
		r = w.post("/admin/settings/endpoints", url.Values{"url": {"https://hooks.example.com/x"}, "events": {"sale.created", "payout.paid"}})
		if r.Status != http.StatusOK && r.Status != http.StatusBadRequest {
			t.Fatalf("add an endpoint: %d %s", r.Status, excerpt(r.Body))
		}
		r = w.post("/admin/settings/tz", url.Values{"tz": {"Mars/Olympus"}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "not a time zone") {
			t.Fatalf("bad zone: %d %s", r.Status, excerpt(r.Body))
		}
		r = w.mustPost("/admin/settings/tz", url.Values{"tz": {"America/New_York"}}, "/admin/settings")
		if !strings.Contains(r.Header.Get("Set-Cookie"), "America%2FNew_York") {
			t.Errorf("tz cookie: %q", r.Header.Get("Set-Cookie"))
		}

		// Every change is in the audit log, by the owner.
		entries := w.audit()
		for _, action := range []string{"program.create", "program.update", "product_rate.set", "product_rate.delete",
			"affiliate.create", "affiliate.update", "affiliate.approve", "affiliate.reject", "affiliate.suspend",
			"affiliate.reactivate", "order.attribute", "commission.approve", "commission.reject", "payout.create",
			"payout.paid", "payout.cancel", "token.create", "token.revoke"} {
			n := 0
			for _, e := range entries[action] {
				if e.ID <= start {
					continue
				}
				n++
				if e.Actor != "owner:"+ownerEmail {
					t.Errorf("%s by %q, want owner:%s", action, e.Actor, ownerEmail)
				}
			}
			if n == 0 {
				t.Errorf("no audit entry %s", action)
			}
		}
		// And the audit page shows them.
		if page := w.mustGet("/admin/audit"); !strings.Contains(page, "owner:"+ownerEmail) || !strings.Contains(page, "payout.paid") {
			t.Errorf("the audit page does not show the changes")
		}
	})
}
