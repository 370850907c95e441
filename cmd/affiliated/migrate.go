package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"affiliated/internal/config"
	"affiliated/internal/db"
)

// dbFlags parses the options of the commands that only need a database.
func dbFlags(name string, args []string, getenv func(string) string, out io.Writer, extra func(fs *flag.FlagSet)) (*flag.FlagSet, string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a mistake is reported on one line by run, not with a usage dump on stdout
	def := getenv("AFFILIATED_DB")
	if def == "" {
		def = "affiliated.db"
	}
	dsn := fs.String("db", def, "database: a SQLite file path, or postgres://… (env AFFILIATED_DB)")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintf(out, "Usage: affiliated %s [options]\n\nOptions:\n", name)
			fs.SetOutput(out)
			fs.PrintDefaults()
			return nil, "", err
		}
		return nil, "", &config.UsageError{Msg: err.Error()}
	}
	return fs, *dsn, nil
}

func openMigrated(ctx context.Context, dsn string) (*db.DB, []string, error) {
	d, err := openDB(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	applied, err := d.Migrate(ctx)
	if err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return d, applied, nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs, dsn, err := dbFlags("migrate", args, getenv, stdout, nil)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &config.UsageError{Msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	d, applied, err := openMigrated(ctx, dsn)
	if err != nil {
		return err
	}
	defer d.Close()
	for _, m := range applied {
		fmt.Fprintln(stdout, "applied", m)
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "up to date")
	}
	return nil
}
