package outreach

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	netmail "net/mail"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/program"
)

// Recipients says who a campaign goes to: the affiliates that match every
// criterion given. At least one is required.
type Recipients struct {
	AffiliateIDs []int64 `json:"affiliate_ids,omitempty"` // chosen vendors
	ProgramID    int64   `json:"program_id,omitempty"`    // all of a program
	Status       string  `json:"status,omitempty"`        // e.g. "active"
}

// maxChosen bounds a hand-picked recipient list.
const maxChosen = 10000

// Content is the editable part of a campaign.
type Content struct {
	Name    string `json:"name"`
	Slug    string `json:"slug"` // a-z, 0-9, - and _; from the name when blank
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	// Text is a hand-written plain-text part; blank derives it from the HTML.
	Text       string     `json:"text"`
	Recipients Recipients `json:"recipients"`
	FromName   string     `json:"from_name"`
	ReplyTo    string     `json:"reply_to"`
	// UTMContent tags every recipient's referral link with
	// utm_content=<slug>, so clicks can be told apart per campaign.
	UTMContent bool `json:"utm_content"`
}

// Campaign is an outreach email and where it stands.
type Campaign struct {
	ID int64 `json:"id"`
	Content
	State      string     `json:"state"`
	Approver   string     `json:"approver"`
	Priority   string     `json:"priority"`
	DueDate    string     `json:"due_date"`
	ApprovedBy string     `json:"approved_by"`
	ApprovedAt *time.Time `json:"approved_at"`
	SentAt     *time.Time `json:"sent_at"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// Progress is filled once the campaign is sending.
	Progress *Progress `json:"progress,omitempty"`
}

var (
	slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// validate normalizes c and checks everything that needs no database.
func (c *Content) validate(baseURL string) error {
	c.Name = strings.TrimSpace(c.Name)
	c.Slug = strings.ToLower(strings.TrimSpace(c.Slug))
	c.FromName = strings.TrimSpace(c.FromName)
	c.ReplyTo = strings.TrimSpace(c.ReplyTo)
	switch {
	case c.Name == "":
		return apperr.Invalid("name", "is required")
	case len(c.Name) > 200:
		return apperr.Invalid("name", "is longer than 200 characters")
	case c.Slug != "" && !slugRe.MatchString(c.Slug):
		return apperr.Invalid("slug", "must be 1–64 characters of a-z, 0-9, - and _")
	case len(c.FromName) > 100 || strings.ContainsAny(c.FromName, "\r\n\x00"):
		return apperr.Invalid("from_name", "must be one line of at most 100 characters")
	}
	if c.ReplyTo != "" {
		if a, err := netmail.ParseAddress(c.ReplyTo); err != nil || a.Address != c.ReplyTo {
			return apperr.Invalid("reply_to", "must be an email address like ann@example.com")
		}
	}
	if _, err := Parse(c.Subject, c.HTML, c.Text, baseURL); err != nil {
		return err
	}
	r := &c.Recipients
	r.Status = strings.TrimSpace(r.Status)
	if len(r.AffiliateIDs) == 0 && r.ProgramID == 0 && r.Status == "" {
		return apperr.Invalid("recipients", "choose affiliate_ids, a program_id or a status")
	}
	if len(r.AffiliateIDs) > maxChosen {
		return apperr.Invalid("recipients.affiliate_ids", "at most %d affiliates can be chosen; use a program or a status", maxChosen)
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, id := range r.AffiliateIDs {
		if id <= 0 {
			return apperr.Invalid("recipients.affiliate_ids", "%d is not an affiliate id", id)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	r.AffiliateIDs = ids
	if r.ProgramID < 0 {
		return apperr.Invalid("recipients.program_id", "is not a program id")
	}
	switch r.Status {
	case "", program.StatusPending, program.StatusActive, program.StatusSuspended, program.StatusRejected:
	default:
		return apperr.Invalid("recipients.status", "must be pending, active, suspended or rejected")
	}
	return nil
}

// checkRecipients checks that what the recipients name exists.
func (s *Service) checkRecipients(ctx context.Context, r Recipients) error {
	if r.ProgramID != 0 {
		if _, err := s.Programs.Program(ctx, r.ProgramID); err != nil {
			if apperr.Is(err, apperr.KindNotFound) {
				return apperr.Invalid("recipients.program_id", "no program with id %d", r.ProgramID)
			}
			return err
		}
	}
	for _, id := range r.AffiliateIDs {
		if _, err := s.Programs.Affiliate(ctx, id); err != nil {
			if apperr.Is(err, apperr.KindNotFound) {
				return apperr.Invalid("recipients.affiliate_ids", "no affiliate with id %d", id)
			}
			return err
		}
	}
	return nil
}

// resolve lists the affiliates r names today, by id.
func (s *Service) resolve(ctx context.Context, r Recipients) ([]*program.Affiliate, error) {
	var out []*program.Affiliate
	if len(r.AffiliateIDs) > 0 {
		for _, id := range r.AffiliateIDs {
			a, err := s.Programs.Affiliate(ctx, id)
			if apperr.Is(err, apperr.KindNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if (r.ProgramID == 0 || a.ProgramID == r.ProgramID) && (r.Status == "" || a.Status == r.Status) {
				out = append(out, a)
			}
		}
		return out, nil
	}
	f := program.AffiliateFilter{ProgramID: r.ProgramID, Status: r.Status, Limit: 1000}
	for {
		page, err := s.Programs.Affiliates(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < f.Limit {
			return out, nil
		}
		f.After = page[len(page)-1].ID
	}
}

const campaignCols = `id, name, slug, subject, html, text_body, cast(recipients as text), from_name, reply_to,
	utm_content, state, approver, priority, due_date, approved_by, approved_at, sent_at, created_by, created_at, updated_at`

func scanCampaign(row interface{ Scan(...any) error }) (*Campaign, error) {
	var c Campaign
	var recipients string
	var approvedAt, sentAt sql.NullTime
	err := row.Scan(&c.ID, &c.Name, &c.Slug, &c.Subject, &c.HTML, &c.Text, &recipients, &c.FromName, &c.ReplyTo,
		&c.UTMContent, &c.State, &c.Approver, &c.Priority, &c.DueDate, &c.ApprovedBy, &approvedAt, &sentAt,
		&c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(recipients), &c.Recipients); err != nil {
		return nil, fmt.Errorf("campaign %d recipients: %w", c.ID, err)
	}
	c.ApprovedAt, c.SentAt = timePtr(approvedAt), timePtr(sentAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

// Create validates c and stores it as a new draft.
func (s *Service) Create(ctx context.Context, c Content) (*Campaign, error) {
	if err := c.validate(s.BaseURL); err != nil {
		return nil, err
	}
	if err := s.checkRecipients(ctx, c.Recipients); err != nil {
		return nil, err
	}
	recipients, err := json.Marshal(c.Recipients)
	if err != nil {
		return nil, err
	}
	generated := c.Slug == ""
	base := program.Slugify(c.Name)
	if base == "" {
		base = "campaign"
	}
	for attempt := 1; ; attempt++ {
		if generated {
			c.Slug = base
			if attempt > 1 {
				c.Slug = base + "-" + strconv.Itoa(attempt)
			}
		}
		now := s.now()
		out := &Campaign{Content: c, State: StateDraft, Priority: "normal", CreatedBy: actor(ctx), CreatedAt: now, UpdatedAt: now}
		err := s.DB.TX(ctx, func(ctx context.Context) error {
			err := s.DB.Q(ctx).QueryRowContext(ctx, `/* outreach.Create */
				insert into campaigns (name, slug, subject, html, text_body, recipients, from_name, reply_to, utm_content,
					state, priority, created_by, created_at, updated_at)
				values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) returning id`,
				c.Name, c.Slug, c.Subject, c.HTML, c.Text, string(recipients), c.FromName, c.ReplyTo, c.UTMContent,
				out.State, out.Priority, out.CreatedBy, now, now).Scan(&out.ID)
			if err != nil {
				return err
			}
			return s.Audit.Record(ctx, "campaign.create", "campaign", out.ID, c)
		})
		if db.IsUnique(err) {
			if generated && attempt < 50 {
				continue
			}
			return nil, apperr.Conflict("duplicate", "slug", "is already taken")
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// Update saves new content. Editing an in_review or approved campaign
// returns it to draft and voids the approval (the open review task is
// cancelled); a sending or sent campaign cannot be edited. Content equal to
// what is stored changes nothing.
func (s *Service) Update(ctx context.Context, id int64, c Content) (*Campaign, error) {
	if err := c.validate(s.BaseURL); err != nil {
		return nil, err
	}
	if err := s.checkRecipients(ctx, c.Recipients); err != nil {
		return nil, err
	}
	recipients, err := json.Marshal(c.Recipients)
	if err != nil {
		return nil, err
	}
	var out *Campaign
	err = s.DB.TX(ctx, func(ctx context.Context) error {
		old, err := s.campaign(ctx, id)
		if err != nil {
			return err
		}
		if c.Slug == "" {
			c.Slug = old.Slug
		}
		switch old.State {
		case StateSending, StateSent:
			return wrongState(old.State, "edit", StateDraft, StateInReview, StateChangesRequested, StateApproved)
		}
		if reflect.DeepEqual(old.Content, c) {
			out = old
			return nil
		}
		state := old.State
		voids := state == StateInReview || state == StateApproved
		if voids {
			state = StateDraft
		}
		now := s.now()
		res, err := s.DB.Q(ctx).ExecContext(ctx, `/* outreach.Update */
			update campaigns set name = $1, slug = $2, subject = $3, html = $4, text_body = $5, recipients = $6,
				from_name = $7, reply_to = $8, utm_content = $9, state = $10,
				approved_by = case when $11 then '' else approved_by end,
				approved_at = case when $11 then null else approved_at end,
				updated_at = $12
			where id = $13 and state = $14`,
			c.Name, c.Slug, c.Subject, c.HTML, c.Text, string(recipients), c.FromName, c.ReplyTo, c.UTMContent,
			state, voids, now, id, old.State)
		if db.IsUnique(err) {
			return apperr.Conflict("duplicate", "slug", "is already taken")
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.Conflict("wrong_state", "state", "the campaign changed meanwhile; read it again")
		}
		if voids {
			comment := "edited during review"
			if old.State == StateApproved {
				comment = "edited after approval: approval voided"
			}
			if err := s.record(ctx, id, old.State, StateDraft, comment); err != nil {
				return err
			}
			if err := s.closeReviewTasks(ctx, id, TaskCancelled); err != nil {
				return err
			}
		}
		if err := s.Audit.Record(ctx, "campaign.update", "campaign", id, c); err != nil {
			return err
		}
		out, err = s.campaign(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// campaign reads one campaign as stored.
func (s *Service) campaign(ctx context.Context, id int64) (*Campaign, error) {
	c, err := scanCampaign(s.DB.R(ctx).QueryRowContext(ctx,
		`/* outreach.campaign */ select `+campaignCols+` from campaigns where id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("campaign")
	}
	return c, err
}

// Campaign returns a campaign; once sending, with its progress read from the
// outbox (and the campaign moved to sent when every recipient is settled).
func (s *Service) Campaign(ctx context.Context, id int64) (*Campaign, error) {
	c, err := s.campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.withProgress(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// CampaignFilter narrows a listing.
type CampaignFilter struct {
	State string
	After int64 // cursor: the last id of the previous page
	Limit int
}

// Campaigns lists campaigns by id, one page at a time.
func (s *Service) Campaigns(ctx context.Context, f CampaignFilter) ([]*Campaign, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	if f.State != "" && !contains(States, f.State) {
		return nil, apperr.Invalid("state", "must be one of %s", strings.Join(States, ", "))
	}
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* outreach.Campaigns */ select `+campaignCols+`
		from campaigns where id > $1 and ($2 = '' or state = $2) order by id limit $3`, f.After, f.State, f.Limit)
	if err != nil {
		return nil, err
	}
	var out []*Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range out {
		if err := s.withProgress(ctx, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}
