package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"affiliated/internal/notify"
	"affiliated/internal/outreach"
	"affiliated/internal/public"
)

// outreachSweep is how often sending campaigns are checked, so that one is
// marked sent even when nobody looks at it (reading a campaign settles it too).
const outreachSweep = 15 * time.Second

// setupOutreach builds vendor outreach on the outbox (setupNotify must have
// run) for the API (/api/v1/outreach/…, /api/v1/tasks), registers the
// public read-only preview (/preview/{token}), and, with the workers on,
// the sweep that marks campaigns sent.
func (s *Server) setupOutreach(mux *http.ServeMux) error {
	if s.Notify == nil {
		return errors.New("outreach needs the outbox: set up notify first")
	}
	svc := &outreach.Service{
		DB: s.DB, Audit: s.Audit, Programs: s.Programs, Outbox: outbox{s.Notify},
		From: s.Config.MailFrom, BaseURL: s.Config.BaseURL.String(), Counts: s.Stats.Counts,
	}
	s.Outreach = svc // its API routes are registered with the rest of /api/v1
	(&public.Previews{Log: s.Log, Outreach: svc}).Routes(mux)
	if s.Config.Workers {
		s.onStop(sweepOutreach(s, svc))
	}
	return nil
}

// sweepOutreach runs svc.Sweep now and then until the returned stop is called.
func sweepOutreach(s *Server, svc *outreach.Service) func(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(outreachSweep)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := svc.Sweep(ctx); err != nil && ctx.Err() == nil {
					s.Log.Warn("outreach: sweep", "err", err)
				}
			}
		}
	}()
	return func(context.Context) error {
		cancel()
		<-done
		return nil
	}
}

// outbox adds to the notify service what outreach reads back: a message's
// status by id.
type outbox struct{ *notify.Service }

func (o outbox) MessageStatus(ctx context.Context, id int64) (status, lastError string, err error) {
	m, err := o.Message(ctx, id)
	if err != nil {
		return "", "", err
	}
	return m.Status, m.LastError, nil
}
