package outreach

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
)

// Task kinds.
const (
	TaskManual         = "manual"
	TaskCampaignReview = "campaign_review" // opened on submit, closed when decided
)

// Task statuses. Open and in-progress tasks are on the board; done and
// cancelled ones leave it.
const (
	TaskOpen       = "open"
	TaskInProgress = "in_progress"
	TaskDone       = "done"
	TaskCancelled  = "cancelled"
)

// TaskStatuses lists every task status.
var TaskStatuses = []string{TaskOpen, TaskInProgress, TaskDone, TaskCancelled}

// Task is a card on the task board.
type Task struct {
	ID         int64      `json:"id"`
	Title      string     `json:"title"`
	Kind       string     `json:"kind"`
	CampaignID *int64     `json:"campaign_id"`
	Owner      string     `json:"owner"`
	Priority   string     `json:"priority"`
	Status     string     `json:"status"`
	DueDate    string     `json:"due_date"`
	Link       string     `json:"link"`
	Notes      string     `json:"notes"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ClosedAt   *time.Time `json:"closed_at"`
}

// NewTask returns a task with the defaults: manual, normal priority, open.
// Decode input over it.
func NewTask() *Task { return &Task{Kind: TaskManual, Priority: "normal", Status: TaskOpen} }

var kindRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

func (t *Task) validate() error {
	t.Title = strings.TrimSpace(t.Title)
	t.Owner = strings.TrimSpace(t.Owner)
	t.Link = strings.TrimSpace(t.Link)
	t.DueDate = strings.TrimSpace(t.DueDate)
	if t.Kind == "" {
		t.Kind = TaskManual
	}
	if t.Priority == "" {
		t.Priority = "normal"
	}
	if t.Status == "" {
		t.Status = TaskOpen
	}
	switch {
	case t.Title == "":
		return apperr.Invalid("title", "is required")
	case len(t.Title) > 300:
		return apperr.Invalid("title", "is longer than 300 characters")
	case !kindRe.MatchString(t.Kind):
		return apperr.Invalid("kind", "must be 1–40 characters of a-z, 0-9 and _")
	case len(t.Owner) > 200:
		return apperr.Invalid("owner", "is longer than 200 characters")
	case !contains(Priorities, t.Priority):
		return apperr.Invalid("priority", "must be one of %s", strings.Join(Priorities, ", "))
	case !contains(TaskStatuses, t.Status):
		return apperr.Invalid("status", "must be one of %s", strings.Join(TaskStatuses, ", "))
	case len(t.Notes) > 5000:
		return apperr.Invalid("notes", "is longer than 5000 characters")
	case !safeLink(t.Link):
		return apperr.Invalid("link", "must be an http(s) URL or a path starting with /")
	}
	return validDate("due_date", t.DueDate)
}

// safeLink accepts what a board may put in an href: no javascript: or
// other schemes, no protocol-relative //host.
func safeLink(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > 2000 || strings.ContainsAny(s, " \t\r\n\\") {
		return false
	}
	if strings.HasPrefix(s, "/") {
		return !strings.HasPrefix(s, "//")
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func closed(status string) bool { return status == TaskDone || status == TaskCancelled }

const taskCols = `id, title, kind, campaign_id, owner, priority, status, due_date, link, notes,
	created_by, created_at, updated_at, closed_at`

func scanTask(row interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var campaign sql.NullInt64
	var closedAt sql.NullTime
	err := row.Scan(&t.ID, &t.Title, &t.Kind, &campaign, &t.Owner, &t.Priority, &t.Status, &t.DueDate, &t.Link,
		&t.Notes, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt, &closedAt)
	if err != nil {
		return nil, err
	}
	if campaign.Valid {
		t.CampaignID = &campaign.Int64
	}
	t.ClosedAt = timePtr(closedAt)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

func nullID(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}

// CreateTask validates and stores a task by hand, filling t.ID.
func (s *Service) CreateTask(ctx context.Context, t *Task) error {
	if err := t.validate(); err != nil {
		return err
	}
	if t.CampaignID != nil {
		if _, err := s.campaign(ctx, *t.CampaignID); err != nil {
			if apperr.Is(err, apperr.KindNotFound) {
				return apperr.Invalid("campaign_id", "no campaign with id %d", *t.CampaignID)
			}
			return err
		}
	}
	return s.DB.TX(ctx, func(ctx context.Context) error {
		if err := s.insertTask(ctx, t); err != nil {
			return err
		}
		return s.Audit.Record(ctx, "task.create", "task", t.ID, t)
	})
}

// insertTask stores t as it is, in the transaction in ctx.
func (s *Service) insertTask(ctx context.Context, t *Task) error {
	if t.Status == "" {
		t.Status = TaskOpen
	}
	t.CreatedBy = actor(ctx)
	t.CreatedAt = s.now()
	t.UpdatedAt = t.CreatedAt
	t.ClosedAt = nil
	if closed(t.Status) {
		t.ClosedAt = &t.CreatedAt
	}
	return s.DB.Q(ctx).QueryRowContext(ctx, `/* outreach.insertTask */
		insert into tasks (title, kind, campaign_id, owner, priority, status, due_date, link, notes,
			created_by, created_at, updated_at, closed_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id`,
		t.Title, t.Kind, nullID(t.CampaignID), t.Owner, t.Priority, t.Status, t.DueDate, t.Link, t.Notes,
		t.CreatedBy, t.CreatedAt, t.UpdatedAt, nullTime(t.ClosedAt)).Scan(&t.ID)
}

// UpdateTask validates and saves every editable field of t (title, owner,
// priority, status, due date, link, notes). Kind and campaign stay as they
// were: closing a review task by hand does not decide the campaign.
func (s *Service) UpdateTask(ctx context.Context, t *Task) error {
	if err := t.validate(); err != nil {
		return err
	}
	return s.DB.TX(ctx, func(ctx context.Context) error {
		old, err := s.Task(ctx, t.ID)
		if err != nil {
			return err
		}
		t.Kind, t.CampaignID, t.CreatedBy, t.CreatedAt = old.Kind, old.CampaignID, old.CreatedBy, old.CreatedAt
		t.UpdatedAt = s.now()
		t.ClosedAt = old.ClosedAt
		switch {
		case closed(t.Status) && !closed(old.Status):
			t.ClosedAt = &t.UpdatedAt
		case !closed(t.Status):
			t.ClosedAt = nil
		}
		if _, err := s.DB.Q(ctx).ExecContext(ctx, `/* outreach.UpdateTask */
			update tasks set title = $1, owner = $2, priority = $3, status = $4, due_date = $5, link = $6,
				notes = $7, updated_at = $8, closed_at = $9
			where id = $10`,
			t.Title, t.Owner, t.Priority, t.Status, t.DueDate, t.Link, t.Notes, t.UpdatedAt, nullTime(t.ClosedAt),
			t.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, "task.update", "task", t.ID, t)
	})
}

// closeReviewTasks closes a campaign's open review tasks with status (done
// when decided, cancelled when the review was withdrawn by an edit).
func (s *Service) closeReviewTasks(ctx context.Context, campaignID int64, status string) error {
	now := s.now()
	_, err := s.DB.Q(ctx).ExecContext(ctx, `/* outreach.closeReviewTasks */
		update tasks set status = $1, closed_at = $2, updated_at = $2
		where campaign_id = $3 and kind = $4 and status in ($5, $6)`,
		status, now, campaignID, TaskCampaignReview, TaskOpen, TaskInProgress)
	return err
}

// Task returns the task with id.
func (s *Service) Task(ctx context.Context, id int64) (*Task, error) {
	t, err := scanTask(s.DB.R(ctx).QueryRowContext(ctx,
		`/* outreach.Task */ select `+taskCols+` from tasks where id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("task")
	}
	return t, err
}

