package outreach

import (
	"context"
	"strings"
	"testing"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/notify"
)

// smtpOutbox points e's outbox at a new in-process SMTP server.
func (e *env) smtpOutbox() *smtptest.Server {
	e.t.Helper()
	srv := smtptest.Start(e.t)
	cfg, err := mail.ParseURL(srv.URL())
	if err != nil {
		e.t.Fatal(err)
	}
	e.s.Outbox = withStatus{e.outbox(mail.NewSMTP(cfg))}
	return srv
}

// byRecipient groups messages by envelope recipient.
func byRecipient(t *testing.T, msgs []smtptest.Received) map[string][]smtptest.Received {
	t.Helper()
	out := map[string][]smtptest.Received{}
	for _, m := range msgs {
		if m.ParseErr != nil {
			t.Fatalf("message to %v: %v", m.To, m.ParseErr)
		}
		if len(m.To) != 1 {
			t.Fatalf("message to %v: one recipient per message expected", m.To)
		}
		out[m.To[0]] = append(out[m.To[0]], m)
	}
	return out
}

func TestSendOneMultipartMessagePerVendor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "Solare Wines", `<script>alert(1)</script> Deli`, "Forno Rosso")
		srv := e.smtpOutbox()
		in := e.content("Spring 2027")
		in.UTMContent = true
		c, err := e.s.Create(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Submit(ctx, c.ID, review()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Approve(ctx, c.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Send(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		// A second send is refused and queues nothing.
		if _, err := e.s.Send(ctx, c.ID); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("second send: %v", err)
		}
		e.drain()
		if _, err := e.s.Send(ctx, c.ID); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("send after sending: %v", err)
		}
		e.drain()

		got := byRecipient(t, srv.Messages())
		if len(got) != len(e.vendors) || len(srv.Messages()) != len(e.vendors) {
			t.Fatalf("%d messages to %d recipients, want one to each of %d", len(srv.Messages()), len(got), len(e.vendors))
		}
		for _, v := range e.vendors {
			msgs := got[v.Email]
			if len(msgs) != 1 {
				t.Fatalf("%s got %d messages", v.Email, len(msgs))
			}
			m := msgs[0]
			link := base + "/r/" + v.Code + "?utm_content=spring-2027"
			if m.ContentType != "multipart/alternative" || m.HTML == "" || m.Text == "" {
				t.Errorf("%s: %s with html %t text %t, want multipart/alternative with both", v.Email, m.ContentType, m.HTML != "", m.Text != "")
			}
			if !strings.Contains(m.HTML, `href="`+link+`"`) || !strings.Contains(m.Text, link) {
				t.Errorf("%s: own link %s missing:\nHTML %s\ntext %s", v.Email, link, m.HTML, m.Text)
			}
			for _, other := range e.vendors {
				if other.ID != v.ID && strings.Contains(string(m.Raw), "/r/"+other.Code) {
					t.Errorf("%s's message holds %s's link", v.Email, other.Email)
				}
			}
			if strings.Contains(m.HTML, "<script>") {
				t.Errorf("%s: unescaped name in HTML: %s", v.Email, m.HTML)
			}
			if m.Subject != "A partnership for "+v.Name {
				t.Errorf("%s: subject %q", v.Email, m.Subject)
			}
			if from := m.Header.Get("From"); from != `"Trattoria Owner" <owner@go.example.com>` {
				t.Errorf("%s: From %q", v.Email, from)
			}
			if rt := m.Header.Get("Reply-To"); rt != "<owner@trattoria.example>" && rt != "owner@trattoria.example" {
				t.Errorf("%s: Reply-To %q", v.Email, rt)
			}
			if want := mail.MessageIDFor(Key(c.ID, v.ID), "owner@go.example.com"); m.MessageID != want {
				t.Errorf("%s: Message-ID %q, want %q", v.Email, m.MessageID, want)
			}
		}
		list, p, err := e.s.Recipients(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p != (Progress{Total: 3, Sent: 3}) || len(list) != 3 {
			t.Fatalf("progress %+v, recipients %+v", p, list)
		}
		if e.state(c.ID) != StateSent {
			t.Fatalf("state %s", e.state(c.ID))
		}
	})
}

// Sweep settles a sending campaign that nobody reads.
func TestSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "Solare Wines", "Forno Rosso")
		c := e.reach(StateApproved, "Spring")
		if _, err := e.s.Send(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := e.state(c.ID); got != StateSending {
			t.Fatalf("swept before delivery: %s", got)
		}
		e.drain()
		if got := e.state(c.ID); got != StateSending {
			t.Fatalf("%s before the sweep", got) // e.state reads the row, settling nothing
		}
		if err := e.s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := e.state(c.ID); got != StateSent {
			t.Fatalf("after the sweep: %s", got)
		}
		if err := e.s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		ts := e.transitions(c.ID)
		if n := len(ts); ts[n-1].To != StateSent || ts[n-2].To != StateSending {
			t.Fatalf("transitions %+v", ts)
		}
	})
}

func TestSendRecordsFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "Solare Wines", "Forno Rosso")
		srv := e.smtpOutbox()
		srv.SetReject(func(rcpt string) (int, string) {
			if rcpt == e.vendors[1].Email {
				return 550, "mailbox unavailable"
			}
			return 0, ""
		})
		c := e.reach(StateApproved, "Spring")
		if _, err := e.s.Send(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		e.drain()
		list, p, err := e.s.Recipients(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p != (Progress{Total: 2, Sent: 1, Failed: 1}) {
			t.Fatalf("progress %+v", p)
		}
		for _, r := range list {
			failed := r.AffiliateID == e.vendors[1].ID
			if failed != (r.Status == DeliveryFailed) || failed != strings.Contains(r.Error, "550 5.0.0 mailbox unavailable") {
				t.Errorf("recipient %+v", r)
			}
		}
		got, err := e.s.Campaign(ctx, c.ID)
		if err != nil || got.State != StateSent {
			t.Fatalf("campaign %+v %v", got, err)
		}
		ts := e.transitions(c.ID)
		if last := ts[len(ts)-1]; last.To != StateSent || last.Comment != "settled with failures" {
			t.Fatalf("last transition %+v", last)
		}

		// The owner fixes the address and retries the dead message.
		srv.SetReject(nil)
		o := e.s.Outbox.(withStatus)
		dead, _, err := o.Messages(ctx, notify.Filter{Status: notify.StatusDead})
		if err != nil || len(dead) != 1 {
			t.Fatalf("dead messages %+v %v", dead, err)
		}
		if _, err := o.Retry(ctx, dead[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, p, _ := e.s.Recipients(ctx, c.ID); p != (Progress{Total: 2, Sent: 1, Queued: 1}) {
			t.Fatalf("after the retry: %+v", p)
		}
		e.drain()
		if _, p, _ := e.s.Recipients(ctx, c.ID); p != (Progress{Total: 2, Sent: 2}) {
			t.Fatalf("after the retried send: %+v", p)
		}
		if n := len(srv.Messages()); n != 2 {
			t.Fatalf("%d messages, want 2", n)
		}
	})
}

// A restart in the middle of a send (the worker stopped while a message is
// on the wire) sends the rest and repeats none.
func TestRestartMidSend(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "A", "B", "C", "D", "E")
		srv := smtptest.Start(t)
		cfg, err := mail.ParseURL(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		first := e.outbox(mail.NewSMTP(cfg))
		e.s.Outbox = withStatus{first}

		// The third message is held in the middle of its SMTP conversation.
		held, release := make(chan struct{}), make(chan struct{})
		defer func() {
			select {
			case <-release:
			default:
				close(release)
			}
		}()
		third := e.vendors[2].Email
		srv.SetReject(func(rcpt string) (int, string) {
			if rcpt == third {
				close(held)
				<-release
				return 451, "try again later"
			}
			return 0, ""
		})

		c := e.reach(StateApproved, "Spring")
		if _, err := e.s.Send(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		stop := first.Start()
		srv.WaitFor(2, time.Minute)
		select {
		case <-held:
		case <-time.After(time.Minute):
			t.Fatal("the third message never reached the SMTP server")
		}
		// Stop now: the message on the wire is interrupted and goes back
		// to the queue.
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		if err := stop(cancelled); err != nil {
			t.Fatal(err)
		}
		close(release)
		srv.SetReject(nil)
		if n := len(srv.Messages()); n != 2 {
			t.Fatalf("%d messages before the restart, want 2", n)
		}
		got, err := e.s.Campaign(ctx, c.ID)
		if err != nil || got.State != StateSending || *got.Progress != (Progress{Total: 5, Sent: 2, Queued: 3}) {
			t.Fatalf("before the restart: %+v %v", got.Progress, err)
		}

		// A new process: a new outbox on the same database.
		second := e.outbox(mail.NewSMTP(cfg))
		e.s.Outbox = withStatus{second}
		stop = second.Start()
		srv.WaitFor(5, time.Minute)
		deadline := time.Now().Add(time.Minute)
		for {
			got, err = e.s.Campaign(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == StateSent || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got.State != StateSent || *got.Progress != (Progress{Total: 5, Sent: 5}) {
			t.Fatalf("after the restart: %s %+v", got.State, got.Progress)
		}
		per := byRecipient(t, srv.Messages())
		for _, v := range e.vendors {
			if n := len(per[v.Email]); n != 1 {
				t.Errorf("%s got %d messages, want 1", v.Email, n)
			}
		}
		if n := len(srv.Messages()); n != 5 {
			t.Errorf("%d messages in all, want 5", n)
		}
	})
}
