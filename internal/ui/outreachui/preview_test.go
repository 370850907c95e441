package outreachui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/outreach"
)

// TestPreview: the console's preview shows every vendor's own email, is
// served with the preview policy (sandboxed srcdoc frames, no script), and
// a shareable link is shown once and opens the same preview signed out.
func TestPreview(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, "--workers=false")
		id := w.compose("Autumn")
		c := "/admin/outreach/campaigns/" + strconv.FormatInt(id, 10)

		r := w.get(c + "/preview")
		if r.Status != http.StatusOK {
			t.Fatalf("preview: %d", r.Status)
		}
		if csp := r.Header.Get("Content-Security-Policy"); csp != outreach.PageCSP {
			t.Errorf("preview CSP %q", csp)
		}
		body := string(r.Body)
		for _, v := range w.vendors {
			if !strings.Contains(body, `id="recipient-`+strconv.FormatInt(v.ID, 10)+`"`) || !strings.Contains(body, "/r/"+v.Code+"?utm_content=autumn") {
				t.Errorf("the preview has no email for %s with its own link", v.Email)
			}
		}
		if strings.Contains(body, "Bakery <Bee>") || !strings.Contains(body, `sandbox=""`) {
			t.Error("the preview does not escape names or does not sandbox frames")
		}

		// A shareable link: on the page once, not afterwards, and it works signed out.
		page := w.post(c+"/preview-link", nil)
		m := regexp.MustCompile(`<code class="url">([^<]+)</code>`).FindStringSubmatch(string(page.Body))
		if page.Status != http.StatusOK || m == nil {
			t.Fatalf("preview link: %d %s", page.Status, excerpt(page.Body))
		}
		link, err := url.Parse(m[1])
		if err != nil || !strings.HasPrefix(link.Path, "/preview/") {
			t.Fatalf("preview link %q", m[1])
		}
		if strings.Contains(w.mustGet(c), link.Path) {
			t.Error("the preview link is shown again")
		}
		shared := w.app.DoWith("GET", link.Path, nil, http.Header{})
		if shared.Status != http.StatusOK || !strings.Contains(string(shared.Body), "rossi@example.com") {
			t.Errorf("the shared link: %d", shared.Status)
		}
	})
}

// TestTasksByHand: a task made on the board appears with its owner and
// priority, a bad one is refused with the reason, and a card can be moved
// to done, leaving the board.
func TestTasksByHand(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, "--workers=false")
		r := w.post("/admin/tasks", url.Values{"title": {"Sign the contract"}, "priority": {"whenever"}})
		if r.Status != http.StatusBadRequest || !strings.Contains(pageError(r.Body), "priority") || !strings.Contains(string(r.Body), "Sign the contract") {
			t.Fatalf("bad priority: %d %q", r.Status, pageError(r.Body))
		}
		w.mustPost("/admin/tasks", url.Values{"title": {"Sign the contract"}, "owner": {"ann@example.com"}, "priority": {"urgent"},
			"due_date": {"2030-02-01"}, "link": {"https://example.com/contract"}}, "/admin/tasks?done=task")
		board := w.mustGet("/admin/tasks")
		card := regexp.MustCompile(`(?s)data-task="(\d+)">.*?</li>`).FindStringSubmatch(board)
		if card == nil || !strings.Contains(card[0], "Sign the contract") || !strings.Contains(card[0], "ann@example.com") ||
			!strings.Contains(card[0], "urgent") || !strings.Contains(card[0], `href="https://example.com/contract"`) {
			t.Fatalf("no card: %s", excerpt([]byte(board)))
		}
		w.mustPost("/admin/tasks/"+card[1], url.Values{"status": {"done"}}, "/admin/tasks?done=updated")
		if strings.Contains(w.mustGet("/admin/tasks"), `data-task="`) {
			t.Error("a done task is still on the board")
		}
		if !strings.Contains(w.mustGet("/admin/tasks?status=all"), "Sign the contract") {
			t.Error("a done task is not listed among all tasks")
		}
	})
}
