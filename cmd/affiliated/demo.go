package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"affiliated/internal/config"
	"affiliated/internal/db"
	"affiliated/internal/demo"
)

const demoUsage = "usage: affiliated demo [--db DSN] [--clicks N] [--orders N] [--seed N] [--base-url URL]"

// demoCmd fills an empty database with the demo program (internal/demo).
func demoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opt := demo.Options{BaseURL: getenv("AFFILIATED_BASE_URL")}
	fs, dsn, err := dbFlags("demo", args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.IntVar(&opt.Clicks, "clicks", demo.DefaultClicks, "clicks over the 90 days of history")
		fs.IntVar(&opt.Orders, "orders", demo.DefaultOrders, "payments (sales and renewals)")
		fs.Uint64Var(&opt.Seed, "seed", 1, "random seed: the same seed gives the same data")
		fs.StringVar(&opt.BaseURL, "base-url", opt.BaseURL, "public URL of the server, for referral links (env AFFILIATED_BASE_URL)")
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &config.UsageError{Msg: demoUsage}
	}
	if opt.Clicks < 1 || opt.Orders < 1 {
		return &config.UsageError{Msg: "--clicks and --orders must be at least 1"}
	}
	d, _, err := openMigrated(ctx, dsn)
	if err != nil {
		return err
	}
	defer d.Close()
	opt.Log = slog.New(slog.NewTextHandler(stderr, nil))
	sum, err := demo.Fill(ctx, d, opt)
	if err != nil {
		return err
	}
	printDemo(stdout, sum)
	fmt.Fprintln(stdout, "next: affiliated token create --name demo   (an API token)")
	fmt.Fprintln(stdout, "      affiliated serve                      (then open the console)")
	return nil
}

func printDemo(w io.Writer, s *demo.Summary) {
	payout := "no payout (nothing payable yet)"
	if s.PayoutID != 0 {
		payout = fmt.Sprintf("payout %d paid to %d affiliates", s.PayoutID, s.PayoutLines)
	}
	fmt.Fprintf(w, "demo: %d programs, %d affiliates, %d clicks, %d payments, %d refunds, %s (took %s)\n",
		s.Programs, s.Affiliates, s.Clicks, s.Orders, s.Refunds, payout, s.Took)
}

// serveDemo fills the database with the demo at `serve --demo`, unless it
// already holds data: then it is left alone.
func serveDemo(ctx context.Context, d *db.DB, cfg *config.Config, log *slog.Logger) error {
	if !cfg.Demo {
		return nil
	}
	empty, err := demo.Empty(ctx, d)
	if err != nil {
		return err
	}
	if !empty {
		log.Info("--demo: the database already holds data; it is left as it is")
		return nil
	}
	log.Info("--demo: filling the empty database with demo data")
	sum, err := demo.Fill(ctx, d, demo.Options{BaseURL: cfg.BaseURL.String(), Log: log})
	if err != nil {
		return fmt.Errorf("--demo: %w", err)
	}
	log.Info("--demo: done", "programs", sum.Programs, "affiliates", sum.Affiliates, "clicks", sum.Clicks,
		"payments", sum.Orders, "refunds", sum.Refunds, "payout_id", sum.PayoutID, "took", sum.Took)
	return nil
}
