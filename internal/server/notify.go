package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"affiliated/internal/config"
	"affiliated/internal/mail"
	"affiliated/internal/notify"
)

// setupNotify builds the outbox: the ledger announces through it, and,
// unless --workers=false, its worker and payable sweep run until shutdown.
// Without --smtp, mail goes to the dev mailbox (GET /api/v1/mailbox).
func (s *Server) setupNotify(_ *http.ServeMux) error {
	cfg := s.Config
	var sender mail.Sender
	if cfg.SMTPURL != "" {
		mc, err := mail.ParseURL(cfg.SMTPURL)
		if err != nil {
			return &config.UsageError{Msg: "invalid --smtp / AFFILIATED_SMTP_URL: " + err.Error()}
		}
		sender = mail.NewSMTP(mc)
	}
	svc, err := notify.New(notify.Config{
		DB: s.DB, Log: s.Log, Ledger: s.Ledger, Programs: s.Programs, Audit: s.Audit,
		BaseURL: cfg.BaseURL.String(), From: cfg.MailFrom, Owners: cfg.OwnerEmails, Sender: sender,
		RetryFor: cfg.OutboxRetryFor, Lease: cfg.OutboxLease, Sweep: cfg.PayableSweep,
		AllowPrivate: cfg.WebhooksAllowPrivate,
	})
	if err != nil {
		return err
	}
	s.Notify = svc
	s.Ledger.Notifier = svc
	s.Registry.MustRegister(backlogCollector{svc: svc, desc: prometheus.NewDesc("affiliated_outbox_messages",
		"Outbox messages not sent yet, by status (queued, sending, dead).", []string{"status"}, nil)})
	if sender == nil {
		s.Log.Info("no SMTP server configured (--smtp): emails go to the dev mailbox, GET /api/v1/mailbox")
	}
	if cfg.Workers {
		s.onStop(svc.Start())
	}
	return nil
}

// backlogCollector reports the outbox backlog at every scrape: a growing
// queued or dead count is what an alert should watch.
type backlogCollector struct {
	svc  *notify.Service
	desc *prometheus.Desc
}

func (c backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.svc.Backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, st := range []string{notify.StatusQueued, notify.StatusSending, notify.StatusDead} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), st)
	}
}
