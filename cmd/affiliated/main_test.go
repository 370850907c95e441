package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"affiliated/internal/auth"
	"affiliated/internal/config"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/server/servertest"
)

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd calls run as main does, with env as the whole environment.
func runCmd(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// wantUsageError checks for exit 2, nothing on stdout, and exactly one
// line on stderr that contains every one of names.
func wantUsageError(t *testing.T, r result, names ...string) {
	t.Helper()
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout on a usage error: %q", r.stdout)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || !strings.HasPrefix(r.stderr, "affiliated: ") {
		t.Fatalf("stderr must be one line starting with \"affiliated: \": %q", r.stderr)
	}
	for _, n := range names {
		if !strings.Contains(r.stderr, n) {
			t.Errorf("stderr %q does not name %q", r.stderr, n)
		}
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, ".go:") {
		t.Errorf("stderr looks like a stack trace: %q", r.stderr)
	}
}

func TestVersionAndHelp(t *testing.T) {
	r := runCmd(t, nil, "version")
	if r.code != 0 || r.stdout != "affiliated "+version+"\n" || r.stderr != "" {
		t.Fatalf("version: %+v", r)
	}
	for _, arg := range []string{"--help", "-h", "help"} {
		r = runCmd(t, nil, arg)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%s: %+v", arg, r)
		}
		for _, cmd := range []string{"serve", "migrate", "token", "version", "AFFILIATED_DB"} {
			if !strings.Contains(r.stdout, cmd) {
				t.Errorf("%s does not list %q:\n%s", arg, cmd, r.stdout)
			}
		}
	}
	// No command: the same help, on stderr, as a usage error.
	r = runCmd(t, nil)
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "serve") {
		t.Fatalf("no command: %+v", r)
	}
	wantUsageError(t, runCmd(t, nil, "frobnicate"), `"frobnicate"`)

	// The database commands list their own options.
	for _, c := range []struct {
		args  []string
		flags []string
	}{
		{[]string{"migrate", "--help"}, []string{"-db", "AFFILIATED_DB"}},
		{[]string{"token", "create", "-h"}, []string{"-db", "-name"}},
		{[]string{"token", "list", "--help"}, []string{"-db"}},
	} {
		r := runCmd(t, nil, c.args...)
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage: affiliated ") {
			t.Fatalf("%v: %+v", c.args, r)
		}
		for _, f := range c.flags {
			if !strings.Contains(r.stdout, f) {
				t.Errorf("%v does not list %s:\n%s", c.args, f, r.stdout)
			}
		}
	}
}

