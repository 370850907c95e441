// Package outreachui is the console's vendor outreach pages: the campaign
// list, the compose form, every recipient's preview, the approval workflow
// (submit, approve, request changes, send), per-recipient delivery status,
// shareable preview links and the task board (/admin/tasks).
//
// The pages live under /admin and share the console's sign-in (admin.Console.Page:
// an owner's session, CSRF on every POST) and its layout and navigation
// (a Surface copying the console's, with this package's own renderer).
// Pages only decode forms, call internal/outreach and render.
package outreachui

import (
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/httpx"
	"affiliated/internal/outreach"
	"affiliated/internal/program"
	"affiliated/internal/ui"
	"affiliated/internal/ui/admin"
)

//go:embed templates/*.html
var templates embed.FS

// Nav is what the console's navigation gains (admin.Config.Nav).
var Nav = []ui.NavItem{
	{Key: "outreach", Label: "Outreach", Href: admin.Prefix + "/outreach"},
	{Key: "tasks", Label: "Tasks", Href: admin.Prefix + "/tasks"},
}

// Config is what New needs.
type Config struct {
	Console  *admin.Console // sign-in, layout and navigation
	Outreach *outreach.Service
	Programs *program.Store
	Log      *slog.Logger
}

// Pages serves the outreach pages.
type Pages struct {
	cfg     Config
	surface *ui.Surface
}

// New parses the templates and builds the pages.
func New(cfg Config) (*Pages, error) {
	if cfg.Console == nil || cfg.Outreach == nil || cfg.Programs == nil {
		return nil, errors.New("outreachui: Console, Outreach and Programs are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r, err := ui.NewRenderer(templates, "templates/*.html", nil)
	if err != nil {
		return nil, err
	}
	// Surface.Render can only use its own renderer: copy the console's
	// surface and swap the renderer in, so the layout and nav are the same.
	s := *cfg.Console.Surface()
	s.Renderer = r
	return &Pages{cfg: cfg, surface: &s}, nil
}

// Routes registers the pages on mux (after the console's, which serves
// everything else under /admin).
func (p *Pages) Routes(mux *http.ServeMux) {
	page := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, me *auth.Owner) error) {
		mux.Handle(pattern, p.cfg.Console.Page(fn))
	}
	const c = admin.Prefix + "/outreach/campaigns/{id}"
	page("GET "+admin.Prefix+"/outreach", p.list)
	page("GET "+admin.Prefix+"/outreach/new", p.newCampaign)
	page("POST "+admin.Prefix+"/outreach/new", p.create)
	page("GET "+c, p.campaign)
	page("POST "+c, p.save)
	page("GET "+c+"/preview", p.preview)
	page("POST "+c+"/submit", p.submit)
	page("POST "+c+"/approve", p.decide("approve"))
	page("POST "+c+"/request-changes", p.decide("request-changes"))
	page("POST "+c+"/send", p.send)
	page("POST "+c+"/preview-link", p.previewLink)
	page("GET "+admin.Prefix+"/tasks", p.tasks)
	page("POST "+admin.Prefix+"/tasks", p.createTask)
	page("POST "+admin.Prefix+"/tasks/{id}", p.updateTask)
}

// flashes are the messages a redirect may carry (?done=word), so that a
// link cannot put arbitrary text on a page.
var flashes = map[string]string{
	"created":   "Campaign saved as a draft.",
	"saved":     "Campaign saved.",
	"submitted": "Submitted for review.",
	"approved":  "Campaign approved.",
	"changes":   "Changes requested.",
	"sending":   "Sending: each recipient gets one message.",
	"task":      "Task added.",
	"updated":   "Task updated.",
}

func flash(r *http.Request) string { return flashes[r.URL.Query().Get("done")] }

func redirect(w http.ResponseWriter, r *http.Request, to, done string) error {
	if done != "" {
		to += "?done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// pathID reads the {id} of a path; anything but a positive number is not found.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.NotFound("page")
	}
	return id, nil
}

// formError splits a domain error into what a page shows (status and
// message) and what goes to the error page (404 and 5xx, returned as fatal).
func formError(err error) (status int, msg string, fatal error) {
	st, e := httpx.Classify(err)
	if st >= 500 || st == http.StatusNotFound {
		return 0, "", err
	}
	msg = e.Message
	if e.Field != "" && !strings.HasPrefix(msg, e.Field) {
		msg = e.Field + ": " + msg
	}
	return st, msg, nil
}

func campaignPath(id int64) string {
	return admin.Prefix + "/outreach/campaigns/" + strconv.FormatInt(id, 10)
}
