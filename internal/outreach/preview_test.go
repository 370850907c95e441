package outreach

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

func TestPreviewLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "Solare Wines")
		c := e.create("Spring")
		e.clock = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

		link, err := e.s.CreatePreviewLink(ctx, c.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		token, ok := strings.CutPrefix(link.URL, base+"/preview/")
		if !ok || !validToken(token) {
			t.Fatalf("link %q", link.URL)
		}
		if !link.ExpiresAt.Equal(e.clock.Add(7 * 24 * time.Hour)) {
			t.Errorf("expires %v, want in 7 days", link.ExpiresAt)
		}
		// Only a hash is stored.
		var stored string
		if err := d.R(ctx).QueryRowContext(ctx, `select token_hash from preview_links`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, token) || stored != hashToken(token) {
			t.Errorf("stored %q for token %q", stored, token)
		}
		// Two links are different.
		other, err := e.s.CreatePreviewLink(ctx, c.ID, time.Hour)
		if err != nil || other.URL == link.URL {
			t.Fatalf("second link %v %v", other, err)
		}

		p, err := e.s.PreviewByToken(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if p.Campaign.ID != c.ID || len(p.Emails) != 1 || !p.Shared || !p.ExpiresAt.Equal(link.ExpiresAt) {
			t.Fatalf("page %+v", p)
		}

		for name, tok := range map[string]string{
			"unknown":   previewPrefix + strings.Repeat("A", 43),
			"malformed": "pv_short",
			"empty":     "",
			"no prefix": strings.TrimPrefix(token, previewPrefix),
			"suffix":    token + "x",
		} {
			if _, err := e.s.PreviewByToken(ctx, tok); !apperr.Is(err, apperr.KindNotFound) {
				t.Errorf("%s token: %v", name, err)
			}
		}

		e.clock = link.ExpiresAt.Add(-time.Second)
		if _, err := e.s.PreviewByToken(ctx, token); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		e.clock = link.ExpiresAt
		if _, err := e.s.PreviewByToken(ctx, token); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("at expiry: %v", err)
		}

		for _, ttl := range []time.Duration{time.Second, 91 * 24 * time.Hour, -time.Hour} {
			if _, err := e.s.CreatePreviewLink(ctx, c.ID, ttl); !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("ttl %v: %v", ttl, err)
			}
		}
		if _, err := e.s.CreatePreviewLink(ctx, 999, 0); !apperr.Is(err, apperr.KindNotFound) {
			t.Errorf("unknown campaign: %v", err)
		}
	})
}

var srcdocRe = regexp.MustCompile(`<iframe sandbox="" [^>]*srcdoc="([^"]*)"></iframe>`)

func TestPreviewPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, `Solare "Wines"`, `<script>alert(1)</script>`)
		in := e.content("Spring")
		in.UTMContent = true
		in.HTML = `<p>Dear {{.Name}},</p><p><a href="{{.ReferralURL}}">Your link</a></p><script>alert("owner")</script>`
		c, err := e.s.Create(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.s.PreviewPage(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WritePage(&b, p); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		frames := srcdocRe.FindAllStringSubmatch(page, -1)
		if len(frames) != 2 {
			t.Fatalf("%d sandboxed frames, want 2:\n%s", len(frames), page)
		}
		// The page itself has no script element and no unescaped name; the
		// email's own markup lives only inside srcdoc, escaped.
		if strings.Contains(page, "<script") {
			t.Errorf("page holds a script element:\n%s", page)
		}
		for i, f := range frames {
			doc := html.UnescapeString(f[1])
			if doc != p.Emails[i].HTML {
				t.Errorf("frame %d srcdoc decodes to\n%s\nwant\n%s", i, doc, p.Emails[i].HTML)
			}
		}
		if !strings.Contains(page, "from Trattoria Owner &lt;owner@go.example.com&gt;") {
			t.Errorf("page does not show the From line")
		}
		for _, v := range e.vendors {
			link := base + "/r/" + v.Code + "?utm_content=spring"
			if !strings.Contains(page, `<pre class="text">`) || !strings.Contains(page, link) {
				t.Errorf("page misses %s's text part or link", v.Email)
			}
			if !strings.Contains(page, html.EscapeString("A partnership for "+v.Name)) {
				t.Errorf("page misses %s's subject", v.Email)
			}
		}
	})
}

func TestTasksByHand(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		task := NewTask()
		task.Title, task.Owner, task.Priority, task.DueDate = "Approve the new banner", "ann", "urgent", "2027-02-01"
		if err := e.s.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		if task.ID == 0 || task.Kind != TaskManual || task.Status != TaskOpen || task.CreatedBy != "test:owner" {
			t.Fatalf("created %+v", task)
		}
		for name, fix := range map[string]func(*Task){
			"no title":     func(t *Task) { t.Title = "" },
			"bad priority": func(t *Task) { t.Priority = "meh" },
			"bad status":   func(t *Task) { t.Status = "later" },
			"bad date":     func(t *Task) { t.DueDate = "tomorrow" },
			"js link":      func(t *Task) { t.Link = "javascript:alert(1)" },
			"proto link":   func(t *Task) { t.Link = "//evil.example/x" },
			"bad campaign": func(t *Task) { id := int64(42); t.CampaignID = &id },
		} {
			bad := NewTask()
			bad.Title = "x"
			fix(bad)
			if err := e.s.CreateTask(ctx, bad); !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
		task.Status, task.Link = TaskDone, "/admin/banners"
		if err := e.s.UpdateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		got, err := e.s.Task(ctx, task.ID)
		if err != nil || got.Status != TaskDone || got.ClosedAt == nil || got.Link != "/admin/banners" {
			t.Fatalf("after update %+v %v", got, err)
		}
		if list, _ := e.s.Tasks(ctx, TaskFilter{}); len(list) != 0 {
			t.Errorf("board holds a done task: %+v", list)
		}
		if list, _ := e.s.Tasks(ctx, TaskFilter{Status: TaskDone, Owner: "ann"}); len(list) != 1 {
			t.Errorf("done tasks of ann: %+v", list)
		}
		task.Status = TaskInProgress
		if err := e.s.UpdateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.s.Task(ctx, task.ID); got.ClosedAt != nil {
			t.Errorf("reopened task keeps closed_at: %+v", got)
		}
		if list, _ := e.s.Tasks(ctx, TaskFilter{}); len(list) != 1 {
			t.Errorf("board: %+v", list)
		}
		if _, err := e.s.Tasks(ctx, TaskFilter{Status: "later"}); !apperr.Is(err, apperr.KindInvalid) {
			t.Errorf("bad status filter: %v", err)
		}
	})
}
