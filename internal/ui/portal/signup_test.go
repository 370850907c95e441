package portal_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/notify"
	"affiliated/internal/program"
)

func application(email string) url.Values {
	return url.Values{"name": {"Cleo"}, "email": {email}, "website": {"https://cleo.example"},
		"promotion": {"A weekly newsletter for 4,000 painters."}, "terms": {"on"}}
}

// outbox returns the queued emails as "topic to".
func (e *env) outbox() []string {
	e.t.Helper()
	list, _, err := e.notify.Messages(context.Background(), notify.Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range list {
		out = append(out, m.Topic+" "+m.Recipient)
	}
	return out
}

func TestSignup(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		b := e.client()
		r := b.get("/portal/signup")
		wantStatus(t, "signup page", r, 200)
		for _, f := range []string{"name", "email", "website", "promotion", "terms"} {
			if !strings.Contains(r.body, `<label for="`+f+`">`) {
				t.Errorf("no label for %s", f)
			}
		}
		if !strings.Contains(r.body, "No spam.") || strings.Contains(r.body, `<select id="program"`) {
			t.Error("one program: its terms are shown and there is no program choice")
		}
		// Missing terms, missing promotion: the form comes back, explained.
		form := application("cleo@example.com")
		form.Del("terms")
		r = b.post("/portal/signup", "/portal/signup", form)
		wantStatus(t, "without terms", r, 400)
		if !strings.Contains(r.body, "accept the program&#39;s terms") || !strings.Contains(r.body, `value="Cleo"`) {
			t.Fatalf("without terms:\n%s", r.body)
		}
		form = application("cleo@example.com")
		form.Set("promotion", "")
		wantStatus(t, "without promotion", b.post("/portal/signup", "/portal/signup", form), 400)

		r = b.post("/portal/signup", "/portal/signup", application("Cleo@Example.com"))
		wantStatus(t, "signup", r, 200)
		if !strings.Contains(r.body, "We will email you as soon as it is reviewed.") {
			t.Fatalf("done page:\n%s", r.body)
		}
		a, err := e.programs.AffiliateByEmail(ctx, "cleo@example.com")
		if err != nil || a.Status != program.StatusPending || a.Promotion == "" || a.Website != "https://cleo.example" {
			t.Fatalf("created %+v, %v", a, err)
		}
		// The owner is told; the applicant waits for approval.
		if got := strings.Join(e.outbox(), ","); got != "affiliate.created owner@example.com" {
			t.Fatalf("outbox: %s", got)
		}
		entries, _ := e.programs.Audit.List(ctx, 0, 5)
		var detail struct {
			TermsAccepted bool `json:"terms_accepted"`
		}
		_ = json.Unmarshal(entries[0].Detail, &detail)
		if entries[0].Action != "affiliate.signup" || entries[0].Actor != "signup:cleo@example.com" || !detail.TermsAccepted {
			t.Fatalf("audit %+v", entries[0])
		}

		// The same email again: the same answer, nothing created or sent.
		again := b.post("/portal/signup", "/portal/signup", application("cleo@example.com"))
		if again.status != r.status || again.body != r.body || len(e.outbox()) != 1 {
			t.Fatalf("second signup differs or sends: %d, %v", again.status, e.outbox())
		}
	})
}

func TestSignupAutoApproveAndPrograms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		open := program.NewProgram()
		open.Name, open.DestinationURL, open.AutoApprove = "Open studio", "https://shop.test/studio", true
		if err := e.programs.CreateProgram(ctx, open); err != nil {
			t.Fatal(err)
		}
		b := e.client()
		r := b.get("/portal/signup")
		if !strings.Contains(r.body, `<label for="program">Program</label>`) || !strings.Contains(r.body, "Open studio") {
			t.Fatalf("two programs and no choice:\n%s", r.body)
		}
		form := application("dan@example.com")
		form.Set("program", itoa(open.ID))
		form.Del("terms") // the open program has no terms
		r = b.post("/portal/signup", "/portal/signup", form)
		wantStatus(t, "auto-approved signup", r, 200)
		if !strings.Contains(r.body, "your referral link is on its way") {
			t.Fatalf("done page:\n%s", r.body)
		}
		a, err := e.programs.AffiliateByEmail(ctx, "dan@example.com")
		if err != nil || a.Status != program.StatusActive || a.ProgramID != open.ID {
			t.Fatalf("created %+v, %v", a, err)
		}
		got := strings.Join(e.outbox(), ",")
		if !strings.Contains(got, "affiliate.created owner@example.com") || !strings.Contains(got, "affiliate.approved dan@example.com") {
			t.Fatalf("outbox: %s", got)
		}
		// An unknown program is refused.
		form.Set("program", "999")
		wantStatus(t, "unknown program", b.post("/portal/signup", "/portal/signup", form), 400)
	})
}

func TestSignupRateLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		b := e.client()
		for i := range 10 {
			wantStatus(t, "signup", b.post("/portal/signup", "/portal/signup", application("p"+itoa(int64(i))+"@example.com")), 200)
		}
		// All named Cleo: the codes "cleo", then "cleo-…", each retried in a fresh transaction.
		list, err := e.programs.Affiliates(context.Background(), program.AffiliateFilter{})
		if err != nil || len(list) != 10 {
			t.Fatalf("%d affiliates, %v", len(list), err)
		}
		r := b.post("/portal/signup", "/portal/signup", application("p11@example.com"))
		wantStatus(t, "11th signup in an hour", r, 429)
		if !strings.Contains(r.body, "Try again after 11:00 UTC") {
			t.Fatalf("limit page:\n%s", r.body)
		}
	})
}
