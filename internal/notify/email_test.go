package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/ledger"
	"affiliated/internal/mail"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/program"
)

// A sale sends one email to the affiliate and one to the owner, each
// multipart/alternative with an HTML and a plain-text part that give the
// product, platform, order amount and currency, commission, status and
// payable date, amounts formatted per currency; the owner's adds the
// affiliate and the order. A refund sends the reversal emails.
func TestSaleAndRefundEmails(t *testing.T) {
	tests := []struct {
		currency               string
		gross                  int64
		order, commission, cut string // formatted: order amount, commission, commission after refunding half
	}{
		{"USD", 4900, "$49.00", "$24.50", "-$12.25"},
		{"JPY", 12500, "¥12,500", "¥6,250", "-¥3,125"},
		{"CHF", 123456, "1,234.56 CHF", "617.28 CHF", "-308.64 CHF"},
	}
	for _, tt := range tests {
		t.Run(tt.currency, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				f := newFixture(t, d)
				order := "pi_" + tt.currency
				f.sale(order, tt.currency, tt.gross)
				if n := drain(t, f.svc); n != 2 {
					t.Fatalf("claimed %d rows, want 2", n)
				}
				got := byRecipient(t, f.smtp.WaitFor(2, 10*time.Second))
				aff, owner := got["anna@example.com"], got["owner@example.com"]
				if len(aff) != 1 || len(owner) != 1 || len(f.smtp.Messages()) != 2 {
					t.Fatalf("messages by recipient: %v", keys(got))
				}
				for _, m := range []smtptest.Received{aff[0], owner[0]} {
					if m.ContentType != "multipart/alternative" || len(m.Parts) != 2 || m.Text == "" || m.HTML == "" {
						t.Errorf("to %v: %s with %d parts, want multipart/alternative with text and HTML", m.To, m.ContentType, len(m.Parts))
					}
					for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
						wantAll(t, part+" to "+m.To[0], body, "Go in Practice", "Stripe", tt.order, tt.currency, tt.commission,
							"pending", "31 March 2026")
					}
				}
				wantAll(t, "affiliate's text", aff[0].Text, "Hi Anna", "https://go.example.com/portal", "50% of")
				wantAll(t, "affiliate's html", aff[0].HTML, `href="https://go.example.com/portal"`)
				wantAll(t, "affiliate's subject", aff[0].Subject, "New sale", tt.commission)
				for part, body := range map[string]string{"text": owner[0].Text, "html": owner[0].HTML} {
					wantAll(t, "owner's "+part, body, "Anna", "anna@example.com", "code anna", order, "#1")
				}
				if strings.Contains(aff[0].Text, "buyer@example.net") || strings.Contains(owner[0].Text, "buyer@example.net") {
					t.Error("the buyer's address is in an email")
				}
				if want := mail.MessageIDFor("commission:1:created:email:affiliate", "news@example.com"); aff[0].MessageID != want {
					t.Errorf("Message-ID %s, want %s (derived from the key)", aff[0].MessageID, want)
				}

				f.refund(order, tt.gross/2)
				if n := drain(t, f.svc); n != 2 {
					t.Fatalf("after the refund, claimed %d rows, want 2", n)
				}
				all := f.smtp.WaitFor(4, 10*time.Second)
				got = byRecipient(t, all[2:])
				raff, rowner := got["anna@example.com"], got["owner@example.com"]
				if len(raff) != 1 || len(rowner) != 1 {
					t.Fatalf("reversal messages by recipient: %v", keys(got))
				}
				for _, m := range []smtptest.Received{raff[0], rowner[0]} {
					if m.ContentType != "multipart/alternative" || m.Text == "" || m.HTML == "" {
						t.Errorf("reversal to %v: %s", m.To, m.ContentType)
					}
					for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
						wantAll(t, "reversal "+part+" to "+m.To[0], body, "refunded", tt.cut, "Go in Practice", tt.order)
					}
					wantAll(t, "reversal subject", m.Subject, "Refund", tt.cut)
				}
				wantAll(t, "owner's reversal", rowner[0].Text, "Anna", order)
			})
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// An affiliate who opted out of sale emails gets none (the owner still
// does), but a sign-in code always goes.
func TestOptOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.anna.NotifySales = false
		if err := f.progs.UpdateAffiliate(ctx, f.anna); err != nil {
			t.Fatal(err)
		}
		f.sale("pi_1", "USD", 1000)
		f.refund("pi_1", 1000)
		if _, err := f.svc.SignInCode(ctx, "signin:1", f.anna.Email, f.anna.Name, "483920", t0.Add(15*time.Minute)); err != nil {
			t.Fatal(err)
		}
		drain(t, f.svc)
		msgs := f.smtp.WaitFor(3, 10*time.Second)
		got := byRecipient(t, msgs)
		if len(got["owner@example.com"]) != 2 || len(got["anna@example.com"]) != 1 || len(msgs) != 3 {
			t.Fatalf("got %d messages: owner %d, anna %d; want the owner's two and Anna's sign-in code",
				len(msgs), len(got["owner@example.com"]), len(got["anna@example.com"]))
		}
		code := got["anna@example.com"][0]
		wantAll(t, "sign-in code", code.Subject+code.Text+code.HTML, "483920", "1 March 2026, 12:15 UTC")
	})
}

