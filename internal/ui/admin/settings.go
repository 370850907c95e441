package admin

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/notify"
	"affiliated/internal/ui"
)

type settingsData struct {
	TZ          string
	Zones       []string
	Tokens      []auth.Token
	NewToken    string // the secret of a token just created: shown once
	NewTokenFor string
	TokenName   string
	Endpoints   []*notify.Endpoint
	NewEndpoint *notify.Endpoint // just created, with its secret: shown once
	Events      []string
	EPURL       string // the endpoint form, kept on error
	EPEvents    []string
	EPDesc      string
	Field       string
	OwnerEmails []string
	MailFrom    string
	DevMailbox  bool
	Owners      []auth.Owner
	Me          string
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request, me *auth.Owner, status int, v *ui.View, d *settingsData) error {
	ctx := r.Context()
	loc, _ := c.location(r)
	d.TZ, d.Zones, d.Events = loc.String(), zones, append([]string{"*"}, notify.Events...)
	d.OwnerEmails, d.MailFrom, d.Me = c.cfg.OwnerEmails, c.cfg.MailFrom, me.Email
	var err error
	if d.Tokens, err = c.cfg.Tokens.List(ctx); err != nil {
		return err
	}
	if c.cfg.Notify != nil {
		d.DevMailbox = c.cfg.Notify.DevMailbox()
		if d.Endpoints, err = c.cfg.Notify.Endpoints(ctx); err != nil {
			return err
		}
	}
	if d.Owners, err = c.cfg.Owners.List(ctx); err != nil {
		return err
	}
	v.Title, v.Active, v.Data = "Settings", "settings", d
	if v.Flash == "" {
		v.Flash = flash(r)
	}
	return c.renderStatus(w, r, status, "settings", v)
}

func (c *Console) settings(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	return c.settingsPage(w, r, me, http.StatusOK, &ui.View{}, &settingsData{})
}

// settingsError shows the settings page with a refused change.
func (c *Console) settingsError(w http.ResponseWriter, r *http.Request, me *auth.Owner, d *settingsData, err error) error {
	st, msg, field, fatal := formError(err)
	if fatal != nil {
		return fatal
	}
	d.Field = field
	return c.settingsPage(w, r, me, st, &ui.View{Error: msg}, d)
}

// saveTZ keeps the owner's time zone in this browser, for the reports.
func (c *Console) saveTZ(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	name := formString(r, "tz")
	if _, err := loadZone(name); err != nil {
		return c.settingsError(w, r, me, &settingsData{}, err)
	}
	http.SetCookie(w, &http.Cookie{Name: tzCookie, Value: url.QueryEscape(name), Path: Prefix, HttpOnly: true,
		Secure: c.cfg.Secure, SameSite: http.SameSiteLaxMode, MaxAge: 400 * 24 * 3600})
	return redirect(w, r, Prefix+"/settings", "tz-saved")
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	name := formString(r, "name")
	secret, tok, err := c.cfg.Tokens.Create(r.Context(), name)
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Field == "name" {
			e2 := *e
			e2.Field = "token_name"
			err = &e2
		}
		return c.settingsError(w, r, me, &settingsData{TokenName: name}, err)
	}
	// Shown on this response only: never in a URL, never stored.
	return c.settingsPage(w, r, me, http.StatusOK, &ui.View{Flash: "The token was created. Copy it now: it is not shown again."},
		&settingsData{NewToken: secret, NewTokenFor: tok.Name})
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	if err := c.cfg.Tokens.Revoke(r.Context(), r.PostForm.Get("name")); err != nil {
		return err
	}
	return redirect(w, r, Prefix+"/settings#tokens", "token-revoked")
}

func (c *Console) tokensCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	list, err := c.cfg.Tokens.List(r.Context())
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "api-tokens.csv")
	if err := out.Row("id", "name", "prefix", "created_at", "last_used_at", "revoked_at"); err != nil {
		return err
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	for _, t := range list {
		if err := out.Row(i64(t.ID), t.Name, t.Prefix, t.CreatedAt.Format(time.RFC3339), ts(t.LastUsedAt), ts(t.RevokedAt)); err != nil {
			return err
		}
	}
	return out.Flush()
}

func (c *Console) createEndpoint(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	if c.cfg.Notify == nil {
		return apperr.NotFound("webhook endpoints")
	}
	in := notify.EndpointInput{URL: formString(r, "url"), Events: r.PostForm["events"], Description: formString(r, "description")}
	e, err := c.cfg.Notify.CreateEndpoint(r.Context(), in)
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Field != "" {
			e2 := *ae
			e2.Field = "endpoint_" + strings.TrimPrefix(ae.Field, "endpoint_")
			err = &e2
		}
		return c.settingsError(w, r, me, &settingsData{EPURL: in.URL, EPEvents: in.Events, EPDesc: in.Description}, err)
	}
	return c.settingsPage(w, r, me, http.StatusOK,
		&ui.View{Flash: "The endpoint was added. Copy its signing secret now: it is not shown again."}, &settingsData{NewEndpoint: e})
}

func (c *Console) deleteEndpoint(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	if c.cfg.Notify == nil {
		return apperr.NotFound("webhook endpoints")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := c.cfg.Notify.DeleteEndpoint(r.Context(), id); err != nil {
		return err
	}
	return redirect(w, r, Prefix+"/settings#endpoints", "endpoint-deleted")
}

type mailboxData struct {
	Mails []*notify.MailboxEntry
	Pager ui.Pager
}

// mailbox is the dev mailbox: the emails the server would have sent, when
// no SMTP server is configured (sign-in codes included, so that sign-in
// works on a laptop).
func (c *Console) mailbox(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	if c.cfg.Notify == nil || !c.cfg.Notify.DevMailbox() {
		return apperr.NotFound("dev mailbox (an SMTP server is configured)")
	}
	before, err := queryID(r, "before")
	if err != nil {
		return err
	}
	list, next, err := c.cfg.Notify.Mailbox(r.Context(), notify.Filter{Before: before, Limit: 20})
	if err != nil {
		return err
	}
	d := &mailboxData{Mails: list, Pager: ui.NewPager(r, "before", next)}
	return c.render(w, r, "mailbox", &ui.View{Title: "Dev mailbox", Active: "settings", Data: d})
}