func TestServeHelpListsEveryOption(t *testing.T) {
	r := runCmd(t, nil, "serve", "--help")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("serve --help: %+v", r)
	}
	for _, o := range config.Options() {
		line := ""
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.Contains(l, "--"+o.Name+" ") {
				line = l
			}
		}
		if line == "" || !strings.Contains(line, o.Env) || (o.Default != "" && !strings.Contains(line, o.Default)) {
			t.Errorf("serve --help: option %s / %s (default %q) missing or incomplete: %q", o.Name, o.Env, o.Default, line)
		}
	}
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		names []string
	}{
		{"unknown flag", nil, []string{"--nope"}, []string{"-nope"}},
		{"unknown flag with value", nil, []string{"--db-url=x"}, []string{"-db-url"}},
		{"stray argument", nil, []string{"now"}, []string{`"now"`}},
		{"bad base url", nil, []string{"--base-url", "ftp://example.com"}, []string{"--base-url", "AFFILIATED_BASE_URL"}},
		{"relative base url", nil, []string{"--base-url=/x"}, []string{"--base-url"}},
		{"bad base url from env", map[string]string{"AFFILIATED_BASE_URL": "example.com"}, nil, []string{"AFFILIATED_BASE_URL"}},
		{"bad addr", nil, []string{"--addr", "nowhere"}, []string{"--addr"}},
		{"bad log level", nil, []string{"--log-level", "loud"}, []string{"--log-level"}},
		{"bad duration", nil, []string{"--shutdown-timeout", "5"}, []string{"--shutdown-timeout"}},
		{"unreachable postgres", nil, []string{"--db", "postgres://nobody@127.0.0.1:1/x"}, []string{"--db"}},
		{"unreachable postgres from env", map[string]string{"AFFILIATED_DB": "postgres://nobody@127.0.0.1:1/x"}, nil, []string{"AFFILIATED_DB"}},
		{"sqlite in a missing directory", nil, []string{"--db", filepath.Join(dir, "missing", "x.db")}, []string{"--db"}},
		{"secret not shown", nil, []string{"--ip-mode", "hash"}, []string{"--ip-salt"}},
		{"empty click journal", nil, []string{"--click-journal="}, []string{"--click-journal"}},
		{"click journal on a file", nil, []string{"--db", filepath.Join(dir, "j.db"), "--log-level", "warn", "--click-journal", notADir(t, dir)}, []string{"--click-journal"}},
		// serve logs what it sets up before it listens; warnings only keep stderr to the error.
		{"address in use", nil, []string{"--db", filepath.Join(dir, "a.db"), "--log-level", "warn", "--addr", "127.0.0.1:" + busyPort(t)}, []string{"--addr"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"serve"}, c.args...)
			if !strings.Contains(strings.Join(c.args, " "), "--addr") {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			wantUsageError(t, runCmd(t, c.env, args...), c.names...)
		})
	}
	// A DSN's password never reaches the message.
	r := runCmd(t, nil, "serve", "--addr", "127.0.0.1:0", "--db", "postgres://nobody:hunter2@127.0.0.1:1/x")
	wantUsageError(t, r, "--db")
	if strings.Contains(r.stderr, "hunter2") {
		t.Errorf("stderr shows the password: %s", r.stderr)
	}
}

// notADir returns the path of a plain file in dir.
func notADir(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// busyPort returns a port that is taken until the test ends.
func busyPort(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	t.Cleanup(func() { ln.Close() })
	return port(ln.Addr().String())
}

func TestTokenCommands(t *testing.T) {
	for engine, dsn := range dbtest.DSNs(t) {
		t.Run(engine, func(t *testing.T) {
			r := runCmd(t, nil, "token", "create", "--name", "deploy", "--db", dsn)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("token create: %+v", r)
			}
			if !regexp.MustCompile(`^aff_[a-z2-7]{32}\n$`).MatchString(r.stdout) {
				t.Fatalf("token create must print the token and nothing else: %q", r.stdout)
			}
			secret := strings.TrimSpace(r.stdout)

			// The database may also come from the environment.
			env := map[string]string{"AFFILIATED_DB": dsn}
			r = runCmd(t, env, "token", "list")
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("token list: %+v", r)
			}
			if !regexp.MustCompile(`(?m)^deploy +` + regexp.QuoteMeta(secret[:10]) + `… .* never +active$`).MatchString(r.stdout) {
				t.Fatalf("token list:\n%s", r.stdout)
			}
			if strings.Contains(r.stdout, secret[10:]) {
				t.Fatal("token list shows the secret")
			}

			r = runCmd(t, env, "token", "create", "--name", "deploy")
			if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, `"deploy" already exists`) {
				t.Fatalf("duplicate name: %+v", r)
			}

			// A server on the same database takes the token, until it is revoked.
			d, err := db.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			app := servertest.Start(t, d)
			if res := app.DoWith("GET", "/api/v1/programs", nil, http.Header{"Authorization": {"Bearer " + secret}}); res.Status != http.StatusOK {
				t.Fatalf("API with the CLI token: %d %s", res.Status, res.Body)
			}

			r = runCmd(t, env, "token", "revoke", "deploy")
			if r.code != 0 || r.stdout != "" || r.stderr != "" {
				t.Fatalf("token revoke: %+v", r)
			}
			if res := app.DoWith("GET", "/api/v1/programs", nil, http.Header{"Authorization": {"Bearer " + secret}}); res.Status != http.StatusUnauthorized {
				t.Fatalf("API with a revoked token: %d %s", res.Status, res.Body)
			}
			if _, err := (&auth.Tokens{DB: d}).Check(context.Background(), secret); err == nil {
				t.Fatal("revoked token still checks")
			}
			r = runCmd(t, env, "token", "list")
			if !regexp.MustCompile(`(?m)^deploy .* revoked 20\d\d-`).MatchString(r.stdout) || !strings.Contains(r.stdout, "test ") {
				t.Fatalf("token list after revoke:\n%s", r.stdout)
			}

			r = runCmd(t, env, "token", "revoke", "deploy")
			if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "deploy not found") || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("revoking twice: %+v", r)
			}
			r = runCmd(t, env, "token", "revoke", "nobody")
			if r.code != 1 || r.stdout != "" || r.stderr != "affiliated: active token nobody not found\n" {
				t.Fatalf("revoking an unknown token: %+v", r)
			}
			// The name is free again.
			r = runCmd(t, env, "token", "create", "--name=deploy")
			if r.code != 0 || !strings.HasPrefix(r.stdout, auth.TokenPrefix) || strings.TrimSpace(r.stdout) == secret {
				t.Fatalf("re-create: %+v", r)
			}
		})
	}
}

