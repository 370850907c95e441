package outreachui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/outreach"
	"affiliated/internal/ui/admin"
)

// TestAccess: every page needs an owner's session (an affiliate's is not
// one), every POST needs the CSRF token, and a refused POST changes nothing.
func TestAccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, "--workers=false")
		id := w.compose("Spring")
		c := "/admin/outreach/campaigns/" + strconv.FormatInt(id, 10)
		pages := map[string]string{
			"/admin/outreach":     "Spring",
			"/admin/outreach/new": "Save the draft",
			c:                     "Submit for review",
			c + "/preview":        "rossi@example.com",
			"/admin/tasks":        "New task",
		}
		aff, _, err := (&auth.Sessions{DB: d}).Create(context.Background(), auth.KindAffiliate, w.vendors[0].ID, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		for path, want := range pages {
			for _, h := range []http.Header{{}, {"Cookie": {admin.Cookie + "=" + aff}}} {
				r := w.app.DoWith("GET", path, nil, h)
				if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
					t.Errorf("GET %s without an owner (%v): %d %s", path, h, r.Status, r.Header.Get("Location"))
				}
			}
			if body := w.mustGet(path); !strings.Contains(body, want) {
				t.Errorf("GET %s: no %q in %s", path, want, excerpt([]byte(body)))
			}
		}
		// The console's navigation shows the pages.
		body := w.mustGet("/admin/")
		for _, want := range []string{`href="/admin/outreach"`, `href="/admin/tasks"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the console's nav has no %s", want)
			}
		}
		posts := map[string]url.Values{
			"/admin/outreach/new":  composeForm("Other", "<p>{{.Name}}</p>"),
			c:                      composeForm("Renamed", "<p>{{.Name}}</p>"),
			c + "/submit":          {"approver": {"ann@example.com"}},
			c + "/approve":         {},
			c + "/request-changes": {"comment": {"no"}},
			c + "/send":            {},
			c + "/preview-link":    {},
			"/admin/tasks":         {"title": {"By hand"}},
		}
		for path, form := range posts {
			r := w.app.DoWith("POST", path, form, w.cookie()) // no csrf
			if r.Status != http.StatusForbidden {
				t.Errorf("POST %s without CSRF: %d", path, r.Status)
			}
			r = w.app.DoWith("POST", path, form, http.Header{})
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
				t.Errorf("POST %s signed out: %d %s", path, r.Status, r.Header.Get("Location"))
			}
		}
		got := w.campaign(id)
		if got.Name != "Spring" || got.State != outreach.StateDraft {
			t.Errorf("after refused POSTs: %q %s", got.Name, got.State)
		}
		list, _ := w.app.Outreach.Campaigns(context.Background(), outreach.CampaignFilter{})
		tasks, _ := w.app.Outreach.Tasks(context.Background(), outreach.TaskFilter{Status: "all"})
		if len(list) != 1 || len(tasks) != 0 {
			t.Errorf("after refused POSTs: %d campaigns, %d tasks", len(list), len(tasks))
		}
		for _, path := range []string{"/admin/outreach/campaigns/999999", "/admin/outreach/campaigns/abc", "/admin/outreach/campaigns/999999/preview"} {
			if r := w.get(path); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, r.Status)
			}
		}
	})
}

// TestWorkflowButtons walks a campaign through the buttons: an unknown field
// refused at save, submit (a task card appears), request changes, edit,
// submit, approve from the task board, send; sending from any state but
// approved answers 409 with the reason on the page and changes nothing.
func TestWorkflowButtons(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, "--workers=false")
		// An unknown field is an error at save time, with what was typed kept.
		r := w.post("/admin/outreach/new", composeForm("Bad", "<p>{{.Nmae}}</p>"))
		if r.Status != http.StatusBadRequest || !strings.Contains(pageError(r.Body), "Nmae") || !strings.Contains(string(r.Body), "{{.Nmae}}") {
			t.Fatalf("unknown field: %d %q", r.Status, pageError(r.Body))
		}

		id := w.compose("Spring wine list")
		c := "/admin/outreach/campaigns/" + strconv.FormatInt(id, 10)
		send := func(want int) {
			t.Helper()
			before := w.campaign(id).State
			r := w.post(c+"/send", nil)
			if r.Status != want {
				t.Fatalf("send in %s: %d, want %d: %s", before, r.Status, want, excerpt(r.Body))
			}
			if want == http.StatusConflict {
				if msg := pageError(r.Body); msg == "" || !strings.Contains(string(r.Body), `id="workflow"`) {
					t.Errorf("send in %s: the page says %q", before, msg)
				}
				if after := w.campaign(id).State; after != before {
					t.Errorf("a refused send moved %s to %s", before, after)
				}
			}
		}
		send(http.StatusConflict) // draft

		// Submit without an approver: 400 on the page.
		if r := w.post(c+"/submit", url.Values{"approver": {""}}); r.Status != http.StatusBadRequest || !strings.Contains(pageError(r.Body), "approver") {
			t.Errorf("submit without approver: %d %q", r.Status, pageError(r.Body))
		}
		w.mustPost(c+"/submit", url.Values{"approver": {"ann@example.com"}, "priority": {"high"}, "due_date": {"2030-01-31"}}, c+"?done=submitted")
		if got := w.campaign(id); got.State != outreach.StateInReview || got.Approver != "ann@example.com" || got.Priority != "high" || got.DueDate != "2030-01-31" {
			t.Fatalf("submitted: %+v", got)
		}
		send(http.StatusConflict) // in review
		board := w.mustGet("/admin/tasks")
		if !strings.Contains(board, `data-campaign="`+strconv.FormatInt(id, 10)+`"`) || !strings.Contains(board, c+"/preview") || !strings.Contains(board, "ann@example.com") {
			t.Fatalf("the board has no card for the campaign: %s", board)
		}

		w.mustPost(c+"/request-changes", url.Values{"comment": {"Say which wines"}}, c+"?done=changes")
		if got := w.campaign(id); got.State != outreach.StateChangesRequested {
			t.Fatalf("after request changes: %s", got.State)
		}
		if page := w.mustGet(c); !strings.Contains(page, "Say which wines") {
			t.Error("the history does not show the comment")
		}
		if strings.Contains(w.mustGet("/admin/tasks"), `data-campaign="`) {
			t.Error("a decided campaign is still on the board")
		}
		w.mustPost(c, composeForm("Spring wine list", `<p>Hi {{.Name}}: <a href="{{.ReferralURL}}">our reds</a></p>`), c+"?done=saved")
		w.mustPost(c+"/submit", url.Values{"approver": {"ann@example.com"}}, c)

		// Approve from the task board: back to the board.
		w.mustPost(c+"/approve", url.Values{"back": {"tasks"}, "comment": {"Lovely"}}, "/admin/tasks?done=approved")
		if got := w.campaign(id); got.State != outreach.StateApproved || got.ApprovedBy != "owner:boss@example.com" {
			t.Fatalf("approved: %s by %q", got.State, got.ApprovedBy)
		}
		if r := w.post(c+"/approve", nil); r.Status != http.StatusConflict || pageError(r.Body) == "" {
			t.Errorf("approving twice: %d %q", r.Status, pageError(r.Body))
		}

		w.mustPost(c+"/send", nil, c+"?done=sending")
		send(http.StatusConflict) // sending: never twice
		page := w.mustGet(c)
		for _, v := range w.vendors {
			if !regexp.MustCompile(`(?s)data-affiliate="` + strconv.FormatInt(v.ID, 10) + `">.*?badge queued`).MatchString(page) {
				t.Errorf("no queued status for %s", v.Email)
			}
		}
		if !strings.Contains(page, `id="progress">0 sent, 0 failed, 2 queued of 2.`) {
			t.Errorf("no progress on the page")
		}
		if strings.Contains(page, `id="compose"`) {
			t.Error("a campaign being sent can still be edited")
		}
		if list := w.mustGet("/admin/outreach"); !strings.Contains(list, "2 queued of 2") {
			t.Error("the list does not show the progress")
		}
	})
}
