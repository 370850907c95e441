package outreach

import (
	"context"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
)

func actor(ctx context.Context) string { return audit.Actor(ctx) }

// wrongState is the 409 of an action the campaign's state does not allow.
func wrongState(state, action string, allowed ...string) error {
	return apperr.Conflict("wrong_state", "state", "cannot %s a campaign that is %s (only when %s)",
		action, state, strings.Join(allowed, " or "))
}

// record appends a transition, in the transaction in ctx.
func (s *Service) record(ctx context.Context, id int64, from, to, comment string) error {
	_, err := s.DB.Q(ctx).ExecContext(ctx, `/* outreach.record */
		insert into campaign_transitions (campaign_id, at, actor, from_state, to_state, comment)
		values ($1, $2, $3, $4, $5, $6)`, id, s.now(), actor(ctx), from, to, comment)
	return err
}

// Transitions returns a campaign's history, oldest first.
func (s *Service) Transitions(ctx context.Context, id int64) ([]Transition, error) {
	if _, err := s.campaign(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* outreach.Transitions */
		select id, at, actor, from_state, to_state, comment from campaign_transitions
		where campaign_id = $1 order by id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Transition{}
	for rows.Next() {
		var t Transition
		if err := rows.Scan(&t.ID, &t.At, &t.Actor, &t.From, &t.To, &t.Comment); err != nil {
			return nil, err
		}
		t.At = t.At.UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

// move changes the state from one of from to to, atomically: of two
// concurrent moves only one finds the state it expects. It returns the state
// before. set holds extra assignments ("approver = $5, …") numbered from $5.
func (s *Service) move(ctx context.Context, id int64, action string, from []string, to string, set string, args ...any) (string, error) {
	old, err := s.campaign(ctx, id)
	if err != nil {
		return "", err
	}
	if !contains(from, old.State) {
		return "", wrongState(old.State, action, from...)
	}
	q := `/* outreach.move */ update campaigns set state = $1, updated_at = $2`
	if set != "" {
		q += ", " + set
	}
	q += ` where id = $3 and state = $4`
	res, err := s.DB.Q(ctx).ExecContext(ctx, q, append([]any{to, s.now(), id, old.State}, args...)...)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", apperr.Conflict("wrong_state", "state", "the campaign changed meanwhile; read it again")
	}
	return old.State, nil
}

// Review is what a submission asks for.
type Review struct {
	Approver string `json:"approver"`           // who is to decide; required
	Priority string `json:"priority,omitempty"` // low, normal (default), high, urgent
	DueDate  string `json:"due_date,omitempty"` // YYYY-MM-DD
	Comment  string `json:"comment,omitempty"`
}

func (r *Review) validate() error {
	r.Approver = strings.TrimSpace(r.Approver)
	r.Priority = strings.TrimSpace(r.Priority)
	r.DueDate = strings.TrimSpace(r.DueDate)
	if r.Approver == "" {
		return apperr.Invalid("approver", "is required: who is to approve the campaign")
	}
	if len(r.Approver) > 200 {
		return apperr.Invalid("approver", "is longer than 200 characters")
	}
	if r.Priority == "" {
		r.Priority = "normal"
	}
	if !contains(Priorities, r.Priority) {
		return apperr.Invalid("priority", "must be one of %s", strings.Join(Priorities, ", "))
	}
	if err := validDate("due_date", r.DueDate); err != nil {
		return err
	}
	if len(r.Comment) > 5000 {
		return apperr.Invalid("comment", "is longer than 5000 characters")
	}
	return nil
}

func validDate(field, s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse("2006-01-02", s); err != nil || !dateRe.MatchString(s) {
		return apperr.Invalid(field, "must be a date like 2026-12-01")
	}
	return nil
}

// Submit asks for a review: draft or changes_requested → in_review, with an
// approver, a priority and a due date, and opens a task for the approver.
// Every recipient's email must render, and there must be one at least.
func (s *Service) Submit(ctx context.Context, id int64, r Review) (*Campaign, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	var out *Campaign
	err := s.DB.TX(ctx, func(ctx context.Context) error {
		c, err := s.campaign(ctx, id)
		if err != nil {
			return err
		}
		from := []string{StateDraft, StateChangesRequested}
		if !contains(from, c.State) {
			return wrongState(c.State, "submit", from...)
		}
		emails, err := s.render(ctx, c)
		if err != nil {
			return err
		}
		if len(emails) == 0 {
			return apperr.Invalid("recipients", "match no affiliate")
		}
		old, err := s.move(ctx, id, "submit", from, StateInReview,
			"approver = $5, priority = $6, due_date = $7, approved_by = '', approved_at = null", r.Approver, r.Priority, r.DueDate)
		if err != nil {
			return err
		}
		if err := s.record(ctx, id, old, StateInReview, r.Comment); err != nil {
			return err
		}
		if err := s.closeReviewTasks(ctx, id, TaskCancelled); err != nil {
			return err
		}
		t := &Task{
			Title: "Review campaign “" + c.Name + "” (" + strconv.Itoa(len(emails)) + " recipients)",
			Kind:  TaskCampaignReview, CampaignID: &id, Owner: r.Approver, Priority: r.Priority,
			DueDate: r.DueDate, Link: s.reviewLink(id), Notes: r.Comment,
		}
		if err := s.insertTask(ctx, t); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, "campaign.submit", "campaign", id, r); err != nil {
			return err
		}
		out, err = s.campaign(ctx, id)
		return err
	})
	return out, err
}

func (s *Service) reviewLink(id int64) string {
	if s.ReviewLink != nil {
		return s.ReviewLink(id)
	}
	return s.BaseURL + "/admin/outreach/campaigns/" + strconv.FormatInt(id, 10) + "/preview"
}

// Approve decides a review: in_review → approved. The approver of record is
// the actor in ctx.
func (s *Service) Approve(ctx context.Context, id int64, comment string) (*Campaign, error) {
	return s.decide(ctx, id, "approve", StateApproved, comment)
}

// RequestChanges decides a review: in_review → changes_requested, with a
// comment saying what to change (required).
func (s *Service) RequestChanges(ctx context.Context, id int64, comment string) (*Campaign, error) {
	if strings.TrimSpace(comment) == "" {
		return nil, apperr.Invalid("comment", "is required: say what should change")
	}
	return s.decide(ctx, id, "request changes to", StateChangesRequested, comment)
}

func (s *Service) decide(ctx context.Context, id int64, action, to, comment string) (*Campaign, error) {
	comment = strings.TrimSpace(comment)
	if len(comment) > 5000 {
		return nil, apperr.Invalid("comment", "is longer than 5000 characters")
	}
	var out *Campaign
	err := s.DB.TX(ctx, func(ctx context.Context) error {
		set, args := "", []any(nil)
		if to == StateApproved {
			set, args = "approved_by = $5, approved_at = $6", []any{actor(ctx), s.now()}
		}
		old, err := s.move(ctx, id, action, []string{StateInReview}, to, set, args...)
		if err != nil {
			return err
		}
		if err := s.record(ctx, id, old, to, comment); err != nil {
			return err
		}
		if err := s.closeReviewTasks(ctx, id, TaskDone); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, "campaign."+to, "campaign", id, map[string]string{"comment": comment}); err != nil {
			return err
		}
		out, err = s.campaign(ctx, id)
		return err
	})
	return out, err
}

