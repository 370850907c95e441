package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/money"
	"affiliated/internal/notify"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/server/servertest"
)

// newAffiliate creates a program and the affiliate Anna (code anna).
func newAnna(t *testing.T, app *servertest.App) affiliate {
	t.Helper()
	newProgram(t, app, "course")
	var a affiliate
	app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates",
		map[string]any{"email": "anna@example.com", "name": "Anna", "code": "anna"}, &a)
	return a
}

// eventually polls cond until it holds; the bound is on a hang, not a
// performance assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 60s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A signed Stripe sale webhook sends, through the real SMTP server, one
// email to the affiliate and one to the owner, multipart with the right
// amounts; a refund sends the reversal emails.
func TestSaleWebhookEmails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		smtp := smtptest.Start(t)
		const secret = "whsec_test"
		app := servertest.Start(t, d, "--smtp="+smtp.URL(), "--owner-emails=owner@example.com",
			"--stripe-secret="+secret, "--mail-from=news@example.com")
		newAnna(t, app)
		sale := paymentstest.Sale{OrderID: "pi_3Nsale", Amount: 4900, Currency: "USD", Referral: "anna",
			ProductName: "Go in Practice", Email: "buyer@example.net"}
		post := func(body []byte) {
			t.Helper()
			r := app.DoWith("POST", "/webhooks/stripe", body, http.Header{
				"Stripe-Signature": {payments.SignStripe(body, secret, time.Now())}, "Content-Type": {"application/json"}})
			if r.Status != http.StatusOK {
				t.Fatalf("webhook: %d %s", r.Status, r.Body)
			}
		}
		post(paymentstest.StripeSale(sale))

		var list struct {
			Data []struct {
				Amount   int64  `json:"amount"`
				Currency string `json:"currency"`
			} `json:"data"`
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/commissions", nil, &list)
		if len(list.Data) != 1 {
			t.Fatalf("%d commissions", len(list.Data))
		}
		commission := money.Format(money.Money{Amount: list.Data[0].Amount, Currency: "USD"})

		msgs := smtp.WaitFor(2, 60*time.Second)
		to := map[string]smtptest.Received{}
		for _, m := range msgs {
			to[m.To[0]] = m
		}
		for _, rcpt := range []string{"anna@example.com", "owner@example.com"} {
			m, ok := to[rcpt]
			if !ok {
				t.Fatalf("no email to %s", rcpt)
			}
			if m.ContentType != "multipart/alternative" || m.Text == "" || m.HTML == "" {
				t.Errorf("to %s: %s, text %d bytes, html %d bytes", rcpt, m.ContentType, len(m.Text), len(m.HTML))
			}
			for _, part := range []string{m.Text, m.HTML} {
				// A checkout session names no product: the program's name stands in.
				for _, want := range []string{"$49.00", commission, "USD", "Stripe", "course"} {
					if !strings.Contains(part, want) {
						t.Errorf("email to %s lacks %q", rcpt, want)
					}
				}
			}
		}
		if !strings.Contains(to["owner@example.com"].Text, "pi_3Nsale") {
			t.Error("the owner's email lacks the order id")
		}

		post(paymentstest.StripeRefund(sale, paymentstest.Refund{Amount: 4900}))
		msgs = smtp.WaitFor(4, 60*time.Second)
		if len(msgs) != 4 {
			t.Fatalf("%d messages, want 4", len(msgs))
		}
		for _, m := range msgs[2:] {
			if !strings.Contains(m.Text, "refunded") || !strings.Contains(m.Text, "-"+commission) {
				t.Errorf("reversal to %v: %s", m.To, m.Text)
			}
		}
	})
}

