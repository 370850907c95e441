package outreachui

import (
	"net/http"
	"strconv"
	"strings"

	"affiliated/internal/auth"
	"affiliated/internal/outreach"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// listData is what the campaign list shows.
type listData struct {
	Campaigns []*outreach.Campaign
	State     string
	States    []string
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	state := r.URL.Query().Get("state")
	list, err := p.cfg.Outreach.Campaigns(r.Context(), outreach.CampaignFilter{State: state, Limit: 500})
	if err != nil {
		return err
	}
	return p.surface.Render(w, r, http.StatusOK, "campaigns", &ui.View{Title: "Outreach", Active: "outreach", Flash: flash(r),
		Data: listData{Campaigns: list, State: state, States: outreach.States}})
}

// formData is what the compose page shows: the form, and for a saved
// campaign its workflow, history and delivery.
type formData struct {
	Campaign    *outreach.Campaign // nil for a new one
	Content     outreach.Content
	Chosen      map[int64]bool
	Programs    []*program.Program
	Affiliates  []*program.Affiliate
	Statuses    []string
	Priorities  []string
	Transitions []outreach.Transition
	Recipients  []outreach.RecipientStatus
	Progress    outreach.Progress
	Link        *outreach.PreviewLink // a preview link just made: shown once
}

// Editable reports whether the form may be saved (a campaign being sent
// or sent is final).
func (d *formData) Editable() bool {
	return d.Campaign == nil || (d.Campaign.State != outreach.StateSending && d.Campaign.State != outreach.StateSent)
}

// load fills the form's choices (programs, affiliates) and, for a saved
// campaign, its history and recipients.
func (p *Pages) load(r *http.Request, d *formData) error {
	ctx := r.Context()
	var err error
	if d.Programs, err = p.cfg.Programs.Programs(ctx); err != nil {
		return err
	}
	if d.Affiliates, err = p.cfg.Programs.Affiliates(ctx, program.AffiliateFilter{Limit: 1000}); err != nil {
		return err
	}
	d.Statuses = []string{program.StatusActive, program.StatusPending, program.StatusSuspended, program.StatusRejected}
	d.Priorities = outreach.Priorities
	d.Chosen = map[int64]bool{}
	for _, id := range d.Content.Recipients.AffiliateIDs {
		d.Chosen[id] = true
	}
	if d.Campaign == nil {
		return nil
	}
	if d.Transitions, err = p.cfg.Outreach.Transitions(ctx, d.Campaign.ID); err != nil {
		return err
	}
	if d.Campaign.State == outreach.StateSending || d.Campaign.State == outreach.StateSent {
		if d.Recipients, d.Progress, err = p.cfg.Outreach.Recipients(ctx, d.Campaign.ID); err != nil {
			return err
		}
	}
	return nil
}

// show renders a campaign's page with status, an error message and a new
// preview link; the form shows what the campaign holds.
func (p *Pages) show(w http.ResponseWriter, r *http.Request, id int64, status int, msg, done string, link *outreach.PreviewLink) error {
	c, err := p.cfg.Outreach.Campaign(r.Context(), id)
	if err != nil {
		return err
	}
	d := &formData{Campaign: c, Content: c.Content, Link: link}
	if err := p.load(r, d); err != nil {
		return err
	}
	return p.surface.Render(w, r, status, "campaign", &ui.View{Title: c.Name, Active: "outreach", Error: msg,
		Flash: flashes[done], Data: d})
}

func (p *Pages) newCampaign(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	d := &formData{Content: outreach.Content{Recipients: outreach.Recipients{Status: program.StatusActive}}}
	if err := p.load(r, d); err != nil {
		return err
	}
	return p.surface.Render(w, r, http.StatusOK, "campaign", &ui.View{Title: "New campaign", Active: "outreach", Data: d})
}

func (p *Pages) campaign(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return p.show(w, r, id, http.StatusOK, "", r.URL.Query().Get("done"), nil)
}

// content decodes the compose form.
func content(r *http.Request) outreach.Content {
	f := r.PostForm
	c := outreach.Content{
		Name: strings.TrimSpace(f.Get("name")), Slug: strings.TrimSpace(f.Get("slug")),
		Subject: f.Get("subject"), HTML: f.Get("html"), Text: f.Get("text"),
		FromName: strings.TrimSpace(f.Get("from_name")), ReplyTo: strings.TrimSpace(f.Get("reply_to")),
		UTMContent: f.Get("utm_content") != "",
	}
	c.Recipients.ProgramID, _ = strconv.ParseInt(f.Get("program"), 10, 64)
	c.Recipients.Status = f.Get("status")
	for _, v := range f["affiliates"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			c.Recipients.AffiliateIDs = append(c.Recipients.AffiliateIDs, id)
		}
	}
	return c
}

// formFailed shows the form again with what was typed and why it was refused
// (an unknown template field, say: refused at save time, not at send time).
func (p *Pages) formFailed(w http.ResponseWriter, r *http.Request, c *outreach.Campaign, typed outreach.Content, err error) error {
	status, msg, fatal := formError(err)
	if fatal != nil {
		return fatal
	}
	d := &formData{Campaign: c, Content: typed}
	if err := p.load(r, d); err != nil {
		return err
	}
	title := "New campaign"
	if c != nil {
		title = c.Name
	}
	return p.surface.Render(w, r, status, "campaign", &ui.View{Title: title, Active: "outreach", Error: msg, Data: d})
}

func (p *Pages) create(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	typed := content(r)
	c, err := p.cfg.Outreach.Create(r.Context(), typed)
	if err != nil {
		return p.formFailed(w, r, nil, typed, err)
	}
	return redirect(w, r, campaignPath(c.ID), "created")
}

func (p *Pages) save(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	typed := content(r)
	if _, err := p.cfg.Outreach.Update(r.Context(), id, typed); err != nil {
		c, cerr := p.cfg.Outreach.Campaign(r.Context(), id)
		if cerr != nil {
			return cerr
		}
		return p.formFailed(w, r, c, typed, err)
	}
	return redirect(w, r, campaignPath(id), "saved")
}
