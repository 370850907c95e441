// Package portal is the affiliates' web portal at /portal: sign-in by
// one-time code, their balances, links and charts, commissions from every
// platform (with a CSV download), clicks, payouts, settings, and the
// self-service signup. Every query is scoped by the signed-in affiliate:
// an id in a URL that belongs to someone else answers 404, like an id that
// does not exist.
package portal

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/ledger"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
	"affiliated/internal/ui"
)

//go:embed templates/*.html
var templates embed.FS

// Prefix is where the portal lives.
const Prefix = "/portal"

// Cookie is the name of the portal's session cookie.
const Cookie = "aff_portal"

// Config is what New needs.
type Config struct {
	Log      *slog.Logger
	DB       *db.DB
	Programs *program.Store
	Ledger   *ledger.Ledger
	Stats    *tracking.Stats
	Codes    *auth.Codes
	Sessions *auth.Sessions
	Limiter  *auth.Limiter   // for the signup limit
	Notifier ledger.Notifier // tells the owner of signups; may be nil
	BaseURL  string          // absolute, for magic links
	// Secure sets the Secure attribute of cookies (the base URL is https).
	Secure bool
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// SignupLimit bounds signups per client address; 10 an hour when zero.
	SignupLimit auth.Limit
	Now         func() time.Time // time.Now when nil
}

// Portal serves the affiliates' pages.
type Portal struct {
	cfg     Config
	surface *ui.Surface
	signIn  *ui.SignIn[*program.Affiliate]
}

// New parses the templates and builds the portal.
func New(cfg Config) (*Portal, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SignupLimit == (auth.Limit{}) {
		cfg.SignupLimit = auth.Limit{Max: 10, Window: time.Hour}
	}
	r, err := ui.NewRenderer(templates, "templates/*.html", template.FuncMap{"platform": PlatformName})
	if err != nil {
		return nil, err
	}
	s := &ui.Surface{
		Name: "Affiliate portal", Prefix: Prefix, Renderer: r, Log: cfg.Log,
		Secure: cfg.Secure, TrustProxy: cfg.TrustProxy,
		Nav: []ui.NavItem{
			{Key: "home", Label: "Overview", Href: Prefix},
			{Key: "commissions", Label: "Commissions", Href: Prefix + "/commissions"},
			{Key: "clicks", Label: "Clicks", Href: Prefix + "/clicks"},
			{Key: "payouts", Label: "Payouts", Href: Prefix + "/payouts"},
			{Key: "settings", Label: "Settings", Href: Prefix + "/settings"},
		},
	}
	p := &Portal{cfg: cfg, surface: s}
	p.signIn = &ui.SignIn[*program.Affiliate]{
		Surface: s, Kind: auth.KindAffiliate, Codes: cfg.Codes, Sessions: cfg.Sessions,
		Cookie: Cookie, BaseURL: strings.TrimSuffix(cfg.BaseURL, "/"), Load: p.load,
	}
	return p, nil
}

// Lookup is the affiliate part of an auth.LookupFunc: who may sign in to
// the portal with an email. Rejected applicants may not; pending and
// suspended affiliates may, to see where they stand and what they earned.
func Lookup(programs *program.Store) func(ctx context.Context, email string) (int64, bool, error) {
	return func(ctx context.Context, email string) (int64, bool, error) {
		a, err := programs.AffiliateByEmail(ctx, email)
		if apperr.Is(err, apperr.KindNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		return a.ID, a.Status != program.StatusRejected, nil
	}
}

// load turns a session into its affiliate; a rejected one is signed out.
func (p *Portal) load(ctx context.Context, id int64) (*program.Affiliate, string, error) {
	a, err := p.cfg.Programs.Affiliate(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if a.Status == program.StatusRejected {
		return nil, "", apperr.New(apperr.KindForbidden, "rejected", "this application was not accepted")
	}
	return a, a.Email, nil
}

// Routes registers every portal route on mux.
func (p *Portal) Routes(mux *http.ServeMux) {
	p.signIn.Routes(mux)
	page := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error) {
		mux.Handle(pattern, p.signIn.Page(fn))
	}
	page("GET "+Prefix, p.home)
	page("GET "+Prefix+"/commissions", p.commissions)
	page("GET "+Prefix+"/commissions.csv", p.commissionsCSV)
	page("GET "+Prefix+"/commissions/{id}", p.commission)
	page("GET "+Prefix+"/clicks", p.clicks)
	page("GET "+Prefix+"/payouts", p.payouts)
	page("GET "+Prefix+"/payouts/{id}", p.payout)
	page("POST "+Prefix+"/payouts/details", p.savePayoutDetails)
	page("GET "+Prefix+"/settings", p.settings)
	page("POST "+Prefix+"/settings", p.saveSettings)
	page("POST "+Prefix+"/sessions/{id}/revoke", p.revokeSession)
	page("POST "+Prefix+"/sessions/revoke-others", p.revokeOthers)
	mux.Handle("GET "+Prefix+"/signup", p.surface.Public(p.signupPage))
	mux.Handle("POST "+Prefix+"/signup", p.surface.Public(p.signup))
	mux.Handle("GET "+Prefix+"/{$}", http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	mux.Handle(Prefix+"/", p.surface.NotFound())
}

func (p *Portal) now() time.Time { return p.cfg.Now().UTC() }

// render writes a page.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, name string, v *ui.View) error {
	return p.surface.Render(w, r, http.StatusOK, name, v)
}

// pathID reads the {id} of a path; anything but a positive number is not found.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.NotFound("page")
	}
	return id, nil
}

// update changes the signed-in affiliate through fn, on a fresh copy read
// in the same transaction, so a change by the owner in between is kept.
func (p *Portal) update(ctx context.Context, id int64, fn func(a *program.Affiliate) error) (*program.Affiliate, error) {
	var out *program.Affiliate
	err := p.cfg.DB.TX(ctx, func(ctx context.Context) error {
		a, err := p.cfg.Programs.Affiliate(ctx, id)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		if err := p.cfg.Programs.UpdateAffiliate(ctx, a); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}
