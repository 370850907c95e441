package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"affiliated/internal/ledger"
	"affiliated/internal/mail"
	"affiliated/internal/program"
)

// Notice types the Service understands: the ledger's, and the affiliate
// ones that the signup and approval code emits through Notify.
const (
	NoticeCommissionCreated  = "commission.created"
	NoticeCommissionReversed = "commission.reversed"
	NoticeCommissionPayable  = "commission.payable"
	NoticePayoutPaid         = "payout.paid"
	NoticeAffiliateCreated   = "affiliate.created"
	NoticeAffiliateApproved  = "affiliate.approved"
)

var _ ledger.Notifier = (*Service)(nil)

// Notify turns a notice into outbox rows, through the transaction in ctx
// (or its own): the affiliate's email (sale, refund and payable emails only
// if the affiliate has not opted out), the owners' emails, and a delivery to
// every webhook endpoint subscribed to the event. Row keys derive from
// n.Key, so a notice given twice is queued once. A notice type it does not
// know is logged and ignored, never a reason to roll back the change.
func (s *Service) Notify(ctx context.Context, n ledger.Notice) error {
	if n.Key == "" {
		return errors.New("notify: a notice needs a key")
	}
	return s.db.TX(ctx, func(ctx context.Context) error {
		switch n.Type {
		case NoticeCommissionCreated:
			return s.commissionNotice(ctx, n, EventSaleCreated, kindSale, kindSaleOwner)
		case NoticeCommissionReversed:
			return s.commissionNotice(ctx, n, EventRefundCreated, kindReversal, kindReversalOwner)
		case NoticeCommissionPayable:
			return s.commissionNotice(ctx, n, EventCommissionPayable, kindPayable, "")
		case NoticePayoutPaid:
			return s.payoutNotice(ctx, n)
		case NoticeAffiliateCreated:
			return s.affiliateNotice(ctx, n, EventAffiliateCreated, "", kindAffiliateNew)
		case NoticeAffiliateApproved:
			return s.affiliateNotice(ctx, n, EventAffiliateApproved, kindAffiliateOK, "")
		}
		s.log.Warn("notify: unknown notice type, nothing sent", "type", n.Type, "key", n.Key)
		return nil
	})
}

// adjustment is the last change a refund or chargeback made to a commission.
type adjustment struct {
	Amount int64  `json:"amount"` // signed, minor units
	Kind   string `json:"kind"`   // reversed, clawback, restored
	Cause  string `json:"cause"`  // refund, chargeback, chargeback_reversed
}

// lastAdjustment reads the ledger entry the notice is about: the ledger
// emits commission.reversed right after booking it, in the same transaction.
func (s *Service) lastAdjustment(ctx context.Context, commissionID int64) (*adjustment, error) {
	var a adjustment
	var reason string
	err := s.db.R(ctx).QueryRowContext(ctx, `/* notify.lastAdjustment */
		select amount, kind, reason from ledger_entries where commission_id = $1 order by id desc limit 1`,
		commissionID).Scan(&a.Amount, &a.Kind, &reason)
	if err != nil {
		return nil, err
	}
	a.Cause, _, _ = strings.Cut(reason, " of ")
	return &a, nil
}