// Key is the outbox idempotency key of a campaign's message to an affiliate.
func Key(campaignID, affiliateID int64) string {
	return "outreach:" + strconv.FormatInt(campaignID, 10) + ":" + strconv.FormatInt(affiliateID, 10)
}

// Send moves an approved campaign to sending and, in the same transaction,
// queues one message per recipient in the outbox (key Key(campaign,
// affiliate): a key queued before is not queued again). From any other
// state it is a Conflict and changes nothing; so is a second call.
// Recipients are resolved now: affiliates that joined a program since the
// preview receive the approved template too.
func (s *Service) Send(ctx context.Context, id int64) (*Campaign, error) {
	if s.Outbox == nil {
		return nil, apperr.New(apperr.KindUnavailable, "unavailable", "sending is not configured")
	}
	var out *Campaign
	err := s.DB.TX(ctx, func(ctx context.Context) error {
		c, err := s.campaign(ctx, id)
		if err != nil {
			return err
		}
		old, err := s.move(ctx, id, "send", []string{StateApproved}, StateSending, "")
		if err != nil {
			return err
		}
		emails, err := s.render(ctx, c)
		if err != nil {
			return err
		}
		if len(emails) == 0 {
			return apperr.Invalid("recipients", "match no affiliate now; edit the campaign")
		}
		now := s.now()
		for _, e := range emails {
			key := Key(id, e.Recipient.AffiliateID)
			msgID, err := s.Outbox.Enqueue(ctx, key, s.message(c, key, e))
			if err != nil {
				return err
			}
			if msgID == 0 {
				// The outbox had the key already: this vendor was sent
				// this campaign before. Refuse rather than lose track.
				return apperr.Conflict("already_sent", "", "the outbox already holds %s", key)
			}
			if _, err := s.DB.Q(ctx).ExecContext(ctx, `/* outreach.Send */
				insert into campaign_recipients (campaign_id, affiliate_id, email, name, outbox_key, outbox_id, status, updated_at)
				values ($1, $2, $3, $4, $5, $6, $7, $8)`,
				id, e.Recipient.AffiliateID, e.Recipient.Email, e.Recipient.Name, key, msgID, DeliveryQueued, now); err != nil {
				return err
			}
		}
		if err := s.record(ctx, id, old, StateSending, strconv.Itoa(len(emails))+" recipients"); err != nil {
			return err
		}
		if err := s.Audit.Record(ctx, "campaign.send", "campaign", id, map[string]int{"recipients": len(emails)}); err != nil {
			return err
		}
		out, err = s.campaign(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Committed: wake an idle worker rather than wait for its next poll.
	if k, ok := s.Outbox.(interface{ Kick() }); ok {
		k.Kick()
	}
	if err := s.withProgress(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}
