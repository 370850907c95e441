package api_test

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/server/servertest"
)

// campaignJSON is a campaign as the API shows it.
type campaignJSON struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Slug       string `json:"slug"`
	Subject    string `json:"subject"`
	State      string `json:"state"`
	Approver   string `json:"approver"`
	ApprovedBy string `json:"approved_by"`
	Progress   *struct {
		Total, Queued, Sent, Failed int
	} `json:"progress"`
	Transitions []struct {
		Actor, From, To, Comment string
	} `json:"transitions"`
}

type taskJSON struct {
	ID         int64  `json:"id"`
	Title      string `json:"title"`
	Kind       string `json:"kind"`
	CampaignID *int64 `json:"campaign_id"`
	Owner      string `json:"owner"`
	Priority   string `json:"priority"`
	Status     string `json:"status"`
	Link       string `json:"link"`
}

func cid(id int64) string { return "/api/v1/outreach/campaigns/" + itoa(id) }

// vendors creates a program and one affiliate per name, returning their ids.
func vendors(t *testing.T, app *servertest.App, names ...string) (programID int64, ids []int64, codes []string) {
	t.Helper()
	p := newProgram(t, app, "partners")
	for i, n := range names {
		var a affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates", map[string]any{
			"program_id": p.ID, "name": n, "email": "vendor" + itoa(int64(i+1)) + "@shops.example",
		}, &a)
		ids = append(ids, a.ID)
		codes = append(codes, a.Code)
	}
	return p.ID, ids, codes
}

func newCampaign(programID int64, name string) map[string]any {
	return map[string]any{
		"name":        name,
		"subject":     "Partner with us, {{.Name}}",
		"html":        `<p>Dear {{.Name}},</p><p>Send guests with <a href="{{.ReferralURL}}">your link</a>.</p>`,
		"recipients":  map[string]any{"program_id": programID},
		"from_name":   "Trattoria Owner",
		"reply_to":    "owner@trattoria.example",
		"utm_content": true,
	}
}

