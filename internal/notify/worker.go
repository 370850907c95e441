package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/mail"
)

// claimed is a row a worker holds until its lease ends.
type claimed struct {
	id                       int64
	key, channel, topic, rcp string
	priority, attempts       int
	endpointID               sql.NullInt64
	payload                  []byte
	giveUpAt                 time.Time
}

// permanentError is a failure that retrying cannot fix: the row is dead at once.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(format string, args ...any) error {
	return permanentError{fmt.Errorf(format, args...)}
}

func isPermanent(err error) bool {
	var p permanentError
	return mail.IsPermanent(err) || errors.As(err, &p)
}

// claim takes up to Batch due rows: queued rows whose time has come, and
// rows whose worker's lease ran out (it crashed between claim and mark).
// Each claim adds one to attempts, which then fences the claim: only the
// holder of that count may mark the row. On PostgreSQL, SKIP LOCKED lets
// any number of replicas claim at once without waiting on each other or
// taking the same row; on SQLite the single writer serializes claims.
func (s *Service) claim(ctx context.Context, now time.Time) ([]claimed, error) {
	lock := ""
	if s.db.Dialect() == db.Postgres {
		lock = " for update skip locked"
	}
	var out []claimed
	// GroupTX: the claim shares its commit with the webhook
	// deliveries and the outcomes being recorded meanwhile.
	err := s.db.GroupTX(ctx, func(ctx context.Context) (err error) {
		out, err = s.claimRows(ctx, now, lock)
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING keeps no order: start the most urgent first.
	sort.Slice(out, func(i, j int) bool {
		if out[i].priority != out[j].priority {
			return out[i].priority > out[j].priority
		}
		return out[i].id < out[j].id
	})
	return out, nil
}

func (s *Service) claimRows(ctx context.Context, now time.Time, lock string) ([]claimed, error) {
	// The due queued rows and the sending rows whose lease ran out, each
	// read in claim order from outbox_claim up to the batch; the first
	// Batch of both are claimed.
	type due struct {
		id, priority int64
		next         time.Time
	}
	var cands []due
	for _, q := range []string{
		`/* notify.claim */ select id, priority, next_at from outbox where status = 'queued' and next_at <= $1
			order by priority desc, next_at, id limit $2` + lock,
		`/* notify.claim */ select id, priority, next_at from outbox where status = 'sending' and claimed_until <= $1
			order by priority desc, next_at, id limit $2` + lock,
	} {
		rows, err := s.db.Q(ctx).QueryContext(ctx, q, now, s.cfg.Batch)
		if err != nil {
			return nil, fmt.Errorf("notify: claim: %w", err)
		}
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.priority, &d.next); err != nil {
				rows.Close()
				return nil, err
			}
			cands = append(cands, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.priority != b.priority {
			return a.priority > b.priority
		}
		if !a.next.Equal(b.next) {
			return a.next.Before(b.next)
		}
		return a.id < b.id
	})
	cands = cands[:min(len(cands), s.cfg.Batch)]
	args := []any{now.Add(s.cfg.Lease)}
	marks := make([]string, len(cands))
	for i, d := range cands {
		args = append(args, d.id)
		marks[i] = "$" + strconv.Itoa(len(args))
	}
	rows, err := s.db.Q(ctx).QueryContext(ctx, `/* notify.claim */
		update outbox set status = 'sending', claimed_until = $1, attempts = attempts + 1
		where id in (`+strings.Join(marks, ", ")+`)
		returning id, key, channel, topic, recipient, priority, attempts, endpoint_id, payload, give_up_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("notify: claim: %w", err)
	}
	defer rows.Close()
	var out []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.key, &c.channel, &c.topic, &c.rcp, &c.priority, &c.attempts, &c.endpointID,
			&c.payload, &c.giveUpAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RunOnce claims the due messages (at most Batch), sends them concurrently
// and records each outcome. It returns how many it claimed.
func (s *Service) RunOnce(ctx context.Context) (int, error) {
	return s.runOnce(ctx, ctx)
}

// runOnce claims with ctx and sends with sendCtx, so that a shutdown can
// stop claiming while the sends in flight finish.
func (s *Service) runOnce(ctx, sendCtx context.Context) (int, error) {
	rows, err := s.claim(ctx, s.now())
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, r := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A send must end before its lease does, or another worker
			// would send the message again while this one still tries.
			sctx, cancel := context.WithTimeout(sendCtx, s.cfg.Lease*3/4)
			err := s.send(sctx, r)
			cancel()
			aborted := err != nil && sendCtx.Err() != nil
			if ferr := s.finish(context.WithoutCancel(ctx), r, err, aborted); ferr != nil {
				s.log.Error("outbox: cannot record the outcome of a send", "id", r.id, "key", r.key, "err", ferr)
			}
		}()
	}
	wg.Wait()
	return len(rows), nil
}

func (s *Service) send(ctx context.Context, r claimed) error {
	switch r.channel {
	case ChannelEmail:
		var p emailPayload
		if err := json.Unmarshal(r.payload, &p); err != nil {
			return permanent("unreadable email payload: %v", err)
		}
		if err := s.render(&p); err != nil {
			return permanent("%v", err)
		}
		return s.sender.Send(ctx, p.message())
	case ChannelWebhook:
		return s.deliver(ctx, r)
	}
	return permanent("unknown channel %q", r.channel)
}

// finish records the outcome of a send: sent; back in the queue with a
// backoff; back at once when a shutdown interrupted it; or dead, when the
// failure is permanent or the retry window is over. Only the claim that
// sent may record (attempts fences it): when the lease ran out and another
// worker took the row, this outcome is dropped.
func (s *Service) finish(ctx context.Context, r claimed, sendErr error, aborted bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// GroupTX: the outcomes of a batch's sends, ending together,
	// share a commit (with the webhook deliveries arriving meanwhile).
	return s.db.GroupTX(ctx, func(ctx context.Context) error { return s.record(ctx, r, sendErr, aborted) })
}

func (s *Service) record(ctx context.Context, r claimed, sendErr error, aborted bool) error {
	now := s.now()
	q := s.db.Q(ctx)
	var res sql.Result
	var err error
	switch {
	case sendErr == nil:
		// The payload is written again only when it changes: a sensitive
		// body is removed once an SMTP server has it.
		redacted, ok := "", false
		if !s.dev && r.channel == ChannelEmail {
			redacted, ok = redact(r.payload)
		}
		if ok {
			res, err = q.ExecContext(ctx, `/* notify.finish */
				update outbox set status = 'sent', sent_at = $1, claimed_until = null, last_error = '', payload = $2
				where id = $3 and status = 'sending' and attempts = $4`, now, redacted, r.id, r.attempts)
			break
		}
		res, err = q.ExecContext(ctx, `/* notify.finish */
			update outbox set status = 'sent', sent_at = $1, claimed_until = null, last_error = ''
			where id = $2 and status = 'sending' and attempts = $3`, now, r.id, r.attempts)
	case aborted:
		res, err = q.ExecContext(ctx, `/* notify.finish */
			update outbox set status = 'queued', next_at = $1, claimed_until = null, last_error = $2
			where id = $3 and status = 'sending' and attempts = $4`, now, "interrupted by shutdown: "+errText(sendErr), r.id, r.attempts)
	case isPermanent(sendErr) || !now.Before(r.giveUpAt):
		s.log.Error("outbox: message is dead", "id", r.id, "key", r.key, "to", r.rcp, "attempts", r.attempts, "err", sendErr)
		res, err = q.ExecContext(ctx, `/* notify.finish */
			update outbox set status = 'dead', claimed_until = null, last_error = $1
			where id = $2 and status = 'sending' and attempts = $3`, errText(sendErr), r.id, r.attempts)
	default:
		next := now.Add(s.backoff(r.attempts))
		if next.After(r.giveUpAt) {
			next = r.giveUpAt // one last attempt at the end of the window
		}
		s.log.Warn("outbox: send failed, will retry", "id", r.id, "key", r.key, "to", r.rcp, "attempts", r.attempts,
			"next_at", next, "err", sendErr)
		res, err = q.ExecContext(ctx, `/* notify.finish */
			update outbox set status = 'queued', next_at = $1, claimed_until = null, last_error = $2
			where id = $3 and status = 'sending' and attempts = $4`, db.Time(next), errText(sendErr), r.id, r.attempts)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		s.log.Warn("outbox: lease ran out before the send ended; another worker has the message", "id", r.id, "key", r.key)
	}
	return nil
}

func errText(err error) string {
	return oneLine(err.Error(), 1000)
}

// redact returns the payload of a sensitive email without its body, to
// keep once it is sent; ok is false for any other payload.
func redact(payload []byte) (redacted string, ok bool) {
	var p emailPayload
	if json.Unmarshal(payload, &p) != nil || !p.Sensitive {
		return "", false
	}
	p.HTML, p.Text = "<p>(removed after sending)</p>", "(removed after sending)"
	b, _ := json.Marshal(p)
	return string(b), true
}

// Start runs the worker and the payable sweep in the background until the
// returned stop is called. Stop stops claiming, lets the sends in flight
// finish until ctx ends, then interrupts them (their rows go back to the
// queue at once).
func (s *Service) Start() (stop func(ctx context.Context) error) {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		panic("notify: Start called twice")
	}
	s.running = true
	s.mu.Unlock()
	loop, stopLoop := context.WithCancel(context.Background())
	sends, abort := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.work(loop, sends) }()
	go func() { defer wg.Done(); s.sweepLoop(loop) }()
	return func(ctx context.Context) error {
		stopLoop()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			abort()
			<-done
		}
		abort()
		return nil
	}
}

func (s *Service) work(ctx, sends context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		n, err := s.runOnce(ctx, sends)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Error("outbox: worker", "err", err)
		}
		if err == nil && n >= s.cfg.Batch {
			continue // more may be due
		}
		timer.Reset(s.cfg.Poll)
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-timer.C:
		}
	}
}
