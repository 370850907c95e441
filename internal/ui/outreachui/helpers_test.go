package outreachui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/outreach"
	"affiliated/internal/program"
	"affiliated/internal/server/servertest"
	"affiliated/internal/ui"
	"affiliated/internal/ui/admin"
)

// world is a running server with a program, two vendors and a signed-in
// owner (signed in the way the sign-in pages do: a session and its CSRF token).
type world struct {
	t       *testing.T
	app     *servertest.App
	d       *db.DB
	prog    *program.Program
	vendors []*program.Affiliate
	session string
	csrf    string
}

func newWorld(t *testing.T, d *db.DB, args ...string) *world {
	t.Helper()
	ctx := audit.WithActor(context.Background(), "test")
	app := servertest.Start(t, d, args...)
	w := &world{t: t, app: app, d: d}
	owner, err := (&auth.Owners{DB: d, Audit: app.Audit}).Add(ctx, "boss@example.com")
	if err != nil {
		t.Fatal(err)
	}
	w.prog = program.NewProgram()
	w.prog.Name, w.prog.DestinationURL = "Vendors", "https://shop.example.com/"
	if err := app.Programs.CreateProgram(ctx, w.prog); err != nil {
		t.Fatal(err)
	}
	for _, v := range [][3]string{{"Cantina Rossi", "rossi@example.com", "rossi"}, {"Bakery <Bee>", "bee@example.com", "bee"}} {
		a := program.NewAffiliate()
		a.ProgramID, a.Name, a.Email, a.Code = w.prog.ID, v[0], v[1], v[2]
		if err := app.Programs.CreateAffiliate(ctx, a); err != nil {
			t.Fatal(err)
		}
		w.vendors = append(w.vendors, a)
	}
	token, _, err := (&auth.Sessions{DB: d}).Create(ctx, auth.KindOwner, owner.ID, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	w.session, w.csrf = token, ui.CSRFToken("session\x00"+token)
	return w
}

func (w *world) cookie() http.Header { return http.Header{"Cookie": {admin.Cookie + "=" + w.session}} }

func (w *world) get(path string) *servertest.Response {
	w.t.Helper()
	return w.app.DoWith("GET", path, nil, w.cookie())
}

// post submits a form as the owner, with the CSRF token.
func (w *world) post(path string, form url.Values) *servertest.Response {
	w.t.Helper()
	f := url.Values{"csrf": {w.csrf}}
	for k, v := range form {
		f[k] = v
	}
	return w.app.DoWith("POST", path, f, w.cookie())
}

// mustPost fails the test unless the POST redirects to a path starting with to.
func (w *world) mustPost(path string, form url.Values, to string) string {
	w.t.Helper()
	r := w.post(path, form)
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, to) {
		w.t.Fatalf("POST %s: %d %s, want a redirect to %s: %s", path, r.Status, loc, to, excerpt(r.Body))
	}
	return loc
}

func (w *world) mustGet(path string) string {
	w.t.Helper()
	r := w.get(path)
	if r.Status != http.StatusOK {
		w.t.Fatalf("GET %s: %d: %s", path, r.Status, excerpt(r.Body))
	}
	return string(r.Body)
}

func (w *world) campaign(id int64) *outreach.Campaign {
	w.t.Helper()
	c, err := w.app.Outreach.Campaign(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

var campaignLoc = regexp.MustCompile(`^/admin/outreach/campaigns/(\d+)\?`)

// compose creates a campaign to every active vendor through the form and returns its id.
func (w *world) compose(name string) int64 {
	w.t.Helper()
	loc := w.mustPost("/admin/outreach/new", composeForm(name, `<p>Hello {{.Name}}, your link: <a href="{{.ReferralURL}}">{{.ReferralURL}}</a></p>`), "/admin/outreach/campaigns/")
	m := campaignLoc.FindStringSubmatch(loc)
	if m == nil {
		w.t.Fatalf("redirect to %s", loc)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func composeForm(name, html string) url.Values {
	return url.Values{"name": {name}, "subject": {"A partnership, {{.Name}}"}, "html": {html},
		"status": {"active"}, "from_name": {"Shop team"}, "reply_to": {"team@example.com"}, "utm_content": {"1"}}
}

// excerpt shortens a body for a failure message, keeping the page's error.
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

// pageError is the page-level error message of a page, "" when none.
func pageError(body []byte) string {
	m := regexp.MustCompile(`(?s)id="page-error">(.*?)</p>`).FindSubmatch(body)
	if m == nil {
		return ""
	}
	return string(m[1])
}
