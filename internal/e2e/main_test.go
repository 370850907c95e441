package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the affiliated command built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "affiliated-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "affiliated")
	build := exec.Command("go", "build", "-o", binary, "affiliated/cmd/affiliated")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build affiliated:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// createToken runs `affiliated token create` and returns the secret it prints.
func createToken(t *testing.T, dsn string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(binary, "token", "create", "--name", "e2e", "--db", dsn)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("token create: %v: %s", err, errb.String())
	}
	tok := strings.TrimSpace(out.String())
	if tok == "" || strings.Contains(tok, "\n") {
		t.Fatalf("token create printed %q", out.String())
	}
	return tok
}

// server is a running `affiliated serve` process.
type server struct {
	t     *testing.T
	cmd   *exec.Cmd
	URL   string
	token string
	exit  chan error // receives the process's exit

	mu  sync.Mutex
	log []string // its stderr, for failure messages
}

// start runs `affiliated serve` on dsn with a free port and waits until it listens.
func start(t *testing.T, dsn, token string, args ...string) *server {
	t.Helper()
	all := append([]string{"serve", "--db", dsn, "--addr", "127.0.0.1:0", "--log-json=true", "--log-level=info"}, args...)
	cmd := exec.Command(binary, all...)
	cmd.Env = append(os.Environ(), "AFFILIATED_BASE_URL=") // the test decides, not the caller's shell
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, token: token, exit: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log = append(s.log, line)
			s.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
		s.exit <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.exit
		}
	})
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case err := <-s.exit:
		t.Fatalf("serve exited before listening: %v\n%s", err, s.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not listen within a minute\n%s", s.logText())
	}
	return s
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log, "\n")
}

// stop sends sig and waits for the process to exit, returning its error.
func (s *server) stop(sig syscall.Signal) error {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
	select {
	case err := <-s.exit:
		return err
	case <-time.After(60 * time.Second):
		s.t.Fatalf("serve did not exit within a minute of %v\n%s", sig, s.logText())
		return nil
	}
}

// api calls the JSON API and decodes the answer into out, failing unless the status is want.
func (s *server) api(want int, method, path string, body, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}