// A sign-in code jumps the queue: with one message claimed at a time, it is
// sent before the sale emails queued earlier.
func TestSignInCodeFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) { c.Batch = 1 })
		f.sale("pi_1", "USD", 1000)
		f.sale("pi_2", "USD", 2000)
		if _, err := f.svc.SignInCode(context.Background(), "signin:x", "ann@example.org", "", "111222", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.RunOnce(context.Background()); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		first := f.smtp.WaitFor(1, 10*time.Second)[0]
		if first.To[0] != "ann@example.org" || !strings.Contains(first.Text, "111222") {
			t.Fatalf("first message went to %v (%q), want the sign-in code", first.To, first.Subject)
		}
		drain(t, f.svc)
		if n := len(f.smtp.WaitFor(5, 10*time.Second)); n != 5 {
			t.Fatalf("%d messages, want 5", n)
		}
	})
}

// SMTP down while sales arrive: nothing is lost, and once it is back every
// message arrives exactly once (distinct Message-IDs, one per row).
func TestSMTPDown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.smtp.Stop()
		for _, o := range []string{"pi_1", "pi_2", "pi_3", "pi_4", "pi_5"} {
			f.sale(o, "EUR", 2500)
		}
		if n := drain(t, f.svc); n != 10 {
			t.Fatalf("claimed %d, want 10 (each once: failures wait for their backoff)", n)
		}
		for _, m := range f.rows(Filter{}) {
			if m.Status != StatusQueued || m.Attempts != 1 || m.LastError == "" || !m.NextAt.After(t0) {
				t.Errorf("row %s: %s, %d attempts, next %v, error %q; want queued for a retry", m.Key, m.Status, m.Attempts, m.NextAt, m.LastError)
			}
		}
		f.smtp.Restart()
		if n := drain(t, f.svc); n != 0 {
			t.Fatalf("claimed %d before the backoff passed", n)
		}
		f.advance(time.Hour) // more than the longest first backoff
		if n := drain(t, f.svc); n != 10 {
			t.Fatalf("claimed %d after the backoff, want 10", n)
		}
		msgs := f.smtp.WaitFor(10, 10*time.Second)
		ids := map[string]bool{}
		for _, m := range msgs {
			if ids[m.MessageID] {
				t.Errorf("Message-ID %s arrived twice", m.MessageID)
			}
			ids[m.MessageID] = true
		}
		if len(msgs) != 10 {
			t.Errorf("%d messages arrived, want 10", len(msgs))
		}
		for _, m := range f.rows(Filter{}) {
			if m.Status != StatusSent || m.SentAt == nil || m.Attempts != 2 {
				t.Errorf("row %s: %s after %d attempts", m.Key, m.Status, m.Attempts)
			}
		}
	})
}

// A notice delivered twice (the same key) queues its messages once.
func TestNoticeIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.sale("pi_1", "USD", 1000)
		n := ledger.Notice{Type: NoticeCommissionCreated, Key: "commission:1:created", CommissionID: 1, OrderID: 1, AffiliateID: f.anna.ID}
		if err := f.svc.Notify(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		if got := len(f.rows(Filter{})); got != 2 {
			t.Fatalf("%d rows, want 2", got)
		}
		id, created, err := f.svc.EnqueueEmail(context.Background(), Email{Key: "commission:1:created:email:affiliate",
			To: "x@example.com", Subject: "s", Text: "t"})
		if err != nil || created || id != 0 {
			t.Fatalf("EnqueueEmail of a known key = %d, %v, %v; want a no-op", id, created, err)
		}
	})
}

// Without SMTP, mail goes to the dev mailbox: marked sent, listed with its
// rendered parts, the sign-in code readable.
func TestDevMailbox(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) { c.Sender = nil })
		if !f.svc.DevMailbox() {
			t.Fatal("no sender, yet not the dev mailbox")
		}
		f.sale("pi_1", "USD", 1000)
		if _, err := f.svc.SignInCode(context.Background(), "signin:1", "anna@example.com", "Anna", "909090", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		drain(t, f.svc)
		list, _, err := f.svc.Mailbox(context.Background(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 || len(f.smtp.Messages()) != 0 {
			t.Fatalf("mailbox holds %d, SMTP got %d; want 3 and 0", len(list), len(f.smtp.Messages()))
		}
		for _, e := range list {
			if e.Status != StatusSent || e.HTML == "" || e.Text == "" || e.MessageID == "" {
				t.Errorf("mailbox entry %s: %s, html %d bytes, text %d bytes", e.Key, e.Status, len(e.HTML), len(e.Text))
			}
		}
		if !strings.Contains(list[0].HTML, "909090") {
			t.Errorf("the newest entry is not the readable sign-in code: %s", list[0].Subject)
		}
	})
}

