// Package admin is the owner console at /admin: the overview of clicks and
// revenue, programs and their terms, affiliates (approvals, suspensions,
// codes, rates, CSV import), orders with their attribution and the
// self-referral review queue, payouts, webhook deliveries and the outbox,
// settings (API tokens, outgoing webhooks, mail) and the audit log.
//
// It is built on internal/ui like the portal: sign-in by one-time code for
// owners, CSRF on every POST, the shared layout. Pages only decode forms,
// call the domain and render; every change goes through a domain function
// that writes the audit log, with the signed-in owner as the actor. Every
// table has a CSV download with the page's filters applied.
package admin

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/analytics"
	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/db"
	"affiliated/internal/httpx"
	"affiliated/internal/ledger"
	"affiliated/internal/notify"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
	"affiliated/internal/ui"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed assets/admin.css
var stylesheet []byte

// Prefix is where the console lives.
const Prefix = "/admin"

// Cookie is the name of the console's session cookie.
const Cookie = "aff_admin"

// Config is what New needs.
type Config struct {
	Log       *slog.Logger
	DB        *db.DB
	Programs  *program.Store
	Ledger    *ledger.Ledger
	Stats     *tracking.Stats
	Analytics *analytics.Service
	Notify    *notify.Service
	Tokens    *auth.Tokens
	Audit     *audit.Log
	Codes     *auth.Codes
	Sessions  *auth.Sessions
	Owners    *auth.Owners
	BaseURL   string // absolute, for magic links and referral links

	// Approve and Reject decide a pending signup: the functions the
	// approvals API calls (api.Approvals), so both surfaces behave the same.
	// Required.
	Approve func(ctx context.Context, affiliateID int64) (*program.Affiliate, error)
	Reject  func(ctx context.Context, affiliateID int64) (*program.Affiliate, error)

	// OwnerEmails receive the owner's copies of sale and refund emails
	// (--owner-emails); shown on the settings page.
	OwnerEmails []string
	// MailFrom is the From address of emails, shown on the settings page.
	MailFrom string
	// TZ is the default time zone of reports (an IANA name); UTC when empty.
	// An owner can choose another in the settings, kept in a cookie.
	TZ string
	// Nav adds items to the console's navigation (pages other packages
	// serve under /admin, such as outreach).
	Nav []ui.NavItem

	Secure     bool // cookies get the Secure attribute (the base URL is https)
	TrustProxy bool // the client address comes from X-Forwarded-For
	Now        func() time.Time
}

// Console serves the owner's pages.
type Console struct {
	cfg     Config
	surface *ui.Surface
	signIn  *ui.SignIn[*auth.Owner]
	loc     *time.Location // cfg.TZ
}

// New parses the templates and builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Approve == nil || cfg.Reject == nil {
		return nil, errors.New("admin: Approve and Reject are required")
	}
	loc := time.UTC
	if cfg.TZ != "" {
		l, err := time.LoadLocation(cfg.TZ)
		if err != nil {
			return nil, apperr.Invalid("tz", "unknown time zone %q", cfg.TZ)
		}
		loc = l
	}
	r, err := ui.NewRenderer(templates, "templates/*.html", funcs())
	if err != nil {
		return nil, err
	}
	nav := []ui.NavItem{
		{Key: "overview", Label: "Overview", Href: Prefix},
		{Key: "programs", Label: "Programs", Href: Prefix + "/programs"},
		{Key: "affiliates", Label: "Affiliates", Href: Prefix + "/affiliates"},
		{Key: "orders", Label: "Orders", Href: Prefix + "/orders"},
		{Key: "payouts", Label: "Payouts", Href: Prefix + "/payouts"},
		{Key: "deliveries", Label: "Deliveries", Href: Prefix + "/deliveries"},
	}
	nav = append(nav, cfg.Nav...)
	nav = append(nav,
		ui.NavItem{Key: "settings", Label: "Settings", Href: Prefix + "/settings"},
		ui.NavItem{Key: "audit", Label: "Audit log", Href: Prefix + "/audit"})
	s := &ui.Surface{Name: "Owner console", Prefix: Prefix, Renderer: r, Log: cfg.Log,
		Secure: cfg.Secure, TrustProxy: cfg.TrustProxy, Nav: nav}
	c := &Console{cfg: cfg, surface: s, loc: loc}
	c.signIn = &ui.SignIn[*auth.Owner]{
		Surface: s, Kind: auth.KindOwner, Codes: cfg.Codes, Sessions: cfg.Sessions, Owners: cfg.Owners,
		Cookie: Cookie, BaseURL: strings.TrimSuffix(cfg.BaseURL, "/"),
		Load: func(ctx context.Context, id int64) (*auth.Owner, string, error) {
			o, err := cfg.Owners.Owner(ctx, id)
			if err != nil {
				return nil, "", err
			}
			return o, o.Email, nil
		},
	}
	return c, nil
}

