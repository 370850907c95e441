// Package audit records who changed what, and when. Records are written
// through the transaction in ctx, so a change and its audit entry commit together.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"affiliated/internal/db"
)

type actorKey struct{}

// WithActor returns a ctx whose changes are attributed to actor
// (e.g. "token:deploy", "owner:ann@example.com", "cli", "system").
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// Actor returns the actor in ctx, "system" when none was set.
func Actor(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

// Entry is one audit record.
type Entry struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Entity   string          `json:"entity"`
	EntityID string          `json:"entity_id"`
	Detail   json.RawMessage `json:"detail,omitempty"`
}

// Log writes and reads the audit log.
type Log struct{ DB *db.DB }

// Record appends an entry; detail is marshalled to JSON (nil for none).
func (l *Log) Record(ctx context.Context, action, entity string, id any, detail any) error {
	var d any
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
		d = string(b)
	}
	_, err := l.DB.Q(ctx).ExecContext(ctx,
		`/* audit.Record */ insert into audit_log (at, actor, action, entity, entity_id, detail) values ($1, $2, $3, $4, $5, $6)`,
		db.Now(), Actor(ctx), action, entity, fmt.Sprint(id), d)
	return err
}

// List returns the newest entries first, before the id cursor (0 = newest).
func (l *Log) List(ctx context.Context, before int64, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := l.DB.R(ctx).QueryContext(ctx, `/* audit.List */
		select id, at, actor, action, entity, entity_id, coalesce(cast(detail as text), '')
		from audit_log where id < $1 order by id desc limit $2`, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var detail string
		if err := rows.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &detail); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