// With SMTP, a sign-in code's body is removed from the row once sent.
func TestSensitiveRedacted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		if _, err := f.svc.SignInCode(context.Background(), "signin:1", "anna@example.com", "Anna", "777111", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		drain(t, f.svc)
		if m := f.smtp.WaitFor(1, 10*time.Second)[0]; !strings.Contains(m.Text, "777111") {
			t.Fatalf("the code did not reach the server: %s", m.Text)
		}
		list, _, err := f.svc.Mailbox(context.Background(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || strings.Contains(list[0].HTML+list[0].Text, "777111") {
			t.Fatalf("the sent code is still stored: %+v", list)
		}
	})
}

// A permanent SMTP refusal (550) makes the row dead at once; Retry puts it
// back in the queue and it is sent.
func TestPermanentFailureAndRetry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.smtp.FailNext(550, "mailbox unavailable", 1)
		if _, _, err := f.svc.EnqueueEmail(context.Background(), Email{Key: "k1", To: "nobody@example.com", Subject: "Hi", Text: "Hello"}); err != nil {
			t.Fatal(err)
		}
		drain(t, f.svc)
		m := f.rows(Filter{})[0]
		if m.Status != StatusDead || !strings.Contains(m.LastError, "550") {
			t.Fatalf("after a 550: %s (%q), want dead", m.Status, m.LastError)
		}
		if _, err := f.svc.Retry(context.Background(), m.ID); err != nil {
			t.Fatal(err)
		}
		drain(t, f.svc)
		if m := f.rows(Filter{})[0]; m.Status != StatusSent {
			t.Fatalf("after retry: %s (%q)", m.Status, m.LastError)
		}
		if _, err := f.svc.Retry(context.Background(), m.ID); err == nil {
			t.Fatal("retrying a sent message succeeded")
		}
	})
}

// The welcome email on approval carries the referral link and, when the
// affiliate has one, the discount code for their audience, in both parts.
func TestWelcomeEmail(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		bare := program.NewAffiliate()
		bare.ProgramID, bare.Name, bare.Email = f.prog.ID, "Ben", "ben@example.com"
		if err := f.progs.CreateAffiliate(ctx, bare); err != nil {
			t.Fatal(err)
		}
		for _, a := range []*program.Affiliate{f.anna, bare} {
			if err := f.svc.Notify(ctx, ledger.Notice{Type: NoticeAffiliateApproved, Key: "approved:" + a.Code, AffiliateID: a.ID}); err != nil {
				t.Fatal(err)
			}
		}
		drain(t, f.svc)
		got := byRecipient(t, f.smtp.WaitFor(2, 10*time.Second))
		anna, ben := got["anna@example.com"], got["ben@example.com"]
		if len(anna) != 1 || len(ben) != 1 {
			t.Fatalf("welcome emails by recipient: %v", keys(got))
		}
		for part, body := range map[string]string{"text": anna[0].Text, "html": anna[0].HTML} {
			wantAll(t, "Anna's "+part, body, "Hi Anna", f.progs.ReferralURL(f.anna), "ANNA15", "https://go.example.com/portal")
		}
		for part, body := range map[string]string{"text": ben[0].Text, "html": ben[0].HTML} {
			wantAll(t, "Ben's "+part, body, "Hi Ben", f.progs.ReferralURL(bare))
			if strings.Contains(body, "discount code") {
				t.Errorf("Ben has no coupon, yet his %s mentions a discount code:\n%s", part, body)
			}
		}
	})
}

// A sale's emails are queued as their template and data and rendered when
// sent: the mailbox shows a queued one as it will be sent, and what the
// SMTP server receives is what the mailbox showed.
func TestQueuedEmailShownAsSent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.sale("pi_1", "EUR", 9900)
		queued, _, err := f.svc.Mailbox(context.Background(), Filter{Status: StatusQueued})
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) != 2 {
			t.Fatalf("%d queued emails, want 2", len(queued))
		}
		drain(t, f.svc)
		sent := byRecipient(t, f.smtp.WaitFor(2, 10*time.Second))
		norm := func(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }
		for _, q := range queued {
			wantAll(t, "queued html to "+q.Recipient, q.HTML, "€99.00", "Go in Practice")
			m := sent[q.Recipient]
			if len(m) != 1 {
				t.Fatalf("%s received %d emails, want 1", q.Recipient, len(m))
			}
			if m[0].Subject != q.Subject || norm(m[0].Text) != norm(q.Text) || norm(m[0].HTML) != norm(q.HTML) {
				t.Errorf("to %s: sent\n%s\n%s\nbut the mailbox showed\n%s\n%s", q.Recipient, m[0].Subject, m[0].Text, q.Subject, q.Text)
			}
		}
	})
}
