package api

import (
	"context"
	"fmt"
	"net/http"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/httpx"
	"affiliated/internal/ledger"
	"affiliated/internal/notify"
	"affiliated/internal/program"
)

// Approvals decides signups: approve (the affiliate is emailed their
// link) or reject. The API and the console both call it, so a decision
// means the same wherever it is made.
type Approvals struct {
	DB       *db.DB
	Programs *program.Store
	Notifier ledger.Notifier // the outbox; nil sends nothing
}

// Approve makes a pending (or rejected) affiliate active and queues their
// welcome email with their link, in one transaction with the audit entry.
func (ap *Approvals) Approve(ctx context.Context, id int64) (*program.Affiliate, error) {
	return ap.decide(ctx, id, program.StatusActive)
}

// Reject turns a pending applicant down. Nobody is emailed: a rejection
// notice is the owner's to write, if any. A rejected affiliate cannot sign in.
func (ap *Approvals) Reject(ctx context.Context, id int64) (*program.Affiliate, error) {
	return ap.decide(ctx, id, program.StatusRejected)
}

func (ap *Approvals) decide(ctx context.Context, id int64, to string) (*program.Affiliate, error) {
	var out *program.Affiliate
	err := ap.DB.TX(ctx, func(ctx context.Context) error {
		a, err := ap.Programs.Affiliate(ctx, id)
		if err != nil {
			return err
		}
		from := a.Status
		switch {
		case to == program.StatusActive && (from == program.StatusPending || from == program.StatusRejected):
		case to == program.StatusRejected && from == program.StatusPending:
		default:
			return apperr.Conflict("not_pending", "status", "the affiliate is %s; only a pending signup can be decided", from)
		}
		a.Status = to
		if err := ap.Programs.UpdateAffiliate(ctx, a); err != nil {
			return err
		}
		action := "affiliate.approve"
		if to == program.StatusRejected {
			action = "affiliate.reject"
		}
		if err := ap.Programs.Audit.Record(ctx, action, "affiliate", a.ID, map[string]string{"from": from, "to": to}); err != nil {
			return err
		}
		if to == program.StatusActive && ap.Notifier != nil {
			if err := ap.Notifier.Notify(ctx, ledger.Notice{Type: notify.NoticeAffiliateApproved,
				Key: fmt.Sprintf("affiliate:%d:approved", a.ID), AffiliateID: a.ID}); err != nil {
				return err
			}
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ap.Programs.Changed != nil {
		ap.Programs.Changed() // after the commit: the link cache must not keep the old status
	}
	if k, ok := ap.Notifier.(interface{ Kick() }); ok {
		k.Kick() // the outbox: send the welcome now, not at the next poll
	}
	return out, nil
}

func (a *API) approvalRoutes(h func(string, httpx.HandlerFunc)) {
	h("POST /api/v1/affiliates/{id}/approve", a.decideAffiliate(true))
	h("POST /api/v1/affiliates/{id}/reject", a.decideAffiliate(false))
}

func (a *API) approvals() *Approvals {
	ap := &Approvals{DB: a.Programs.DB, Programs: a.Programs}
	switch {
	case a.Notify != nil:
		ap.Notifier = a.Notify
	case a.Ledger != nil && a.Ledger.Notifier != nil:
		ap.Notifier = a.Ledger.Notifier
	}
	return ap
}

func (a *API) decideAffiliate(approve bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		decide := a.approvals().Reject
		if approve {
			decide = a.approvals().Approve
		}
		af, err := decide(r.Context(), id)
		if err != nil {
			return err
		}
		o, err := a.out(r, af)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, o)
		return nil
	}
}
