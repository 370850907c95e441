// Package server assembles the application: it builds every store and
// surface from the configuration and an open database, and owns the
// lifecycle of background work. cmd/affiliated only parses and calls it;
// tests start the same server in-process.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"affiliated/internal/analytics"
	"affiliated/internal/api"
	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/config"
	"affiliated/internal/db"
	"affiliated/internal/httpx"
	"affiliated/internal/ledger"
	"affiliated/internal/notify"
	"affiliated/internal/outreach"
	"affiliated/internal/payments"
	"affiliated/internal/program"
	"affiliated/internal/public"
	"affiliated/internal/tracking"
)

// Server is a configured application.
type Server struct {
	Config   *config.Config
	DB       *db.DB
	Log      *slog.Logger
	Registry *prometheus.Registry

	Audit    *audit.Log
	Programs *program.Store
	Tokens   *auth.Tokens
	Resolver *tracking.Resolver
	Clicks   *tracking.Writer
	Journal  *tracking.ClickJournal // nil with --click-journal=off
	Stats    *tracking.Stats
	Ledger   *ledger.Ledger
	Outreach *outreach.Service

	Analytics *analytics.Service
	Notify    *notify.Service

	Handler http.Handler

	stops []func(ctx context.Context) error // run in reverse order at shutdown
}

// New builds a server on an open, migrated database.
func New(cfg *config.Config, d *db.DB, log *slog.Logger) (_ *Server, err error) {
	s := &Server{Config: cfg, DB: d, Log: log, Registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			_ = s.stop(context.Background()) // what started before the error (the click writer, journal, workers)
		}
	}()
	s.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	w, r := d.Pools()
	s.Registry.MustRegister(collectors.NewDBStatsCollector(w, "write"))
	if r != w {
		s.Registry.MustRegister(collectors.NewDBStatsCollector(r, "read"))
	}

	s.Audit = &audit.Log{DB: d}
	s.Programs = &program.Store{DB: d, Audit: s.Audit, BaseURL: cfg.BaseURL.String()}
	s.Tokens = &auth.Tokens{DB: d, Audit: s.Audit}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := d.Ping(ctx); err != nil {
			log.Warn("readyz: database unreachable", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("database unreachable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))

	s.Resolver = &tracking.Resolver{Programs: s.Programs, TTL: cfg.LinkCacheTTL, Timeout: cfg.ClickWaitTimeout}
	s.Programs.Changed = s.Resolver.Invalidate
	s.Clicks = tracking.NewWriter(d, log, tracking.WriterConfig{
		BatchSize: cfg.ClickBatchSize, BatchWait: cfg.ClickBatchWait, Queue: cfg.ClickQueue,
	}, s.Registry)
	s.onStop(s.Clicks.Close)
	s.Stats = &tracking.Stats{DB: d}
	if dir := journalDir(cfg.ClickJournal, d); dir != "" {
		jctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cj, err := tracking.OpenClickJournal(jctx, s.Clicks, log, tracking.JournalConfig{Dir: dir, BatchSize: cfg.ClickBatchSize, LoadWait: cfg.ClickLoadWait}, s.Registry)
		cancel()
		if err != nil {
			return nil, &config.UsageError{Msg: fmt.Sprintf("invalid --click-journal / AFFILIATED_CLICK_JOURNAL = %s: %v", cfg.ClickJournal, err)}
		}
		s.Journal = cj
		s.onStop(cj.Close) // before the writer's: stops run in reverse
		s.Stats.Sync = cj.Sync
	}
	(&public.Tracker{
		Log: log, Resolver: s.Resolver, Writer: s.Clicks, Journal: s.Journal,
		CookieName: cfg.CookieName, CookieDomain: cfg.CookieDomain, Secure: cfg.BaseURL.Scheme == "https",
		IPMode: cfg.IPMode, IPSalt: []byte(cfg.IPSalt), TrustProxy: cfg.TrustProxyHeaders,
		FallbackURL: cfg.FallbackURL, WaitTimeout: cfg.ClickWaitTimeout,
	}).Routes(mux)

	s.Ledger = &ledger.Ledger{DB: d, Log: log, Programs: s.Programs, Clicks: s.Stats}
	hooks := &public.Webhooks{
		Log: log, Ledger: s.Ledger, Tolerance: cfg.WebhookTolerance,
		PaddleSecrets: cfg.PaddleSecrets, LemonSqueezySecret: cfg.LemonSqueezySecret,
		StripeSecret: cfg.StripeSecret, GumroadToken: cfg.GumroadToken,
	}
	if cfg.PaddleClassicPublicKey != "" {
		key, err := payments.ParseRSAPublicKey(cfg.PaddleClassicPublicKey)
		if err != nil {
			return nil, &config.UsageError{Msg: "invalid --paddle-classic-public-key / AFFILIATED_PADDLE_CLASSIC_PUBLIC_KEY: " + err.Error()}
		}
		hooks.PaddleClassicKey = key
	}
	hooks.Routes(mux, s.Registry)

	if err := s.setupAnalytics(); err != nil {
		return nil, err
	}
	if err := s.setupNotify(mux); err != nil {
		return nil, err
	}
	if err := s.setupOutreach(mux); err != nil {
		return nil, err
	}
	(&api.API{Log: log, Programs: s.Programs, Tokens: s.Tokens, Stats: s.Stats, Counts: s.Stats.Counts, Ledger: s.Ledger,
		Notify: s.Notify, Analytics: s.Analytics, Outreach: s.Outreach}).Routes(mux)
	if err := s.setupPortal(mux); err != nil {
		return nil, err
	}
	if err := s.setupAdmin(mux); err != nil {
		return nil, err
	}

	s.Handler = httpx.Wrap(log, httpx.NewMetrics(s.Registry), mux)
	return s, nil
}

// journalDir returns the click journal's directory for --click-journal, or
// "" for none: auto puts it beside a SQLite file (affiliated.db-clicks,
// like SQLite's own -wal file) and uses none on PostgreSQL, where a
// replica's local disk may not outlive it.
func journalDir(opt string, d *db.DB) string {
	switch opt {
	case "off":
		return ""
	case "auto":
		if p := d.Path(); p != "" {
			return p + "-clicks"
		}
		return ""
	}
	return opt
}

// onStop registers fn to run at shutdown, after the listener has closed.
func (s *Server) onStop(fn func(ctx context.Context) error) { s.stops = append(s.stops, fn) }

// Serve answers on ln until ctx is done, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish (bounded by the shutdown
// timeout), then flushes and stops background work.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return errors.Join(err, s.stop(context.Background()))
	case <-ctx.Done():
	}
	s.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.Config.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.Log.Warn("in-flight requests did not finish in time", "timeout", s.Config.ShutdownTimeout)
		_ = hs.Close()
		err = nil
	}
	return errors.Join(err, s.stop(sctx))
}

func (s *Server) stop(ctx context.Context) error {
	var err error
	for i := len(s.stops) - 1; i >= 0; i-- {
		err = errors.Join(err, s.stops[i](ctx))
	}
	s.stops = nil
	return err
}
