package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"affiliated/internal/db/dbtest"
)

// The real binary is built once per test run, into a directory TestMain removes.
var (
	buildDir  string
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "affiliated-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the path of the built command, building it the first time.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildPath = filepath.Join(buildDir, "affiliated")
		cmd := exec.Command("go", "build", "-o", buildPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// childEnv is the test's environment without any AFFILIATED_ setting, so
// only the flags a test passes configure the child.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AFFILIATED_") {
			env = append(env, kv)
		}
	}
	return env
}

// proc is a running `affiliated serve`.
type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *lockedBuffer
	done chan error // receives Wait's result
}

// startServer runs the binary's serve on dsn and waits for /readyz,
// returning the server and how long it took to become ready.
func startServer(t *testing.T, bin, dsn string) (*proc, time.Duration) {
	t.Helper()
	addr := freeAddr(t)
	s := &proc{url: "http://" + addr, logs: &lockedBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "serve", "--addr", addr, "--db", dsn, "--shutdown-timeout", "10s")
	s.cmd.Dir = t.TempDir() // no stray files in the package directory
	s.cmd.Env = childEnv()
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for i := 0; ; i++ {
		select {
		case err := <-s.done:
			t.Fatalf("serve exited before it was ready: %v\n%s", err, s.logs.String())
		default:
		}
		if res, err := client.Get(s.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, time.Since(start)
			}
		}
		if i == 3000 { // 30 s at 10 ms: far beyond any healthy start
			t.Fatalf("/readyz never answered 200\n%s", s.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends sig and checks a clean exit with status 0 and a "stopped" log line.
func (s *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("after %v: %v\n%s", sig, err, s.logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Fatalf("still running 30 s after %v\n%s", sig, s.logs.String())
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d after %v", code, sig)
	}
	logs := s.logs.String()
	for _, want := range []string{"msg=listening", "msg=\"shutting down\"", "msg=stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "panic") {
		t.Errorf("errors in the log:\n%s", logs)
	}
}

// call sends a JSON request with token and decodes the answer into out.
func (s *proc) call(t *testing.T, token, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// tokenCreate runs the binary's `token create` and returns the token.
func tokenCreate(t *testing.T, bin, dsn, name string) string {
	t.Helper()
	cmd := exec.Command(bin, "token", "create", "--name", name, "--db", dsn)
	cmd.Dir, cmd.Env = t.TempDir(), childEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token create: %v: %s", err, stderr.String())
	}
	if strings.Count(string(out), "\n") != 1 || !strings.HasPrefix(string(out), "aff_") || stderr.Len() != 0 {
		t.Fatalf("token create printed %q, stderr %q", out, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func TestBinary(t *testing.T) {
	bin := binary(t)
	if fi, err := os.Stat(bin); err == nil {
		t.Logf("binary size: %.1f MiB (%d bytes, go build without flags)", float64(fi.Size())/(1<<20), fi.Size())
	}
	for engine, dsn := range dbtest.DSNs(t) {
		t.Run(engine, func(t *testing.T) {
			// First start: an empty database, created and migrated by serve.
			srv, cold := startServer(t, bin, dsn)
			t.Logf("%s: cold start (process start → /readyz 200, fresh database): %v", engine, cold.Round(time.Millisecond))

			token := tokenCreate(t, bin, dsn, "e2e")
			var p struct {
				ID   int64  `json:"id"`
				Slug string `json:"slug"`
			}
			srv.call(t, token, "POST", "/api/v1/programs",
				map[string]any{"name": "Wine Club", "destination_url": "https://wine.example.com/"}, http.StatusCreated, &p)
			var a struct {
				ID          int64  `json:"id"`
				Code        string `json:"code"`
				ReferralURL string `json:"referral_url"`
			}
			srv.call(t, token, "POST", "/api/v1/affiliates",
				map[string]any{"email": "solare@example.com", "name": "Solare", "program": p.Slug}, http.StatusCreated, &a)
			if a.Code != "solare" || a.ReferralURL != srv.url+"/r/solare" {
				t.Fatalf("affiliate %+v", a)
			}
			srv.call(t, "aff_wrong", "GET", "/api/v1/programs", nil, http.StatusUnauthorized, nil)
			srv.stop(t, syscall.SIGTERM)

			// Second start on the same database: nothing to migrate, the data and the token are still there.
			srv, warm := startServer(t, bin, dsn)
			t.Logf("%s: start on an existing database: %v", engine, warm.Round(time.Millisecond))
			if strings.Contains(srv.logs.String(), "migrated database") {
				t.Errorf("second start migrated again:\n%s", srv.logs.String())
			}
			var got struct {
				Email string `json:"email"`
			}
			srv.call(t, token, "GET", fmt.Sprintf("/api/v1/affiliates/%d", a.ID), nil, http.StatusOK, &got)
			if got.Email != "solare@example.com" {
				t.Fatalf("after restart: %+v", got)
			}
			srv.stop(t, os.Interrupt)
		})
	}
}

// TestBinaryConfigError checks that the real process, not just run, exits 2
// with one line for a bad option.
func TestBinaryConfigError(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", "postgres://nobody@127.0.0.1:1/x")
	cmd.Dir, cmd.Env = t.TempDir(), childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v", err)
	}
	if stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "--db") {
		t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
