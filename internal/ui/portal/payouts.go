package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/ledger"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// myPayout is a payout as one affiliate sees it: only their own lines.
type myPayout struct {
	ID          int64
	Status      string
	CreatedAt   time.Time
	PaidAt      *time.Time
	Lines       []ledger.PayoutLine
	Commissions []*ledger.Commission // on the detail page
}

// mine keeps the lines of a payout that are me's, or returns nil.
func mine(p *ledger.Payout, me *program.Affiliate) *myPayout {
	out := &myPayout{ID: p.ID, Status: p.Status, CreatedAt: p.CreatedAt, PaidAt: p.PaidAt}
	for _, ln := range p.Lines {
		if ln.AffiliateID == me.ID {
			out.Lines = append(out.Lines, ln)
		}
	}
	if len(out.Lines) == 0 {
		return nil
	}
	return out
}

type payoutsData struct {
	Me      *program.Affiliate
	Field   string // the field at fault in the details form
	Payouts []*myPayout
}

func (p *Portal) payouts(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	flash := ""
	if r.URL.Query().Get("saved") == "1" {
		flash = "Payout details saved."
	}
	return p.payoutsPage(w, r, me, http.StatusOK, flash, nil)
}

func (p *Portal) payoutsPage(w http.ResponseWriter, r *http.Request, me *program.Affiliate, status int, flash string, formErr error) error {
	ctx := r.Context()
	all, err := p.cfg.Ledger.Payouts(ctx)
	if err != nil {
		return err
	}
	d := &payoutsData{Me: me}
	// The ledger lists every payout; lines say whose money is in which.
	// Cancelled payouts paid nobody and are left out.
	for _, po := range all {
		if po.Status == "cancelled" {
			continue
		}
		full, err := p.cfg.Ledger.Payout(ctx, po.ID)
		if err != nil {
			return err
		}
		if m := mine(full, me); m != nil {
			d.Payouts = append(d.Payouts, m)
		}
	}
	if err := p.fillCommissions(ctx, me, d.Payouts); err != nil {
		return err
	}
	v := &ui.View{Title: "Payouts", Active: "payouts", Flash: flash, Data: d}
	if formErr != nil {
		v.Error = ui.Message(formErr)
		if e, ok := apperr.As(formErr); ok {
			d.Field = e.Field
		}
	}
	return p.surface.Render(w, r, status, "payouts", v)
}

func (p *Portal) payout(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	full, err := p.cfg.Ledger.Payout(r.Context(), id)
	if err != nil {
		return err
	}
	m := mine(full, me)
	if m == nil || full.Status == "cancelled" {
		return apperr.NotFound("payout") // not theirs: as if it did not exist
	}
	if err := p.fillCommissions(r.Context(), me, []*myPayout{m}); err != nil {
		return err
	}
	return p.render(w, r, "payout", &ui.View{Title: "Payout " + strconv.FormatInt(m.ID, 10), Active: "payouts", Data: m})
}

// savePayoutDetails changes where payouts are sent (PayPal or Wise email).
func (p *Portal) savePayoutDetails(w http.ResponseWriter, r *http.Request, me *program.Affiliate) error {
	email := strings.TrimSpace(r.PostForm.Get("payout_email"))
	_, err := p.update(r.Context(), me.ID, func(a *program.Affiliate) error {
		a.PayoutEmail = email
		return nil
	})
	if apperr.Is(err, apperr.KindInvalid) {
		me.PayoutEmail = email
		return p.payoutsPage(w, r, me, http.StatusBadRequest, "", err)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/payouts?saved=1", http.StatusSeeOther)
	return nil
}

// fillCommissions puts in each payout the affiliate's commissions it paid,
// reading the affiliate's paid and in-payout commissions once rather than
// one query per commission.
func (p *Portal) fillCommissions(ctx context.Context, me *program.Affiliate, payouts []*myPayout) error {
	where := map[int64]*myPayout{}
	for _, m := range payouts {
		for _, ln := range m.Lines {
			for _, id := range ln.CommissionIDs {
				where[id] = m
			}
		}
	}
	if len(where) == 0 {
		return nil
	}
	for _, status := range []string{ledger.StatusPaid, ledger.StatusInPayout} {
		f := ledger.CommissionFilter{AffiliateID: me.ID, Status: status, Limit: 1000}
		for {
			list, next, err := p.cfg.Ledger.Commissions(ctx, f)
			if err != nil {
				return err
			}
			for _, c := range list {
				if m := where[c.ID]; m != nil {
					m.Commissions = append(m.Commissions, c)
				}
			}
			if next == "" {
				break
			}
			f.After, _ = strconv.ParseInt(next, 10, 64)
		}
	}
	return nil
}