// TaskFilter narrows the board.
type TaskFilter struct {
	// Status: "" for the board (open and in progress), "all", or one status.
	Status     string
	Owner      string
	CampaignID int64
	After      int64 // cursor: the last id of the previous page
	Limit      int
}

// Tasks lists tasks by id, one page at a time.
func (s *Service) Tasks(ctx context.Context, f TaskFilter) ([]*Task, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := `/* outreach.Tasks */ select ` + taskCols + ` from tasks where id > $1`
	args := []any{f.After}
	add := func(cond string, v any) {
		args = append(args, v)
		q += " and " + strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args)))
	}
	switch f.Status {
	case "":
		args = append(args, TaskOpen, TaskInProgress)
		q += " and status in ($" + strconv.Itoa(len(args)-1) + ", $" + strconv.Itoa(len(args)) + ")"
	case "all":
	default:
		if !contains(TaskStatuses, f.Status) {
			return nil, apperr.Invalid("status", "must be all or one of %s", strings.Join(TaskStatuses, ", "))
		}
		add("status = ?", f.Status)
	}
	if f.Owner != "" {
		add("owner = ?", f.Owner)
	}
	if f.CampaignID != 0 {
		add("campaign_id = ?", f.CampaignID)
	}
	args = append(args, f.Limit)
	q += " order by id limit $" + strconv.Itoa(len(args))
	rows, err := s.DB.R(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
