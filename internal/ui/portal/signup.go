package portal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/ledger"
	"affiliated/internal/notify"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// application is the signup form, as typed.
type application struct {
	Name, Email, Website, Promotion string
	ProgramID                       int64
	Terms                           bool
}

type signupData struct {
	Programs []*program.Program
	In       application
	Field    string // the field at fault
}

type signupDone struct {
	Program *program.Program
}

func (p *Portal) signupPage(w http.ResponseWriter, r *http.Request) error {
	return p.signupForm(w, r, http.StatusOK, application{}, nil)
}

func (p *Portal) signupForm(w http.ResponseWriter, r *http.Request, status int, in application, formErr error) error {
	progs, err := p.cfg.Programs.Programs(r.Context())
	if err != nil {
		return err
	}
	if in.ProgramID == 0 && len(progs) > 0 {
		in.ProgramID = progs[0].ID
	}
	d := &signupData{Programs: progs, In: in}
	v := &ui.View{Title: "Become an affiliate", Data: d}
	if formErr != nil {
		v.Error = ui.Message(formErr)
		if e, ok := apperr.As(formErr); ok {
			d.Field = e.Field
		}
	}
	return p.surface.Render(w, r, status, "signup", v)
}

// errDuplicate stops a signup whose email is taken. The applicant sees the
// same page as any other: the form must not tell who is an affiliate.
var errDuplicate = errors.New("portal: the email is already an affiliate's")

func (p *Portal) signup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f := r.PostForm
	in := application{Name: strings.TrimSpace(f.Get("name")), Email: strings.TrimSpace(f.Get("email")),
		Website: strings.TrimSpace(f.Get("website")), Promotion: strings.TrimSpace(f.Get("promotion")), Terms: f.Get("terms") == "on"}
	in.ProgramID, _ = strconv.ParseInt(f.Get("program"), 10, 64)
	if err := p.cfg.Limiter.Hit(ctx, "signup:ip:"+auth.NetworkKey(p.surface.ClientIP(r)), p.cfg.SignupLimit, "applications from your network"); err != nil {
		return p.signupForm(w, r, http.StatusTooManyRequests, in, err)
	}
	if in.ProgramID == 0 { // no choice offered: the only program
		if progs, err := p.cfg.Programs.Programs(ctx); err == nil && len(progs) == 1 {
			in.ProgramID = progs[0].ID
		}
	}
	prog, err := p.cfg.Programs.Program(ctx, in.ProgramID)
	if apperr.Is(err, apperr.KindNotFound) {
		return p.signupForm(w, r, http.StatusBadRequest, in, apperr.Invalid("program", "choose a program"))
	}
	if err != nil {
		return err
	}
	if err := in.check(prog); err != nil {
		return p.signupForm(w, r, http.StatusBadRequest, in, err)
	}
	a := program.NewAffiliate()
	a.ProgramID, a.Name, a.Email, a.Website, a.Promotion = prog.ID, in.Name, in.Email, in.Website, in.Promotion
	a.Status = program.StatusPending
	if prog.AutoApprove {
		a.Status = program.StatusActive
	}
	ctx = audit.WithActor(ctx, "signup:"+strings.ToLower(in.Email))
	// The code is chosen here, not by the store, so that a taken code
	// fails the whole transaction and a fresh one is tried: on PostgreSQL
	// a failed statement ends the transaction it is in.
	for attempt := 0; ; attempt++ {
		a.ID, a.Code = 0, codeFor(in.Name, attempt)
		err = p.cfg.DB.TX(ctx, func(ctx context.Context) error {
			if err := p.cfg.Programs.CreateAffiliate(ctx, a); err != nil {
				if e, ok := apperr.As(err); ok && e.Kind == apperr.KindConflict && e.Field == "email" {
					return errDuplicate
				}
				return err
			}
			sum := sha256.Sum256([]byte(prog.Terms))
			if err := p.cfg.Programs.Audit.Record(ctx, "affiliate.signup", "affiliate", a.ID, map[string]any{
				"program_id": prog.ID, "terms_accepted": in.Terms, "terms_sha256": hex.EncodeToString(sum[:]),
				"network": auth.TruncateIP(p.surface.ClientIP(r)),
			}); err != nil {
				return err
			}
			return p.announce(ctx, a)
		})
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindConflict && e.Field == "code" && attempt < 8 {
			continue
		}
		break
	}
	if err != nil && !errors.Is(err, errDuplicate) {
		if apperr.Is(err, apperr.KindInvalid) {
			return p.signupForm(w, r, http.StatusBadRequest, in, err)
		}
		return err
	}
	if k, ok := p.cfg.Notifier.(interface{ Kick() }); ok && err == nil {
		k.Kick() // the outbox: send now, not at the next poll
	}
	return p.render(w, r, "signup_done", &ui.View{Title: "Thank you", Data: &signupDone{Program: prog}})
}

// announce tells the owner of a signup and, when the program approves by
// itself, welcomes the affiliate with their link: outbox rows in the
// signup's transaction.
func (p *Portal) announce(ctx context.Context, a *program.Affiliate) error {
	if p.cfg.Notifier == nil {
		return nil
	}
	if err := p.cfg.Notifier.Notify(ctx, ledger.Notice{Type: notify.NoticeAffiliateCreated,
		Key: fmt.Sprintf("affiliate:%d:created", a.ID), AffiliateID: a.ID}); err != nil {
		return err
	}
	if a.Status != program.StatusActive {
		return nil
	}
	return p.cfg.Notifier.Notify(ctx, ledger.Notice{Type: notify.NoticeAffiliateApproved,
		Key: fmt.Sprintf("affiliate:%d:approved", a.ID), AffiliateID: a.ID})
}

// check validates an application for prog.
func (in *application) check(prog *program.Program) error {
	switch {
	case in.Name == "":
		return apperr.Invalid("name", "enter your name")
	case len(in.Name) > 200:
		return apperr.Invalid("name", "is longer than 200 characters")
	}
	email, err := auth.NormalizeEmail(in.Email)
	if err != nil {
		return err
	}
	in.Email = email
	switch {
	case len(in.Website) > 500:
		return apperr.Invalid("website", "is longer than 500 characters")
	case in.Promotion == "":
		return apperr.Invalid("promotion", "tell us how you will promote %s", prog.Name)
	case len(in.Promotion) > 5000:
		return apperr.Invalid("promotion", "is longer than 5000 characters")
	case prog.Terms != "" && !in.Terms:
		return apperr.Invalid("terms", "accept the program's terms to apply")
	}
	return nil
}

// codeFor proposes an affiliate code from a name: the name itself first,
// then with a random suffix.
func codeFor(name string, attempt int) string {
	base := program.Slugify(name)
	if len(base) > 32 {
		base = strings.Trim(base[:32], "-")
	}
	switch {
	case base == "":
		return "a-" + auth.RandomSecret(5)[:6]
	case attempt == 0:
		return base
	}
	return base + "-" + auth.RandomSecret(3)[:4]
}
