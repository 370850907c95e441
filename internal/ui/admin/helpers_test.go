package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/ledger"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/server/servertest"
	"affiliated/internal/ui"
	"affiliated/internal/ui/admin"
)

// world is a running server with a program, affiliates and a signed-in owner.
type world struct {
	t       *testing.T
	app     *servertest.App
	d       *db.DB
	owner   *auth.Owner
	prog    *program.Program
	anna    *program.Affiliate // active, coupon ANNA
	pete    *program.Affiliate // pending
	session string             // the owner's session token
	csrf    string
	seq     int
}

const ownerEmail = "boss@example.com"

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	ctx := audit.WithActor(context.Background(), "test")
	app := servertest.Start(t, d, "--workers=false")
	w := &world{t: t, app: app, d: d}
	owners := &auth.Owners{DB: d, Audit: app.Audit}
	var err error
	if w.owner, err = owners.Add(ctx, ownerEmail); err != nil {
		t.Fatal(err)
	}
	w.prog = program.NewProgram()
	w.prog.Name, w.prog.DestinationURL, w.prog.HoldDays = "Course", "https://shop.example.com/course", 0
	if err := app.Programs.CreateProgram(ctx, w.prog); err != nil {
		t.Fatal(err)
	}
	w.anna = program.NewAffiliate()
	w.anna.ProgramID, w.anna.Name, w.anna.Email, w.anna.Code, w.anna.CouponCode = w.prog.ID, "Anna", "anna@example.com", "anna", "ANNA"
	if err := app.Programs.CreateAffiliate(ctx, w.anna); err != nil {
		t.Fatal(err)
	}
	w.pete = program.NewAffiliate()
	w.pete.ProgramID, w.pete.Name, w.pete.Email, w.pete.Code, w.pete.Status = w.prog.ID, "Pete", "pete@example.com", "pete", program.StatusPending
	if err := app.Programs.CreateAffiliate(ctx, w.pete); err != nil {
		t.Fatal(err)
	}
	w.session, w.csrf = w.signIn(auth.KindOwner, w.owner.ID)
	return w
}

// signIn starts a session of kind for principal id, as the sign-in pages
// do, and returns its cookie value and the CSRF token of its pages.
func (w *world) signIn(kind auth.Kind, id int64) (token, csrf string) {
	w.t.Helper()
	s := &auth.Sessions{DB: w.d}
	token, _, err := s.Create(context.Background(), kind, id, "test", "127.0.0.1")
	if err != nil {
		w.t.Fatal(err)
	}
	return token, ui.CSRFToken("session\x00" + token)
}

// sale reports a payment, as a platform's webhook would.
func (w *world) sale(order, coupon, email string, net int64) {
	w.t.Helper()
	w.seq++
	ev := payments.Event{Kind: payments.KindSale, Platform: "paddle", EventID: "evt-" + order, OrderID: order,
		Currency: "USD", Gross: net, Net: net, NetReported: true, Coupon: coupon, CustomerEmail: email,
		ProductID: "pro", ProductName: "Pro course", OccurredAt: time.Now().Add(-time.Hour)}
	if _, err := w.app.Ledger.Ingest(context.Background(), "paddle", []byte(`{"order":"`+order+`"}`), ev, nil); err != nil {
		w.t.Fatal(err)
	}
}

// get fetches a console path as the signed-in owner.
func (w *world) get(path string) *servertest.Response {
	w.t.Helper()
	return w.app.DoWith("GET", path, nil, http.Header{"Cookie": {admin.Cookie + "=" + w.session}})
}

// post submits a form as the signed-in owner, with the page's CSRF token.
func (w *world) post(path string, form url.Values) *servertest.Response {
	w.t.Helper()
	f := url.Values{"csrf": {w.csrf}}
	for k, v := range form {
		f[k] = v
	}
	return w.app.DoWith("POST", path, f, http.Header{"Cookie": {admin.Cookie + "=" + w.session}})
}

// mustPost is post that fails the test unless the answer is a redirect
// (a change that worked) to a path starting with to.
func (w *world) mustPost(path string, form url.Values, to string) *servertest.Response {
	w.t.Helper()
	r := w.post(path, form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), to) {
		w.t.Fatalf("POST %s: %d %s, want a redirect to %s: %s", path, r.Status, r.Header.Get("Location"), to, excerpt(r.Body))
	}
	return r
}

// mustGet is get that fails the test unless the status is 200.
func (w *world) mustGet(path string) string {
	w.t.Helper()
	r := w.get(path)
	if r.Status != http.StatusOK {
		w.t.Fatalf("GET %s: %d: %s", path, r.Status, excerpt(r.Body))
	}
	return string(r.Body)
}

// audit returns the audit entries by action.
func (w *world) audit() map[string][]audit.Entry {
	w.t.Helper()
	list, err := w.app.Audit.List(context.Background(), 0, 500)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string][]audit.Entry{}
	for _, e := range list {
		out[e.Action] = append(out[e.Action], e)
	}
	return out
}

// commissionOf returns the commission of an order ref.
func (w *world) commissionOf(order string) *ledger.Commission {
	w.t.Helper()
	list, _, err := w.app.Ledger.Commissions(context.Background(), ledger.CommissionFilter{Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range list {
		if c.OrderRef == order {
			return c
		}
	}
	w.t.Fatalf("no commission on %s", order)
	return nil
}

// excerpt shortens a body for a failure message, keeping the page's
// error message when there is one.
func excerpt(b []byte) string {
	s := string(b)
	if i := strings.Index(s, `class="alert"`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func flatten(m map[string][]audit.Entry) []audit.Entry {
	var out []audit.Entry
	for _, l := range m {
		out = append(out, l...)
	}
	return out
}
