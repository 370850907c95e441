package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/config"
)

const tokenUsage = "usage: affiliated token create --name NAME | token list | token revoke NAME [--db DSN]"

// token manages API tokens. "create" prints the secret and nothing else on
// stdout, so scripts can capture it.
func token(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return &config.UsageError{Msg: tokenUsage}
	}
	sub := args[0]
	var name string
	fs, dsn, err := dbFlags("token "+sub, args[1:], getenv, stdout, func(fs *flag.FlagSet) {
		if sub == "create" {
			fs.StringVar(&name, "name", "", "name of the token (required)")
		}
	})
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if name == "" || fs.NArg() > 0 {
			return &config.UsageError{Msg: "token create needs --name NAME"}
		}
	case "revoke":
		if fs.NArg() != 1 {
			return &config.UsageError{Msg: "token revoke needs exactly one NAME"}
		}
		name = fs.Arg(0)
	case "list":
		if fs.NArg() > 0 {
			return &config.UsageError{Msg: "token list takes no arguments"}
		}
	default:
		return &config.UsageError{Msg: tokenUsage}
	}
	d, _, err := openMigrated(ctx, dsn)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx = audit.WithActor(ctx, "cli")
	tokens := &auth.Tokens{DB: d, Audit: &audit.Log{DB: d}}
	switch sub {
	case "create":
		secret, _, err := tokens.Create(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
	case "revoke":
		if err := tokens.Revoke(ctx, name); err != nil {
			return err
		}
	case "list":
		list, err := tokens.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tPREFIX\tCREATED\tLAST USED\tSTATUS")
		for _, t := range list {
			used, status := "never", "active"
			if t.LastUsedAt != nil {
				used = t.LastUsedAt.Format(time.RFC3339)
			}
			if t.RevokedAt != nil {
				status = "revoked " + t.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\n", t.Name, t.Prefix, t.CreatedAt.Format(time.RFC3339), used, status)
		}
		return tw.Flush()
	}
	return nil
}