type endpointOut struct {
	ID     int64    `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
}

func TestWebhookEndpointsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		strict := servertest.Start(t, d)
		wantError(t, strict.Do("POST", "/api/v1/webhook-endpoints",
			map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"sale.created"}}), http.StatusBadRequest, "invalid", "url")
		wantError(t, strict.Do("POST", "/api/v1/webhook-endpoints",
			map[string]any{"url": "http://169.254.169.254/", "events": []string{"*"}}), http.StatusBadRequest, "invalid", "url")
		wantError(t, strict.Do("POST", "/api/v1/webhook-endpoints",
			map[string]any{"url": "ftp://93.184.215.14/", "events": []string{"*"}}), http.StatusBadRequest, "invalid", "url")
		wantError(t, strict.Do("POST", "/api/v1/webhook-endpoints",
			map[string]any{"url": "https://93.184.215.14/", "events": []string{"sale.made"}}), http.StatusBadRequest, "invalid", "events")

		var e endpointOut
		strict.MustDo(http.StatusCreated, "POST", "/api/v1/webhook-endpoints",
			map[string]any{"url": "https://93.184.215.14/hook", "events": []string{"sale.created", "refund.created"}}, &e)
		if !strings.HasPrefix(e.Secret, "whsec_") || len(e.Events) != 2 {
			t.Fatalf("created %+v", e)
		}
		var list struct{ Data []endpointOut }
		strict.MustDo(http.StatusOK, "GET", "/api/v1/webhook-endpoints", nil, &list)
		if len(list.Data) != 1 || list.Data[0].Secret != "" || list.Data[0].URL != e.URL {
			t.Fatalf("listed %+v: the secret is shown once only", list.Data)
		}
		strict.MustDo(http.StatusNoContent, "DELETE", "/api/v1/webhook-endpoints/"+itoa(e.ID), nil, nil)
		wantError(t, strict.Do("DELETE", "/api/v1/webhook-endpoints/"+itoa(e.ID), nil), http.StatusNotFound, "not_found", "")
		wantError(t, strict.Do("GET", "/api/v1/outbox?status=lost", nil), http.StatusBadRequest, "invalid", "status")
	})
}

// hookReceiver answers 500 until mended, verifying every signature.
type hookReceiver struct {
	mu       sync.Mutex
	secret   string
	mended   bool
	verified int
	failures []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := notify.Verify(h.secret, r.Header.Get(notify.SignatureHeader), body, 5*time.Minute, time.Now()); err != nil {
		h.failures = append(h.failures, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.verified++
	if !h.mended {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

type outboxRow struct {
	ID        int64  `json:"id"`
	Channel   string `json:"channel"`
	Topic     string `json:"topic"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// A delivery that keeps failing becomes dead when its retry window closes,
// is listed as dead, and POST …/retry sends it once the receiver is mended.
func TestOutboxDeadAndRetryAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		rcv := &hookReceiver{}
		srv := httptest.NewServer(rcv)
		t.Cleanup(srv.Close)
		// The window must leave room for a retry after the first attempt,
		// which may wait for the worker's 1 s poll on a busy machine (a 1 s
		// window then saw a single attempt).
		app := servertest.Start(t, d, "--webhooks-allow-private=true", "--outbox-retry-for=4s")
		newAnna(t, app)
		var e endpointOut
		app.MustDo(http.StatusCreated, "POST", "/api/v1/webhook-endpoints",
			map[string]any{"url": srv.URL + "/hook", "events": []string{"sale.created"}}, &e)
		rcv.mu.Lock()
		rcv.secret = e.Secret
		rcv.mu.Unlock()
		app.MustDo(http.StatusCreated, "POST", "/api/v1/conversions", map[string]any{"kind": "sale", "platform": "shop",
			"event_id": "e1", "order_id": "o1", "currency": "EUR", "gross": 9900, "referral": "anna"}, nil)

		var dead []outboxRow
		eventually(t, "the delivery to be dead", func() bool {
			var list struct{ Data []outboxRow }
			app.MustDo(http.StatusOK, "GET", "/api/v1/outbox?status=dead&channel=webhook", nil, &list)
			dead = list.Data
			return len(dead) == 1
		})
		if dead[0].Topic != "sale.created" || dead[0].Attempts < 2 || !strings.Contains(dead[0].LastError, "HTTP 500") {
			t.Fatalf("dead row %+v", dead[0])
		}
		if r := app.Do("GET", "/metrics", nil); !strings.Contains(string(r.Body), `affiliated_outbox_messages{status="dead"} 1`) {
			t.Errorf("/metrics does not count the dead message:\n%s", r.Body)
		}
		rcv.mu.Lock()
		rcv.mended = true
		rcv.mu.Unlock()
		var m outboxRow
		app.MustDo(http.StatusOK, "POST", "/api/v1/outbox/"+itoa(dead[0].ID)+"/retry", nil, &m)
		if m.Status != "queued" && m.Status != "sending" && m.Status != "sent" {
			t.Fatalf("after retry: %+v", m)
		}
		eventually(t, "the retried delivery to be sent", func() bool {
			app.MustDo(http.StatusOK, "GET", "/api/v1/outbox/"+itoa(dead[0].ID), nil, &m)
			return m.Status == "sent"
		})
		wantError(t, app.Do("POST", "/api/v1/outbox/"+itoa(dead[0].ID)+"/retry", nil), http.StatusConflict, "message_sent", "")
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if len(rcv.failures) > 0 || rcv.verified != m.Attempts {
			t.Errorf("receiver: %d verified, refused %v; the row counts %d attempts", rcv.verified, rcv.failures, m.Attempts)
		}
	})
}

// Without SMTP, emails land in the dev mailbox, listed with their HTML.
func TestDevMailboxAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d)
		newAnna(t, app)
		app.MustDo(http.StatusCreated, "POST", "/api/v1/conversions", map[string]any{"kind": "sale", "platform": "shop",
			"event_id": "e1", "order_id": "o1", "currency": "EUR", "gross": 9900, "referral": "anna", "product_name": "Tasting"}, nil)
		var box struct {
			Data []struct {
				Recipient string `json:"recipient"`
				Status    string `json:"status"`
				Subject   string `json:"subject"`
				HTML      string `json:"html"`
				Text      string `json:"text"`
			} `json:"data"`
			DevMailbox bool `json:"dev_mailbox"`
		}
		eventually(t, "the email to be delivered to the dev mailbox", func() bool {
			app.MustDo(http.StatusOK, "GET", "/api/v1/mailbox", nil, &box)
			return len(box.Data) == 1 && box.Data[0].Status == "sent"
		})
		e := box.Data[0]
		if !box.DevMailbox || e.Recipient != "anna@example.com" || !strings.Contains(e.HTML, "€99.00") ||
			!strings.Contains(e.Text, "Tasting") || !strings.Contains(e.Subject, "New sale") {
			t.Fatalf("mailbox %+v", box)
		}
	})
}