// affiliateSummary is the affiliate as webhooks show it.
type affiliateSummary struct {
	ID        int64  `json:"id"`
	ProgramID int64  `json:"program_id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Code      string `json:"code"`
	Status    string `json:"status"`
}

func summary(a *program.Affiliate) affiliateSummary {
	return affiliateSummary{ID: a.ID, ProgramID: a.ProgramID, Name: a.Name, Email: a.Email, Code: a.Code, Status: a.Status}
}

// commissionParts returns the commission of n with its order, affiliate and
// program: those the notice carries (the ledger had them at hand), the
// others read through the transaction in ctx.
func (s *Service) commissionParts(ctx context.Context, n ledger.Notice) (c *ledger.Commission, o *ledger.Order,
	a *program.Affiliate, p *program.Program, err error) {
	c, o, a, p = n.Commission, n.Order, n.Affiliate, n.Program
	if c == nil || c.ID != n.CommissionID {
		if c, err = s.cfg.Ledger.Commission(ctx, n.CommissionID); err != nil {
			return
		}
	}
	if o == nil || o.ID != c.OrderID {
		if o, err = s.cfg.Ledger.Order(ctx, c.OrderID); err != nil {
			return
		}
	}
	if a == nil || a.ID != c.AffiliateID {
		if a, err = s.cfg.Programs.Affiliate(ctx, c.AffiliateID); err != nil {
			return
		}
	}
	if p == nil || p.ID != c.ProgramID {
		p, err = s.cfg.Programs.Program(ctx, c.ProgramID)
	}
	return
}

func (s *Service) commissionNotice(ctx context.Context, n ledger.Notice, event, affKind, ownerKind string) error {
	c, o, a, p, err := s.commissionParts(ctx, n)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Key, err)
	}
	var adj *adjustment
	if event == EventRefundCreated {
		if adj, err = s.lastAdjustment(ctx, c.ID); err != nil {
			return fmt.Errorf("notify %s: %w", n.Key, err)
		}
	}
	d := s.commissionData(c, o, a, p, adj)
	if affKind != "" && a.NotifySales {
		if err := s.enqueueTemplated(ctx, n.Key+":email:affiliate", n.Type, a.Email, affKind, d); err != nil {
			return err
		}
	}
	if ownerKind != "" {
		if err := s.enqueueOwners(ctx, n, ownerKind, d); err != nil {
			return err
		}
	}
	return s.enqueueWebhooks(ctx, n.Key, event, map[string]any{
		"commission": c, "order": o, "affiliate": summary(a), "adjustment": adj,
	})
}

func (s *Service) payoutNotice(ctx context.Context, n ledger.Notice) error {
	p, err := s.cfg.Ledger.Payout(ctx, n.PayoutID)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Key, err)
	}
	a, err := s.cfg.Programs.Affiliate(ctx, n.AffiliateID)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Key, err)
	}
	var lines []ledger.PayoutLine
	for _, ln := range p.Lines {
		if ln.AffiliateID == a.ID {
			lines = append(lines, ln)
		}
	}
	prog, err := s.cfg.Programs.Program(ctx, a.ProgramID)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Key, err)
	}
	d := s.affiliateData(a, prog)
	d.PayoutID = p.ID
	for _, ln := range lines {
		d.Lines = append(d.Lines, payoutLineData{Amount: formatMoney(ln.Amount, ln.Currency), Currency: ln.Currency,
			Commissions: ln.Commissions, Clawbacks: formatMoney(ln.Clawbacks, ln.Currency), HasClawbacks: ln.Clawbacks != 0})
	}
	if err := s.enqueueTemplated(ctx, n.Key+":email:affiliate", n.Type, a.Email, kindPayout, d); err != nil {
		return err
	}
	return s.enqueueWebhooks(ctx, n.Key, EventPayoutPaid, map[string]any{
		"payout": map[string]any{"id": p.ID, "status": p.Status, "paid_at": p.PaidAt}, "affiliate": summary(a), "lines": lines,
	})
}

func (s *Service) affiliateNotice(ctx context.Context, n ledger.Notice, event, affKind, ownerKind string) error {
	a, err := s.cfg.Programs.Affiliate(ctx, n.AffiliateID)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Key, err)
	}
	p, err := s.cfg.Programs.Program(ctx, a.ProgramID)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Key, err)
	}
	d := s.affiliateData(a, p)
	if affKind != "" {
		if err := s.enqueueTemplated(ctx, n.Key+":email:affiliate", n.Type, a.Email, affKind, d); err != nil {
			return err
		}
	}
	if ownerKind != "" {
		if err := s.enqueueOwners(ctx, n, ownerKind, d); err != nil {
			return err
		}
	}
	return s.enqueueWebhooks(ctx, n.Key, event, map[string]any{"affiliate": summary(a)})
}

func (s *Service) enqueueOwners(ctx context.Context, n ledger.Notice, kind string, d *mailData) error {
	for _, to := range s.cfg.Owners {
		if err := s.enqueueTemplated(ctx, n.Key+":email:owner:"+strings.ToLower(to), n.Type, to, kind, d); err != nil {
			return err
		}
	}
	return nil
}

// enqueueTemplated queues an email of kind made of d. Only its subject is
// rendered now (listings show it); its body is rendered by the worker when
// it sends the email (and by the mailbox when it shows it), outside the
// transaction of the change it announces: the row keeps the data as it
// was when the event happened, and the template renders it.
func (s *Service) enqueueTemplated(ctx context.Context, key, topic, to, kind string, d *mailData) error {
	subject, err := s.tmpl.subject(kind, d)
	if err != nil {
		return err
	}
	p := emailPayload{MessageID: mail.MessageIDFor(key, s.cfg.From), From: s.cfg.From, To: to, Subject: subject,
		Template: kind, Data: d}
	_, _, err = s.insert(ctx, row{key: key, channel: ChannelEmail, topic: topic, recipient: to, subject: subject, payload: p})
	return err
}

// EventID is the id of the webhook event announced under key: the same for
// every endpoint and every retry, so receivers can deduplicate.
func EventID(key string) string {
	sum := sha256.Sum256([]byte("affiliated event\x00" + key))
	return "evt_" + hex.EncodeToString(sum[:12])
}

// enqueueWebhooks queues one delivery of event per endpoint subscribed to it.
func (s *Service) enqueueWebhooks(ctx context.Context, key, event string, data any) error {
	// Most servers have no endpoint. One row answers that, and a query of
	// one row is a prepared statement inside the transaction on SQLite,
	// where the listing of several rows is parsed again every time.
	var some bool
	if err := s.db.R(ctx).QueryRowContext(ctx, `/* notify.enqueueWebhooks */
		select exists (select 1 from webhook_endpoints)`).Scan(&some); err != nil {
		return err
	}
	if !some {
		return nil
	}
	eps, err := s.Endpoints(ctx)
	if err != nil {
		return err
	}
	var body []byte
	for _, e := range eps {
		if !e.wants(event) {
			continue
		}
		if body == nil {
			d, err := json.Marshal(data)
			if err != nil {
				return err
			}
			if body, err = json.Marshal(Event{ID: EventID(key), Type: event, Created: s.now().Unix(), Data: d}); err != nil {
				return err
			}
		}
		id := e.ID
		_, _, err := s.insert(ctx, row{key: fmt.Sprintf("%s:webhook:%d", key, e.ID), channel: ChannelWebhook, topic: event,
			recipient: e.URL, subject: event, endpointID: &id, payload: webhookPayload{Body: string(body)}})
		if err != nil {
			return err
		}
	}
	return nil
}

// SignInCode queues a one-time sign-in code for to, ahead of every other
// message. key makes it idempotent (one code, one email); name may be empty.
// The code is removed from the row once an SMTP server has accepted it.
func (s *Service) SignInCode(ctx context.Context, key, to, name, code string, expires time.Time) (int64, error) {
	d := &mailData{Name: name, Email: to, SignInCode: code, Expires: formatTime(expires), PortalURL: s.cfg.BaseURL + "/portal"}
	if d.Name == "" {
		d.Name = to
	}
	subject, html, text, err := s.tmpl.render(kindSignInCode, d)
	if err != nil {
		return 0, err
	}
	id, _, err := s.EnqueueEmail(ctx, Email{Key: key, Topic: "signin.code", Priority: PriorityUrgent, To: to,
		Subject: subject, HTML: html, Text: text, Sensitive: true})
	if err == nil {
		s.Kick()
	}
	return id, err
}

// SweepPayable announces, once each, the commissions whose hold has passed
// (commission.payable): a commission is marked in the same transaction as
// its outbox rows, and the conditional update makes concurrent sweeps on
// several replicas announce it once. A commission held for review, reversed
// to nothing or rejected waits; one already in a payout is marked silently.
func (s *Service) SweepPayable(ctx context.Context) (int, error) {
	const page = 100
	total := 0
	for after := int64(0); ; {
		rows, err := s.db.R(ctx).QueryContext(ctx, `/* notify.SweepPayable */
			select id, order_id, affiliate_id from commissions
			where not payable_notified and payable_at <= $1 and amount > 0 and review not in ('held', 'rejected') and id > $2
			order by id limit $3`, s.now(), after, page)
		if err != nil {
			return total, err
		}
		var due []ledger.Notice
		for rows.Next() {
			var n ledger.Notice
			if err := rows.Scan(&n.CommissionID, &n.OrderID, &n.AffiliateID); err != nil {
				rows.Close()
				return total, err
			}
			n.Type, n.Key = NoticeCommissionPayable, fmt.Sprintf("commission:%d:payable", n.CommissionID)
			due = append(due, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, err
		}
		for _, n := range due {
			sent, err := s.announcePayable(ctx, n)
			if err != nil {
				return total, err
			}
			if sent {
				total++
			}
			after = n.CommissionID
		}
		if len(due) < page {
			return total, nil
		}
	}
}

func (s *Service) announcePayable(ctx context.Context, n ledger.Notice) (sent bool, err error) {
	err = s.db.TX(ctx, func(ctx context.Context) error {
		res, err := s.db.Q(ctx).ExecContext(ctx, `/* notify.SweepPayable */
			update commissions set payable_notified = true where id = $1 and not payable_notified`, n.CommissionID)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // another replica's sweep took it
		}
		c, err := s.cfg.Ledger.Commission(ctx, n.CommissionID)
		if err != nil {
			return err
		}
		if c.Status != ledger.StatusPayable {
			return nil // already in a payout, or paid: nothing to announce
		}
		sent = true
		return s.Notify(ctx, n)
	})
	return sent, err
}

func (s *Service) sweepLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Sweep)
	defer t.Stop()
	for {
		n, err := s.SweepPayable(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Error("notify: payable sweep", "err", err)
		case n > 0:
			s.log.Info("notify: commissions became payable", "count", n)
			s.Kick()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
