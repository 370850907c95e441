package outreachui

import (
	"bytes"
	"net/http"
	"strings"

	"affiliated/internal/auth"
	"affiliated/internal/outreach"
	"affiliated/internal/ui/admin"
)

// after is where a workflow button leads once it worked: back to the task
// board when pressed there, otherwise to the campaign.
func after(r *http.Request, id int64) string {
	if r.PostForm.Get("back") == "tasks" {
		return admin.Prefix + "/tasks"
	}
	return campaignPath(id)
}

// refused shows the campaign page with why an action was refused: a 409
// (not possible in the campaign's state) or a 400 (a missing approver…).
func (p *Pages) refused(w http.ResponseWriter, r *http.Request, id int64, err error) error {
	status, msg, fatal := formError(err)
	if fatal != nil {
		return fatal
	}
	return p.show(w, r, id, status, msg, "", nil)
}

func (p *Pages) submit(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	rev := outreach.Review{Approver: f.Get("approver"), Priority: f.Get("priority"), DueDate: f.Get("due_date"), Comment: f.Get("comment")}
	if _, err := p.cfg.Outreach.Submit(r.Context(), id, rev); err != nil {
		return p.refused(w, r, id, err)
	}
	return redirect(w, r, after(r, id), "submitted")
}

// decide is approve or request-changes.
func (p *Pages) decide(action string) func(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	return func(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		comment := strings.TrimSpace(r.PostForm.Get("comment"))
		done := "approved"
		if action == "approve" {
			_, err = p.cfg.Outreach.Approve(r.Context(), id, comment)
		} else {
			_, err = p.cfg.Outreach.RequestChanges(r.Context(), id, comment)
			done = "changes"
		}
		if err != nil {
			return p.refused(w, r, id, err)
		}
		return redirect(w, r, after(r, id), done)
	}
}

func (p *Pages) send(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := p.cfg.Outreach.Send(r.Context(), id); err != nil {
		return p.refused(w, r, id, err)
	}
	return redirect(w, r, campaignPath(id), "sending")
}

// previewLink makes a shareable link and shows it on the campaign's page,
// this once: only its hash is kept.
func (p *Pages) previewLink(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	link, err := p.cfg.Outreach.CreatePreviewLink(r.Context(), id, 0)
	if err != nil {
		return p.refused(w, r, id, err)
	}
	return p.show(w, r, id, http.StatusOK, "", "", link)
}

// preview is every recipient's email, rendered by the domain's own page:
// emails sit in sandboxed srcdoc frames with inline styles, which the
// console's policy forbids, so the page is served with outreach.PageCSP
// (no script, no frame may navigate) instead of inside the layout.
func (p *Pages) preview(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	page, err := p.cfg.Outreach.PreviewPage(r.Context(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := outreach.WritePage(&buf, page); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", outreach.PageCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write(buf.Bytes())
	return err
}