// waitState polls a campaign until it reaches state; the bound only stops a
// hang.
func waitState(t *testing.T, app *servertest.App, id int64, state string) campaignJSON {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var c campaignJSON
		app.MustDo(http.StatusOK, "GET", cid(id), nil, &c)
		if c.State == state {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d is %s, waited for %s", id, c.State, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOutreachFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		smtp := smtptest.Start(t)
		app := servertest.Start(t, d, "--smtp", smtp.URL(), "--mail-from", "hello@trattoria.example")
		prog, ids, codes := vendors(t, app, "Solare Wines", "<b>Forno</b> Rosso")

		// An unknown field is refused at save time, naming the part.
		bad := newCampaign(prog, "Bad")
		bad["html"] = "<p>{{.Nickname}}</p>"
		wantError(t, app.Do("POST", "/api/v1/outreach/campaigns", bad), http.StatusBadRequest, "invalid", "html")

		var c campaignJSON
		app.MustDo(http.StatusCreated, "POST", "/api/v1/outreach/campaigns", newCampaign(prog, "Spring 2027"), &c)
		if c.State != "draft" || c.Slug != "spring-2027" {
			t.Fatalf("created %+v", c)
		}
		app.MustDo(http.StatusOK, "PATCH", cid(c.ID), map[string]any{"subject": "A partnership for {{.Name}}"}, &c)
		if c.Subject != "A partnership for {{.Name}}" || c.Name != "Spring 2027" {
			t.Fatalf("patched %+v", c)
		}
		wantError(t, app.Do("PATCH", cid(c.ID), map[string]any{"state": "approved"}), http.StatusBadRequest, "invalid", "state")
		wantError(t, app.Do("PATCH", cid(c.ID), map[string]any{"html": "{{.Nope}}"}), http.StatusBadRequest, "invalid", "html")

		// The preview shows every vendor's email.
		r := app.MustDo(http.StatusOK, "GET", cid(c.ID)+"/preview", nil, nil)
		checkPreview(t, r, codes)

		wantError(t, app.Do("POST", cid(c.ID)+"/submit", map[string]any{}), http.StatusBadRequest, "invalid", "approver")
		app.MustDo(http.StatusOK, "POST", cid(c.ID)+"/submit",
			map[string]any{"approver": "ann@trattoria.example", "priority": "high", "due_date": "2027-03-01"}, &c)
		var board struct{ Data []taskJSON }
		app.MustDo(http.StatusOK, "GET", "/api/v1/tasks", nil, &board)
		if len(board.Data) != 1 || board.Data[0].Kind != "campaign_review" || board.Data[0].Owner != "ann@trattoria.example" ||
			board.Data[0].Priority != "high" || *board.Data[0].CampaignID != c.ID ||
			board.Data[0].Link != app.URL+"/admin/outreach/campaigns/"+itoa(c.ID)+"/preview" {
			t.Fatalf("board %+v", board.Data)
		}
		wantError(t, app.Do("POST", cid(c.ID)+"/send", nil), http.StatusConflict, "wrong_state", "state")
		app.MustDo(http.StatusOK, "POST", cid(c.ID)+"/approve", nil, &c) // no body needed
		if c.State != "approved" || c.ApprovedBy != "token:test" {
			t.Fatalf("approved %+v", c)
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/tasks", nil, &board)
		if len(board.Data) != 0 {
			t.Fatalf("board after approval %+v", board.Data)
		}

		app.MustDo(http.StatusAccepted, "POST", cid(c.ID)+"/send", nil, &c)
		if c.State != "sending" && c.State != "sent" {
			t.Fatalf("after send: %+v", c)
		}
		wantError(t, app.Do("POST", cid(c.ID)+"/send", nil), http.StatusConflict, "wrong_state", "state")
		c = waitState(t, app, c.ID, "sent")
		if c.Progress == nil || c.Progress.Total != 2 || c.Progress.Sent != 2 {
			t.Fatalf("progress %+v", c.Progress)
		}
		wantError(t, app.Do("POST", cid(c.ID)+"/send", nil), http.StatusConflict, "wrong_state", "state")
		msgs := smtp.Messages()
		if len(msgs) != 2 {
			t.Fatalf("%d messages, want 2", len(msgs))
		}
		seen := map[string]bool{}
		for _, m := range msgs {
			i := -1
			for k := range ids {
				if m.To[0] == "vendor"+itoa(int64(k+1))+"@shops.example" {
					i = k
				}
			}
			if i < 0 || seen[m.To[0]] {
				t.Fatalf("message to %v", m.To)
			}
			seen[m.To[0]] = true
			link := app.URL + "/r/" + codes[i] + "?utm_content=spring-2027"
			if m.ContentType != "multipart/alternative" || !strings.Contains(m.HTML, link) || !strings.Contains(m.Text, link) {
				t.Errorf("message to %s: %s\n%s\n%s", m.To[0], m.ContentType, m.HTML, m.Text)
			}
			if m.Header.Get("From") != `"Trattoria Owner" <hello@trattoria.example>` {
				t.Errorf("From %q", m.Header.Get("From"))
			}
		}
		var rec struct {
			Data []struct {
				AffiliateID int64  `json:"affiliate_id"`
				Status      string `json:"status"`
			}
			Progress struct{ Total, Sent int }
		}
		app.MustDo(http.StatusOK, "GET", cid(c.ID)+"/recipients", nil, &rec)
		if len(rec.Data) != 2 || rec.Data[0].Status != "sent" || rec.Progress.Sent != 2 {
			t.Fatalf("recipients %+v", rec)
		}
		var list struct{ Data []campaignJSON }
		app.MustDo(http.StatusOK, "GET", "/api/v1/outreach/campaigns?state=sent", nil, &list)
		if len(list.Data) != 1 || list.Data[0].ID != c.ID {
			t.Fatalf("list %+v", list)
		}
		var got campaignJSON
		app.MustDo(http.StatusOK, "GET", cid(c.ID), nil, &got)
		var path []string
		for _, tr := range got.Transitions {
			path = append(path, tr.From+">"+tr.To)
		}
		if strings.Join(path, " ") != "draft>in_review in_review>approved approved>sending sending>sent" {
			t.Errorf("transitions %v", path)
		}
		wantError(t, app.Do("PATCH", cid(c.ID), map[string]any{"name": "Too late"}), http.StatusConflict, "wrong_state", "state")
		wantError(t, app.Do("GET", cid(999), nil), http.StatusNotFound, "not_found", "")
		wantError(t, app.Do("POST", cid(999)+"/approve", nil), http.StatusNotFound, "not_found", "")
	})
}

var frameRe = regexp.MustCompile(`<iframe sandbox="" [^>]*srcdoc="([^"]*)"></iframe>`)

