package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail/smtptest"
)

// The real binary is killed (SIGKILL) while its worker is in the middle of
// sending an email: the SMTP server holds the conversation at RCPT TO. The
// outbox row stays claimed; after a restart, once the lease has run out,
// the new process claims it again and the message arrives, once.
func TestKilledBetweenClaimAndSend(t *testing.T) {
	bin := buildBinary(t)
	for engine, dsn := range dbtest.DSNs(t) {
		t.Run(engine, func(t *testing.T) {
			smtp := smtptest.Start(t)
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			smtp.SetReject(func(string) (int, string) {
				held := false
				once.Do(func() { held = true; close(entered) })
				if held {
					<-release // the first conversation hangs here, mid-send
				}
				return 0, ""
			})
			defer func() {
				select {
				case <-release:
				default:
					close(release)
				}
			}()

			token := strings.TrimSpace(run(t, bin, "token", "create", "--name", "crash", "--db", dsn))
			args := []string{"--db", dsn, "--smtp", smtp.URL(), "--outbox-lease", "2s"}
			p := startServe(t, bin, args...)
			p.call(t, token, "POST", "/api/v1/programs", map[string]any{"name": "Course", "slug": "course",
				"destination_url": "https://example.com/"}, http.StatusCreated)
			p.call(t, token, "POST", "/api/v1/affiliates", map[string]any{"email": "anna@example.com", "name": "Anna",
				"code": "anna"}, http.StatusCreated)
			p.call(t, token, "POST", "/api/v1/conversions", map[string]any{"kind": "sale", "platform": "shop",
				"event_id": "e1", "order_id": "o1", "currency": "USD", "gross": 4900, "referral": "anna"}, http.StatusCreated)

			select {
			case <-entered:
			case <-time.After(60 * time.Second):
				t.Fatalf("the worker never reached the SMTP server\n%s", p.logs.String())
			}
			p.kill(t)
			if status, attempts := outboxRow(t, dsn); status != "sending" || attempts != 1 {
				t.Fatalf("after the kill the row is %s after %d attempts, want sending after 1", status, attempts)
			}
			close(release)

			p = startServe(t, bin, args...)
			smtp.WaitFor(1, 60*time.Second)
			deadline := time.Now().Add(60 * time.Second)
			for {
				status, attempts := outboxRow(t, dsn)
				if status == "sent" {
					if attempts != 2 {
						t.Errorf("sent after %d attempts, want 2", attempts)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("row still %s\n%s", status, p.logs.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if msgs := smtp.Messages(); len(msgs) != 1 || msgs[0].To[0] != "anna@example.com" {
				t.Fatalf("%d messages arrived, want the affiliate's one", len(msgs))
			}
			p.stop(t)
		})
	}
}

// The binary is built at most once per run, into a directory TestMain removes.
var (
	buildDir  string
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "affiliated-notify-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinary builds cmd/affiliated the first time it is called.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildPath = filepath.Join(buildDir, "affiliated")
		out, err := exec.Command("go", "build", "-o", buildPath, "affiliated/cmd/affiliated").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

// run runs the binary to completion and returns its stdout.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv()
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, stderr.String())
	}
	return string(out)
}

// childEnv is the environment without AFFILIATED_ settings.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AFFILIATED_") {
			env = append(env, kv)
		}
	}
	return env
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type serveProc struct {
	cmd  *exec.Cmd
	url  string
	logs *logBuffer
	done chan error
}

// startServe runs `affiliated serve` and waits until /readyz answers.
func startServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &serveProc{url: "http://" + addr, logs: &logBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--base-url", p.url}, args...)...)
	p.cmd.Env, p.cmd.Dir = childEnv(), t.TempDir()
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-p.done:
			t.Fatalf("serve exited: %v\n%s", err, p.logs.String())
		default:
		}
		if res, err := client.Get(p.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered\n%s", p.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve: %v\n%s", err, p.logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not stop\n%s", p.logs.String())
	}
}

func (p *serveProc) call(t *testing.T, token, method, path string, body any, want int) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, p.url+path, bytes.NewReader(b))
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
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, out)
	}
}

// outboxRow reads the one email row straight from the database.
func outboxRow(t *testing.T, dsn string) (status string, attempts int) {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.R(context.Background()).QueryRowContext(context.Background(),
		`select status, attempts from outbox where channel = 'email'`).Scan(&status, &attempts)
	if err != nil {
		t.Fatal(err)
	}
	return status, attempts
}
