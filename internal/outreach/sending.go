package outreach

import (
	"context"
	"errors"
	netmail "net/mail"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/mail"
	"affiliated/internal/program"
)

// render renders c for every recipient it resolves to today.
func (s *Service) render(ctx context.Context, c *Campaign) ([]*Email, error) {
	t, err := Parse(c.Subject, c.HTML, c.Text, s.BaseURL)
	if err != nil {
		return nil, err
	}
	affiliates, err := s.resolve(ctx, c.Recipients)
	if err != nil {
		return nil, err
	}
	programs := map[int64]*program.Program{}
	out := make([]*Email, 0, len(affiliates))
	for _, a := range affiliates {
		p := programs[a.ProgramID]
		if p == nil {
			if p, err = s.Programs.Program(ctx, a.ProgramID); err != nil {
				return nil, err
			}
			programs[a.ProgramID] = p
		}
		r := Recipient{
			AffiliateID: a.ID, Name: a.Name, Email: a.Email, Code: a.Code,
			ReferralURL: referralURL(s.Programs.ReferralURL(a), c.Slug, c.UTMContent),
			CouponCode:  a.CouponCode, ProgramName: p.Name,
		}
		if s.Counts != nil {
			if r.Clicks, _, err = s.Counts(ctx, a.ID); err != nil {
				return nil, err
			}
		}
		e, err := t.Render(r)
		if err != nil {
			var ae *apperr.Error
			if errors.As(err, &ae) {
				ae.Message = "for " + a.Email + ": " + ae.Message
			}
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Render returns the email every recipient of campaign id would get if it
// were sent now: the preview.
func (s *Service) Render(ctx context.Context, id int64) (*Campaign, []*Email, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	emails, err := s.render(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return c, emails, nil
}

// message is the outbox message of one rendered email.
func (s *Service) message(c *Campaign, key string, e *Email) mail.Message {
	from := (&netmail.Address{Name: c.FromName, Address: s.From}).String()
	to := (&netmail.Address{Name: e.Recipient.Name, Address: e.Recipient.Email}).String()
	return mail.Message{
		MessageID: mail.MessageIDFor(key, s.From),
		From:      from, To: to, ReplyTo: c.ReplyTo,
		Subject: e.Subject, HTML: e.HTML, Text: e.Text,
	}
}

// withProgress fills c.Progress once c is sending or sent.
func (s *Service) withProgress(ctx context.Context, c *Campaign) error {
	if c.State != StateSending && c.State != StateSent {
		return nil
	}
	_, p, err := s.recipients(ctx, c)
	if err != nil {
		return err
	}
	c.Progress = &p
	return nil
}

// Recipients returns where each recipient's message stands and the totals,
// refreshed from the outbox. An unsent campaign has none.
func (s *Service) Recipients(ctx context.Context, id int64) ([]RecipientStatus, Progress, error) {
	c, err := s.campaign(ctx, id)
	if err != nil {
		return nil, Progress{}, err
	}
	return s.recipients(ctx, c)
}

// recipients reads the recipients of c, brings those not sent up to date
// from the outbox, and moves c to sent once all are settled (sent or
// failed).
func (s *Service) recipients(ctx context.Context, c *Campaign) ([]RecipientStatus, Progress, error) {
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* outreach.recipients */
		select affiliate_id, name, email, status, error, updated_at, outbox_id from campaign_recipients
		where campaign_id = $1 order by affiliate_id`, c.ID)
	if err != nil {
		return nil, Progress{}, err
	}
	list := []RecipientStatus{}
	var pending []int // indexes in list of the unsettled
	var ids []int64   // their outbox ids
	for rows.Next() {
		var r RecipientStatus
		var id int64
		if err := rows.Scan(&r.AffiliateID, &r.Name, &r.Email, &r.Status, &r.Error, &r.UpdatedAt, &id); err != nil {
			rows.Close()
			return nil, Progress{}, err
		}
		r.UpdatedAt = r.UpdatedAt.UTC()
		// Failed ones too: the owner may retry a dead message in the outbox.
		if r.Status != DeliverySent {
			pending = append(pending, len(list))
			ids = append(ids, id)
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, Progress{}, err
	}
	if s.Outbox != nil {
		now := s.now()
		for i, at := range pending {
			st, lastErr, err := s.Outbox.MessageStatus(ctx, ids[i])
			if err != nil {
				return nil, Progress{}, err
			}
			st = delivery(st)
			r := &list[at]
			if st == r.Status && lastErr == r.Error {
				continue
			}
			if _, err := s.DB.Q(ctx).ExecContext(ctx, `/* outreach.recipients */
				update campaign_recipients set status = $1, error = $2, updated_at = $3
				where campaign_id = $4 and affiliate_id = $5`, st, lastErr, now, c.ID, r.AffiliateID); err != nil {
				return nil, Progress{}, err
			}
			r.Status, r.Error, r.UpdatedAt = st, lastErr, now
		}
	}
	p := Progress{Total: len(list)}
	for _, r := range list {
		switch r.Status {
		case DeliverySent:
			p.Sent++
		case DeliveryFailed:
			p.Failed++
		default:
			p.Queued++
		}
	}
	if c.State == StateSending && p.Done() {
		if err := s.finish(ctx, c, p); err != nil {
			return nil, Progress{}, err
		}
	}
	return list, p, nil
}

// finish moves c from sending to sent. Of concurrent readers that all see
// the campaign done, one records the transition.
func (s *Service) finish(ctx context.Context, c *Campaign, p Progress) error {
	ctx = audit.WithActor(ctx, "system")
	return s.DB.TX(ctx, func(ctx context.Context) error {
		now := s.now()
		res, err := s.DB.Q(ctx).ExecContext(ctx, `/* outreach.finish */
			update campaigns set state = $1, sent_at = $2, updated_at = $2 where id = $3 and state = $4`,
			StateSent, now, c.ID, StateSending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		comment := "all recipients settled"
		if p.Failed > 0 {
			comment = "settled with failures"
		}
		if err := s.record(ctx, c.ID, StateSending, StateSent, comment); err != nil {
			return err
		}
		c.State, c.SentAt, c.UpdatedAt = StateSent, &now, now
		return s.Audit.Record(ctx, "campaign.sent", "campaign", c.ID, p)
	})
}

// Sweep brings every sending campaign up to date, moving to sent those whose
// recipients are all settled. The server runs it now and then so a campaign
// is marked sent even when nobody looks at it.
func (s *Service) Sweep(ctx context.Context) error {
	f := CampaignFilter{State: StateSending, Limit: 500}
	for {
		list, err := s.Campaigns(ctx, f) // refreshes each one it lists
		if err != nil || len(list) < f.Limit {
			return err
		}
		f.After = list[len(list)-1].ID
	}
}