// Page adapts a console page: the owner must be signed in, and a POST must
// carry the session's CSRF token. Other packages serving pages under
// /admin use it so that they share the console's sign-in.
func (c *Console) Page(fn func(w http.ResponseWriter, r *http.Request, me *auth.Owner) error) http.Handler {
	return c.signIn.Page(fn)
}

// Surface is the console's surface (name, prefix, navigation), for other
// packages that render pages inside it.
func (c *Console) Surface() *ui.Surface { return c.surface }

// Routes registers every console route on mux.
func (c *Console) Routes(mux *http.ServeMux) {
	c.signIn.Routes(mux)
	page := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, me *auth.Owner) error) {
		mux.Handle(pattern, c.signIn.Page(fn))
	}
	page("GET "+Prefix+"/{$}", c.overview)
	page("GET "+Prefix+"/overview.csv", c.overviewCSV)
	page("GET "+Prefix+"/top.csv", c.topCSV)

	page("GET "+Prefix+"/programs", c.programs)
	page("GET "+Prefix+"/programs.csv", c.programsCSV)
	page("GET "+Prefix+"/programs/new", c.newProgram)
	page("POST "+Prefix+"/programs", c.createProgram)
	page("GET "+Prefix+"/programs/{id}", c.editProgram)
	page("POST "+Prefix+"/programs/{id}", c.saveProgram)
	page("POST "+Prefix+"/programs/{id}/rates", c.setRate)
	page("POST "+Prefix+"/programs/{id}/rates/delete", c.deleteRate)

	page("GET "+Prefix+"/affiliates", c.affiliates)
	page("GET "+Prefix+"/affiliates.csv", c.affiliatesCSV)
	page("GET "+Prefix+"/affiliates/new", c.newAffiliate)
	page("POST "+Prefix+"/affiliates", c.createAffiliate)
	page("GET "+Prefix+"/affiliates/import", c.importPage)
	page("POST "+Prefix+"/affiliates/import", c.importAffiliates)
	page("GET "+Prefix+"/affiliates/{id}", c.affiliate)
	page("GET "+Prefix+"/affiliates/{id}/clicks.csv", c.clicksCSV)
	page("POST "+Prefix+"/affiliates/{id}", c.saveAffiliate)
	page("POST "+Prefix+"/affiliates/{id}/approve", c.decideAffiliate("approve"))
	page("POST "+Prefix+"/affiliates/{id}/reject", c.decideAffiliate("reject"))
	page("POST "+Prefix+"/affiliates/{id}/suspend", c.decideAffiliate("suspend"))
	page("POST "+Prefix+"/affiliates/{id}/reactivate", c.decideAffiliate("reactivate"))

	page("GET "+Prefix+"/orders", c.orders)
	page("GET "+Prefix+"/orders.csv", c.ordersCSV)
	page("GET "+Prefix+"/orders/{id}", c.order)
	page("POST "+Prefix+"/orders/{id}/attribute", c.attributeOrder)
	page("GET "+Prefix+"/commissions", c.commissions)
	page("GET "+Prefix+"/commissions.csv", c.commissionsCSV)
	page("POST "+Prefix+"/commissions/{id}/approve", c.reviewCommission(true))
	page("POST "+Prefix+"/commissions/{id}/reject", c.reviewCommission(false))

	page("GET "+Prefix+"/payouts", c.payouts)
	page("GET "+Prefix+"/payouts.csv", c.payoutsCSV)
	page("POST "+Prefix+"/payouts", c.createPayout)
	page("GET "+Prefix+"/payouts/{id}", c.payout)
	page("GET "+Prefix+"/payouts/{id}/csv", c.payoutCSV)
	page("POST "+Prefix+"/payouts/{id}/paid", c.markPaid)
	page("POST "+Prefix+"/payouts/{id}/cancel", c.cancelPayout)

	page("GET "+Prefix+"/deliveries", c.deliveries)
	page("GET "+Prefix+"/deliveries.csv", c.deliveriesCSV)
	page("GET "+Prefix+"/deliveries/{id}", c.delivery)
	page("GET "+Prefix+"/outbox", c.outbox)
	page("GET "+Prefix+"/outbox.csv", c.outboxCSV)
	page("POST "+Prefix+"/outbox/{id}/retry", c.retryMessage)

	page("GET "+Prefix+"/settings", c.settings)
	page("POST "+Prefix+"/settings/tz", c.saveTZ)
	page("POST "+Prefix+"/settings/tokens", c.createToken)
	page("POST "+Prefix+"/settings/tokens/revoke", c.revokeToken)
	page("GET "+Prefix+"/settings/tokens.csv", c.tokensCSV)
	page("POST "+Prefix+"/settings/endpoints", c.createEndpoint)
	page("POST "+Prefix+"/settings/endpoints/{id}/delete", c.deleteEndpoint)
	page("GET "+Prefix+"/mailbox", c.mailbox)

	page("GET "+Prefix+"/audit", c.auditLog)
	page("GET "+Prefix+"/audit.csv", c.auditCSV)

	mux.Handle("GET "+Prefix+"/admin.css", http.HandlerFunc(serveCSS))
	mux.Handle("GET "+Prefix, http.RedirectHandler(Prefix+"/", http.StatusMovedPermanently))
	mux.Handle(Prefix+"/", c.surface.NotFound())
}

