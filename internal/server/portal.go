package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"affiliated/internal/auth"
	"affiliated/internal/notify"
	"affiliated/internal/ui"
	"affiliated/internal/ui/portal"
)

// signInTTL is how long a sign-in code and its link work.
const signInTTL = 10 * time.Minute

// SignIn is the sign-in machinery that the portal and the console share:
// database rate limits, sessions, owners, and one-time codes for both
// kinds of principal, mailed through the outbox.
type SignIn struct {
	Limiter  *auth.Limiter
	Sessions *auth.Sessions
	Owners   *auth.Owners
	Codes    *auth.Codes
	Secure   bool // the base URL is https: cookies get Secure
}

// signIn builds the shared sign-in machinery. Every value is a thin handle
// on the database, so the portal and the console may each build their own.
func (s *Server) signIn() (*SignIn, error) {
	if s.Notify == nil {
		return nil, errors.New("server: sign-in needs the outbox (setupNotify) first")
	}
	si := &SignIn{
		Limiter:  &auth.Limiter{DB: s.DB},
		Sessions: &auth.Sessions{DB: s.DB},
		Owners:   &auth.Owners{DB: s.DB, Audit: s.Audit},
		Secure:   s.Config.BaseURL.Scheme == "https",
	}
	affiliates := portal.Lookup(s.Programs)
	si.Codes = &auth.Codes{
		DB: s.DB, Limiter: si.Limiter, TTL: signInTTL, Committed: s.Notify.Kick,
		Sender: &signInMailer{n: s.Notify},
		Lookup: func(ctx context.Context, kind auth.Kind, email string) (int64, bool, error) {
			switch kind {
			case auth.KindAffiliate:
				return affiliates(ctx, email)
			case auth.KindOwner:
				return si.Owners.Lookup(ctx, email)
			}
			return 0, false, nil
		},
	}
	return si, nil
}

// setupPortal serves the affiliate portal at /portal and the shared assets
// at /ui/. With no owner yet, it logs a one-time setup link, which the
// console's sign-in (ui.SignIn with Owners set) serves at /admin/setup.
// It needs the ledger, the stats and the outbox built first.
func (s *Server) setupPortal(mux *http.ServeMux) error {
	si, err := s.signIn()
	if err != nil {
		return err
	}
	base := s.Config.BaseURL.String()
	mux.Handle("GET "+ui.AssetPrefix+"{file}", ui.Assets())
	p, err := portal.New(portal.Config{
		Log: s.Log, DB: s.DB, Programs: s.Programs, Ledger: s.Ledger, Stats: s.Stats,
		Codes: si.Codes, Sessions: si.Sessions, Limiter: si.Limiter, Notifier: s.Ledger.Notifier,
		BaseURL: base, Secure: si.Secure, TrustProxy: s.Config.TrustProxyHeaders,
	})
	if err != nil {
		return err
	}
	p.Routes(mux)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok, err := si.Owners.NewSetupToken(ctx)
	if err != nil {
		return fmt.Errorf("owner setup link: %w", err)
	}
	if tok != "" {
		s.Log.Info("no owner yet: open this one-time link to create the owner account (valid 24 hours; "+
			"or run `affiliated admin add EMAIL`)", "url", base+"/admin/setup?token="+tok)
	}
	return nil
}

// signInMailer queues sign-in emails in the outbox, ahead of everything
// else, with the code removed from the row once SMTP has accepted it.
type signInMailer struct{ n *notify.Service }

func (m *signInMailer) SendSignInCode(ctx context.Context, kind auth.Kind, email, code, link string) error {
	app := "affiliate portal"
	if kind == auth.KindOwner {
		app = "owner console"
	}
	subject, html, text, err := ui.SignInEmail(app, code, link, int(signInTTL/time.Minute))
	if err != nil {
		return err
	}
	// One key per code: the link's token hash names it without revealing it.
	_, _, err = m.n.EnqueueEmail(ctx, notify.Email{
		Key: "signin:" + string(kind) + ":" + auth.Hash(link)[:32], Topic: "signin.code", Priority: notify.PriorityUrgent,
		To: email, Subject: subject, HTML: html, Text: text, Sensitive: true,
	})
	return err
}