func TestTokenUsageErrors(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "t.db")
	for _, c := range []struct {
		args  string // "DB" stands for --db and a usable DSN
		names []string
	}{
		{"token", []string{"token create"}},
		{"token rotate DB", []string{"token create"}},
		{"token create DB", []string{"--name"}},
		{"token create DB --name a extra", []string{"--name"}},
		{"token create DB --bogus", []string{"-bogus"}},
		{"token revoke DB", []string{"NAME"}},
		{"token revoke DB a b", []string{"NAME"}},
		{"token list DB x", []string{"no arguments"}},
		{"token list --db postgres://nobody@127.0.0.1:1/x", []string{"--db"}},
		{"migrate DB now", []string{`"now"`}},
		{"migrate DB --nope", []string{"-nope"}},
		{"migrate --db postgres://nobody@127.0.0.1:1/x", []string{"--db", "AFFILIATED_DB"}},
	} {
		t.Run(c.args, func(t *testing.T) {
			var args []string
			for _, a := range strings.Fields(c.args) {
				if a == "DB" {
					args = append(args, "--db", dsn)
				} else {
					args = append(args, a)
				}
			}
			wantUsageError(t, runCmd(t, nil, args...), c.names...)
		})
	}
}

func TestMigrateCommand(t *testing.T) {
	for engine, dsn := range dbtest.DSNs(t) {
		t.Run(engine, func(t *testing.T) {
			r := runCmd(t, nil, "migrate", "--db", dsn)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("migrate: %+v", r)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			for _, l := range lines {
				if !regexp.MustCompile(`^applied \d{4}-\d\d-\d\d-\d+-[a-z0-9-]+$`).MatchString(l) {
					t.Fatalf("migrate output line %q", l)
				}
			}
			if lines[0] != "applied 2026-11-23-1-foundation" {
				t.Errorf("first migration %q", lines[0])
			}
			r = runCmd(t, map[string]string{"AFFILIATED_DB": dsn}, "migrate")
			if r.code != 0 || r.stdout != "up to date\n" || r.stderr != "" {
				t.Fatalf("second migrate: %+v", r)
			}
			// What migrate applied is the whole schema: the server needs nothing more.
			d, err := db.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if applied, err := d.Migrate(context.Background()); err != nil || len(applied) != 0 {
				t.Fatalf("after migrate, Migrate applied %v, %v", applied, err)
			}
		})
	}
}
