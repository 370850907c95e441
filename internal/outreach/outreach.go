// Package outreach is vendor email campaigns: per-recipient templates with a
// plain-text fallback, previews (also through a shareable read-only link),
// an approval workflow with a task board, and sending through the
// transactional outbox, one message per recipient, never twice.
//
// A campaign moves draft → in_review → approved | changes_requested →
// sending → sent. Editing an in_review or approved campaign returns it to
// draft and voids the approval; sending is possible only from approved.
// Every change of state is recorded with who, when and the comment.
//
// The package knows no HTTP: the API, the console and the public preview
// call the same Service methods.
package outreach

import (
	"context"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/mail"
	"affiliated/internal/program"
)

// Campaign states.
const (
	StateDraft            = "draft"
	StateInReview         = "in_review"
	StateChangesRequested = "changes_requested"
	StateApproved         = "approved"
	StateSending          = "sending"
	StateSent             = "sent"
)

// States lists every state in workflow order.
var States = []string{StateDraft, StateInReview, StateChangesRequested, StateApproved, StateSending, StateSent}

// Priorities of reviews and tasks, lowest first.
var Priorities = []string{"low", "normal", "high", "urgent"}

// Delivery statuses of one recipient's message.
const (
	DeliveryQueued = "queued" // waiting, being sent or being retried
	DeliverySent   = "sent"   // accepted by the SMTP server
	DeliveryFailed = "failed" // given up on (a permanent error or too many attempts)
)

// Outbox is the part of the transactional outbox (internal/notify) that
// outreach uses; *notify.Service implements it. It is an interface so that
// the domain does not depend on the worker and its mail templates.
type Outbox interface {
	// Enqueue queues m for delivery under key, in the transaction carried by
	// ctx, and returns the message's id in the outbox. A key queued before
	// is left as it is and gives id 0: no second message.
	Enqueue(ctx context.Context, key string, m mail.Message) (id int64, err error)
	// MessageStatus returns the status of the message with id — "queued",
	// "sending", "sent" or "dead" — and its last error ("" when none).
	MessageStatus(ctx context.Context, id int64) (status, lastError string, err error)
}

// delivery maps an outbox status to a recipient's.
func delivery(outboxStatus string) string {
	switch outboxStatus {
	case "sent":
		return DeliverySent
	case "dead":
		return DeliveryFailed
	}
	return DeliveryQueued
}

// Service is vendor outreach. Build it once; it is safe for concurrent use.
type Service struct {
	DB       *db.DB
	Audit    *audit.Log
	Programs *program.Store
	Outbox   Outbox

	// From is the address emails are sent from (the campaign only chooses
	// the display name). BaseURL is the public URL of the server, for
	// preview links.
	From    string
	BaseURL string

	// Counts returns an affiliate's clicks and unique visitors so far
	// (tracking.Stats.Counts); nil leaves {{.Clicks}} at 0.
	Counts func(ctx context.Context, affiliateID int64) (clicks, uniques int64, err error)

	// ReviewLink is the link a review task carries to the campaign's
	// preview in the console; nil gives BaseURL/admin/outreach/campaigns/{id}/preview.
	ReviewLink func(campaignID int64) string

	// Now is the clock, for tests of expiry; nil is time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return db.Time(s.Now())
	}
	return db.Now()
}

// Transition is one recorded change of a campaign's state.
type Transition struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Comment string    `json:"comment,omitempty"`
}

// Progress counts a campaign's recipients by delivery status.
type Progress struct {
	Total  int `json:"total"`
	Queued int `json:"queued"`
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
}

// Done reports whether every recipient is settled (sent or failed).
func (p Progress) Done() bool { return p.Queued == 0 }

// RecipientStatus is where one recipient's message stands.
type RecipientStatus struct {
	AffiliateID int64     `json:"affiliate_id"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
