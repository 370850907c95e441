package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"affiliated/internal/audit"
	"affiliated/internal/config"
	"affiliated/internal/ledger"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

const ledgerUsage = "usage: affiliated ledger verify | ledger rebuild --dry-run [--db DSN]"

// errDifferences makes the command exit 1 when the ledger disagrees with a recomputation.
type errDifferences int

func (e errDifferences) Error() string { return fmt.Sprintf("%d differences", int(e)) }

// ledgerCmd checks the ledger: verify recomputes every commission from its
// order and rule; rebuild --dry-run replays every raw delivery into a
// scratch database and reports what would differ.
func ledgerCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "rebuild") {
		return &config.UsageError{Msg: ledgerUsage}
	}
	sub := args[0]
	var dry bool
	fs, dsn, err := dbFlags("ledger "+sub, args[1:], getenv, stdout, func(fs *flag.FlagSet) {
		if sub == "rebuild" {
			fs.BoolVar(&dry, "dry-run", false, "replay into a scratch database and report; change nothing (required)")
		}
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &config.UsageError{Msg: ledgerUsage}
	}
	if sub == "rebuild" && !dry {
		return &config.UsageError{Msg: "ledger rebuild only runs with --dry-run: it reports, it never rewrites the ledger"}
	}
	d, _, err := openMigrated(ctx, dsn)
	if err != nil {
		return err
	}
	defer d.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	progs := &program.Store{DB: d, Audit: &audit.Log{DB: d}}
	l := &ledger.Ledger{DB: d, Log: log, Programs: progs, Clicks: &tracking.Stats{DB: d}}
	var diffs []ledger.Difference
	if sub == "verify" {
		if diffs, err = l.Verify(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "verified the ledger: %d differences\n", len(diffs))
	} else {
		dir, err := os.MkdirTemp("", "affiliated-replay-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		r, err := l.RebuildDryRun(ctx, dir)
		if err != nil {
			return err
		}
		diffs = r.Differences
		fmt.Fprintf(stdout, "replayed %d deliveries: %d orders, %d commissions, %d differences from the live ledger\n",
			r.Events, r.Orders, r.Commissions, len(diffs))
	}
	for _, df := range diffs {
		fmt.Fprintln(stdout, " ", df.String())
	}
	if len(diffs) > 0 {
		return errDifferences(len(diffs))
	}
	return nil
}