// cssVersion busts caches when the stylesheet changes.
var cssVersion = func() string {
	var h uint32 = 2166136261
	for _, b := range stylesheet {
		h = (h ^ uint32(b)) * 16777619
	}
	return strconv.FormatUint(uint64(h), 36)
}()

func serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == cssVersion {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(stylesheet)
}

func (c *Console) now() time.Time { return c.cfg.Now().UTC() }

// render writes a page with status 200.
func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, v *ui.View) error {
	return c.surface.Render(w, r, http.StatusOK, name, v)
}

// renderStatus writes a page with status (a form with an error: 400, 409…).
func (c *Console) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, v *ui.View) error {
	return c.surface.Render(w, r, status, name, v)
}

// formError turns a domain error into what a form page shows: its status,
// the message and the field at fault. A missing thing (404) and errors
// people cannot act on (5xx) are returned as fatal, for the error page.
func formError(err error) (status int, msg, field string, fatal error) {
	st, e := httpx.Classify(err)
	if st >= 500 || st == http.StatusNotFound {
		return 0, "", "", err
	}
	return st, e.Message, e.Field, nil
}

// redirect sends the browser on after a successful POST (the
// post/redirect/get pattern), with a flash message in the query.
func redirect(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		to, frag, _ := strings.Cut(to, "#")
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "done=" + url.QueryEscape(flash)
		if frag != "" {
			to += "#" + frag
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// flash returns the message a redirect carried, limited to known words so
// that a link cannot put arbitrary text on the page.
func flash(r *http.Request) string {
	return flashes[r.URL.Query().Get("done")]
}

// pathID reads the {id} of a path; anything but a positive number is not found.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.NotFound("page")
	}
	return id, nil
}

// queryID reads an optional positive id from the query; 0 when absent.
func queryID(r *http.Request, name string) (int64, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.Invalid(name, "must be a number")
	}
	return id, nil
}
