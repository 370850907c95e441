package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/config"
)

const adminUsage = "usage: affiliated admin add EMAIL | admin list [--db DSN]"

// admin manages owner accounts: the people who sign in to /admin with a
// one-time code sent to their email.
func admin(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return &config.UsageError{Msg: adminUsage}
	}
	sub, rest, email := args[0], args[1:], ""
	if sub == "add" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		email, rest = rest[0], rest[1:] // admin add EMAIL --db DSN
	}
	fs, dsn, err := dbFlags("admin "+sub, rest, getenv, stdout, nil)
	if err != nil {
		return err
	}
	if sub == "add" && email == "" && fs.NArg() == 1 {
		email = fs.Arg(0) // admin add --db DSN EMAIL
	} else if fs.NArg() > 0 {
		return &config.UsageError{Msg: adminUsage}
	}
	if (sub != "add" && sub != "list") || (sub == "add" && email == "") {
		return &config.UsageError{Msg: adminUsage}
	}
	d, _, err := openMigrated(ctx, dsn)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx = audit.WithActor(ctx, "cli")
	owners := &auth.Owners{DB: d, Audit: &audit.Log{DB: d}}
	if sub == "add" {
		o, err := owners.Add(ctx, email)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "owner %s added: sign in at /admin/login with a code sent to this address\n", o.Email)
		return nil
	}
	list, err := owners.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tCREATED")
	for _, o := range list {
		fmt.Fprintf(tw, "%s\t%s\n", o.Email, o.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
