package server

import (
	"net/http"

	"affiliated/internal/api"
	"affiliated/internal/ui/admin"
	"affiliated/internal/ui/outreachui"
)

// setupAdmin serves the owner console at /admin. It shares the sign-in
// machinery with the portal (its own handles on the same tables), and
// needs the ledger, the analytics and the outbox built first.
func (s *Server) setupAdmin(mux *http.ServeMux) error {
	si, err := s.signIn()
	if err != nil {
		return err
	}
	// The same decisions as POST /api/v1/affiliates/{id}/approve and /reject.
	ap := &api.Approvals{DB: s.DB, Programs: s.Programs, Notifier: s.Notify}
	c, err := admin.New(admin.Config{
		Log: s.Log, DB: s.DB, Programs: s.Programs, Ledger: s.Ledger, Stats: s.Stats, Analytics: s.Analytics,
		Notify: s.Notify, Tokens: s.Tokens, Audit: s.Audit,
		Codes: si.Codes, Sessions: si.Sessions, Owners: si.Owners, Approve: ap.Approve, Reject: ap.Reject,
		BaseURL: s.Config.BaseURL.String(), OwnerEmails: s.Config.OwnerEmails, MailFrom: s.Config.MailFrom,
		Secure: si.Secure, TrustProxy: s.Config.TrustProxyHeaders, Nav: outreachui.Nav,
	})
	if err != nil {
		return err
	}
	c.Routes(mux)
	return s.setupOutreachUI(mux, c)
}
