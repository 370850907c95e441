// Command affiliated is a self-hosted affiliate and referral tracking server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"affiliated/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `affiliated: self-hosted affiliate and referral tracking

Usage: affiliated <command> [options]

Commands:
  serve     run the server (see affiliated serve --help for every option)
  migrate   apply database migrations and exit
  token     manage API tokens: token create --name NAME | token list | token revoke NAME
  ledger    check the ledger: ledger verify | ledger rebuild --dry-run
  demo      fill an empty database with demo data: demo [--clicks N] [--orders N]
  admin     manage owner accounts: admin add EMAIL | admin list
  version   print the version

The database is chosen by --db / AFFILIATED_DB (default: the SQLite file affiliated.db).
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" && os.Getenv("GOMAXPROCS") == "" {
		// Twice as many Ps as the runtime would use. The server's background
		// work (the click journal's loader, SQLite's checkpoints) runs in
		// bursts of milliseconds of CPU; with one P per core a burst takes a
		// P from the redirects until Go preempts it, after up to 10 ms. With
		// more Ps than cores the kernel shares the cores at a finer grain.
		// Measured on 2 cores (docs/BENCHMARKS.md): redirect p99 16 -> 12 ms
		// at the same throughput. GOMAXPROCS in the environment wins. (The
		// pools sized from it grow too: 16 PostgreSQL connections per replica
		// on 2 cores, 8 SQLite readers.)
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code: 0 on
// success, 2 for a usage or configuration mistake, 1 for any other failure.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], getenv, stdout)
	case "token":
		err = token(ctx, args[1:], getenv, stdout)
	case "ledger":
		err = ledgerCmd(ctx, args[1:], getenv, stdout, stderr)
	case "demo":
		err = demoCmd(ctx, args[1:], getenv, stdout, stderr)
	case "admin":
		err = admin(ctx, args[1:], getenv, stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "affiliated", version)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
	default:
		err = &config.UsageError{Msg: fmt.Sprintf("unknown command %q (see affiliated --help)", args[0])}
	}
	var ue *config.UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "affiliated:", ue.Msg)
		return 2
	default:
		fmt.Fprintln(stderr, "affiliated:", err)
		return 1
	}
}
