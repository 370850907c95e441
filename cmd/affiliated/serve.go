package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"affiliated/internal/config"
	"affiliated/internal/db"
	"affiliated/internal/server"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load("serve", args, getenv, stdout)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	start := time.Now()
	// Take the address first: a port in use is reported before anything
	// touches the database or starts a worker.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &config.UsageError{Msg: fmt.Sprintf("invalid --addr / AFFILIATED_ADDR = %s: %v", cfg.Addr, err)}
	}
	defer ln.Close()
	d, err := openDB(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer d.Close()
	applied, err := d.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) > 0 {
		log.Info("migrated database", "applied", applied)
	}
	if err := serveDemo(ctx, d, cfg, log); err != nil {
		return err
	}
	srv, err := server.New(cfg, d, log)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL.String(),
		"db", string(d.Dialect()), "version", version, "startup", time.Since(start).Round(time.Millisecond))
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// openDB opens the database, reporting an unusable DSN as a configuration error.
func openDB(ctx context.Context, dsn string) (*db.DB, error) {
	d, err := db.Open(ctx, dsn)
	if err != nil {
		// One line, even when the driver's message spans several.
		msg := strings.Join(strings.Fields(err.Error()), " ")
		return nil, &config.UsageError{Msg: "invalid --db / AFFILIATED_DB: " + msg}
	}
	return d, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
