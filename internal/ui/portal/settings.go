package portal

import (
	"net/http"
	"strings"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

type settingsData struct {
	Me       *program.Affiliate
	Field    string // the field at fault
	Sessions []auth.Session
	Current  int64 // this browser's session
}

func (p *Portal) settings(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	flash := map[string]string{
		"saved":   "Settings saved.",
		"revoked": "That device is signed out.",
		"others":  "Every other device is signed out.",
	}[r.URL.Query().Get("done")]
	return p.settingsPage(w, r, me, http.StatusOK, flash, nil)
}

func (p *Portal) settingsPage(w http.ResponseWriter, r *http.Request, me *program.Affiliate, status int, flash string, formErr error) error {
	list, err := p.cfg.Sessions.List(r.Context(), auth.KindAffiliate, me.ID)
	if err != nil {
		return err
	}
	d := &settingsData{Me: me, Sessions: list, Current: ui.SessionFrom(r.Context()).ID}
	v := &ui.View{Title: "Settings", Active: "settings", Flash: flash, Data: d}
	if formErr != nil {
		v.Error = ui.Message(formErr)
		if e, ok := apperr.As(formErr); ok {
			d.Field = e.Field
		}
	}
	return p.surface.Render(w, r, status, "settings", v)
}

// saveSettings changes the name and the email preference.
func (p *Portal) saveSettings(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	notify := r.PostForm.Get("notify_sales") == "on"
	_, err := p.update(r.Context(), me.ID, func(a *program.Affiliate) error {
		a.Name, a.NotifySales = name, notify
		return nil
	})
	if apperr.Is(err, apperr.KindInvalid) {
		me.Name, me.NotifySales = name, notify
		return p.settingsPage(w, r, me, http.StatusBadRequest, "", err)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/settings?done=saved", http.StatusSeeOther)
	return nil
}

// revokeSession signs out one of the affiliate's devices; someone else's
// session id is not found.
func (p *Portal) revokeSession(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := p.cfg.Sessions.Revoke(r.Context(), auth.KindAffiliate, me.ID, id); err != nil {
		return err
	}
	if id == ui.SessionFrom(r.Context()).ID {
		http.Redirect(w, r, Prefix+"/login?out=1", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, Prefix+"/settings?done=revoked", http.StatusSeeOther)
	return nil
}

func (p *Portal) revokeOthers(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	if _, err := p.cfg.Sessions.RevokeOthers(r.Context(), auth.KindAffiliate, me.ID, ui.SessionFrom(r.Context()).ID); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/settings?done=others", http.StatusSeeOther)
	return nil
}