// checkPreview checks a preview page: strict headers, one sandboxed frame
// per vendor holding its own link, the text part, no script of ours.
func checkPreview(t *testing.T, r *servertest.Response, codes []string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q", ct)
	}
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src") && !strings.Contains(csp, "script-src 'none'") {
		t.Errorf("CSP %q allows scripts", csp)
	}
	if r.Header.Get("Referrer-Policy") != "no-referrer" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", r.Header)
	}
	page := string(r.Body)
	frames := frameRe.FindAllStringSubmatch(page, -1)
	if len(frames) != len(codes) {
		t.Fatalf("%d sandboxed frames, want %d:\n%s", len(frames), len(codes), page)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "<b>Forno</b>") {
		t.Errorf("page holds markup it should have escaped:\n%s", page)
	}
	for i, code := range codes {
		doc := html.UnescapeString(frames[i][1])
		if !strings.Contains(doc, "/r/"+code+"?utm_content=") {
			t.Errorf("frame %d lacks %s's link: %s", i, code, doc)
		}
	}
	if n := strings.Count(page, `<pre class="text">`); n != len(codes) {
		t.Errorf("%d text parts, want %d", n, len(codes))
	}
}

func TestOutreachPreviewLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		prog, _, codes := vendors(t, app, "Solare Wines", "Forno Rosso")
		var c campaignJSON
		app.MustDo(http.StatusCreated, "POST", "/api/v1/outreach/campaigns", newCampaign(prog, "Spring"), &c)
		var link struct {
			URL       string    `json:"url"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		app.MustDo(http.StatusCreated, "POST", cid(c.ID)+"/preview-links", map[string]any{"expires_in": "2d"}, &link)
		if !strings.HasPrefix(link.URL, app.URL+"/preview/pv_") || time.Until(link.ExpiresAt) > 49*time.Hour || time.Until(link.ExpiresAt) < 47*time.Hour {
			t.Fatalf("link %+v", link)
		}
		wantError(t, app.Do("POST", cid(c.ID)+"/preview-links", map[string]any{"expires_in": "forever"}), http.StatusBadRequest, "invalid", "expires_in")
		path := strings.TrimPrefix(link.URL, app.URL)

		// No sign-in needed.
		r := app.DoWith("GET", path, nil, http.Header{})
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		checkPreview(t, r, codes)
		if !strings.Contains(string(r.Body), "read-only preview") || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("shared page: %v\n%s", r.Header, r.Body)
		}

		// Read-only: no method but GET does anything, and nothing changes.
		var before campaignJSON
		app.MustDo(http.StatusOK, "GET", cid(c.ID), nil, &before)
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			for _, p := range []string{path, path + "/approve", path + "/submit"} {
				r := app.DoWith(m, p, `{"approver":"x","state":"approved"}`, http.Header{"Content-Type": {"application/json"}})
				if r.Status < 400 {
					t.Errorf("%s %s: %d", m, p, r.Status)
				}
			}
		}
		// The token is no API credential either.
		token := strings.TrimPrefix(path, "/preview/")
		wantError(t, app.DoWith("POST", cid(c.ID)+"/approve", nil, bearer(token)), http.StatusUnauthorized, "unauthorized", "")
		var after campaignJSON
		app.MustDo(http.StatusOK, "GET", cid(c.ID), nil, &after)
		if b, a := mustJSON(t, before), mustJSON(t, after); a != b {
			t.Fatalf("changed through the preview link:\n%s\n%s", b, a)
		}

		for _, p := range []string{"/preview/pv_" + strings.Repeat("A", 43), "/preview/x", path + "x"} {
			if r := app.DoWith("GET", p, nil, http.Header{}); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: %d", p, r.Status)
			}
		}
		// Expired: 404 like an unknown link.
		if _, err := d.Q(t.Context()).ExecContext(t.Context(), `update preview_links set expires_at = $1`, time.Now().Add(-time.Minute).UTC()); err != nil {
			t.Fatal(err)
		}
		if r := app.DoWith("GET", path, nil, http.Header{}); r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "Spring") {
			t.Errorf("expired link: %d %s", r.Status, r.Body)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOutreachIllegalTransitions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d) // no SMTP: the dev mailbox settles sends at once
		prog, _, _ := vendors(t, app, "Solare Wines")
		approve := map[string]any{"approver": "ann"}
		steps := map[string][]string{
			"draft": nil, "in_review": {"submit"}, "changes_requested": {"submit", "request-changes"},
			"approved": {"submit", "approve"}, "sending": {"submit", "approve", "send"},
			"sent": {"submit", "approve", "send"},
		}
		body := map[string]any{"submit": approve, "request-changes": map[string]any{"comment": "no"}}
		legal := map[string]string{
			"draft": "submit edit", "in_review": "approve request-changes edit",
			"changes_requested": "submit edit", "approved": "send edit",
		}
		n := 0
		for state, path := range steps {
			for _, action := range []string{"submit", "approve", "request-changes", "send", "edit"} {
				if strings.Contains(" "+legal[state]+" ", " "+action+" ") {
					continue
				}
				n++
				var c campaignJSON
				app.MustDo(http.StatusCreated, "POST", "/api/v1/outreach/campaigns", newCampaign(prog, state+" "+action), &c)
				for _, step := range path {
					app.MustDo(map[bool]int{true: http.StatusAccepted, false: http.StatusOK}[step == "send"],
						"POST", cid(c.ID)+"/"+step, body[step], nil)
				}
				switch state {
				case "sent":
					waitState(t, app, c.ID, "sent")
				case "sending":
					// The dev mailbox may settle it at once; sending or sent, both refuse.
				}
				var before campaignJSON
				app.MustDo(http.StatusOK, "GET", cid(c.ID), nil, &before)
				var r *servertest.Response
				if action == "edit" {
					r = app.Do("PATCH", cid(c.ID), map[string]any{"subject": "Changed {{.Name}}"})
				} else {
					r = app.Do("POST", cid(c.ID)+"/"+action, body[action])
				}
				wantError(t, r, http.StatusConflict, "wrong_state", "state")
				var after campaignJSON
				app.MustDo(http.StatusOK, "GET", cid(c.ID), nil, &after)
				if before.State == "sending" {
					continue // the worker may finish meanwhile; the domain test covers this
				}
				if b, a := mustJSON(t, before), mustJSON(t, after); a != b {
					t.Errorf("%s from %s changed the campaign:\n%s\n%s", action, state, b, a)
				}
			}
		}
		if n != 21 {
			t.Errorf("%d illegal moves tried, want 21", n)
		}
	})
}

func TestTasksAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		var task taskJSON
		app.MustDo(http.StatusCreated, "POST", "/api/v1/tasks",
			map[string]any{"title": "Approve the banner", "owner": "ann", "priority": "urgent", "link": "https://example.com/banner"}, &task)
		if task.Kind != "manual" || task.Status != "open" || task.Priority != "urgent" {
			t.Fatalf("task %+v", task)
		}
		wantError(t, app.Do("POST", "/api/v1/tasks", map[string]any{"title": "x", "link": "javascript:alert(1)"}), http.StatusBadRequest, "invalid", "link")
		wantError(t, app.Do("POST", "/api/v1/tasks", map[string]any{"owner": "ann"}), http.StatusBadRequest, "invalid", "title")
		wantError(t, app.Do("POST", "/api/v1/tasks", map[string]any{"title": "x", "colour": "red"}), http.StatusBadRequest, "invalid", "colour")
		var board struct{ Data []taskJSON }
		app.MustDo(http.StatusOK, "GET", "/api/v1/tasks", nil, &board)
		if len(board.Data) != 1 {
			t.Fatalf("board %+v", board)
		}
		// Send back what was read, with the status changed.
		var full map[string]any
		app.MustDo(http.StatusOK, "GET", "/api/v1/tasks/"+itoa(task.ID), nil, &full)
		full["status"] = "done"
		app.MustDo(http.StatusOK, "PATCH", "/api/v1/tasks/"+itoa(task.ID), full, &task)
		if task.Status != "done" || task.Title != "Approve the banner" {
			t.Fatalf("patched %+v", task)
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/tasks", nil, &board)
		if len(board.Data) != 0 {
			t.Fatalf("board holds a done task: %+v", board)
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/tasks?status=all", nil, &board)
		if len(board.Data) != 1 {
			t.Fatalf("all tasks %+v", board)
		}
		wantError(t, app.Do("GET", "/api/v1/tasks?status=soon", nil), http.StatusBadRequest, "invalid", "status")
		wantError(t, app.Do("PATCH", "/api/v1/tasks/999", map[string]any{"status": "done"}), http.StatusNotFound, "not_found", "")
	})
}

func TestOutreachNeedsToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		for _, rt := range []struct{ method, path string }{
			{"GET", "/api/v1/outreach/campaigns"}, {"POST", "/api/v1/outreach/campaigns"},
			{"GET", cid(1)}, {"PATCH", cid(1)}, {"GET", cid(1) + "/preview"}, {"GET", cid(1) + "/recipients"},
			{"POST", cid(1) + "/submit"}, {"POST", cid(1) + "/approve"}, {"POST", cid(1) + "/request-changes"},
			{"POST", cid(1) + "/send"}, {"POST", cid(1) + "/preview-links"},
			{"GET", "/api/v1/tasks"}, {"POST", "/api/v1/tasks"}, {"GET", "/api/v1/tasks/1"}, {"PATCH", "/api/v1/tasks/1"},
		} {
			wantError(t, app.DoWith(rt.method, rt.path, map[string]string{}, http.Header{}), http.StatusUnauthorized, "unauthorized", "")
		}
	})
}
