package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"affiliated/internal/config"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail/smtptest"
	"affiliated/internal/server"
)

// process is one run of the server, stopped by stop (or at the end of the test).
type process struct {
	t     *testing.T
	url   string
	token string
	stop  func()
	// cutShort is set when the test lets the shutdown deadline pass on
	// purpose. The click writer then reports "0 clicks not committed"
	// when its select sees the deadline before its own end (both ready):
	// nothing was lost, and that message alone is not a failure here.
	cutShort bool
}

func start(t *testing.T, d *db.DB, name string, args ...string) *process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	cfg, err := config.Load("serve", append([]string{"--addr", ln.Addr().String(), "--base-url", url}, args...),
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, d, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := srv.Tokens.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	p := &process{t: t, url: url, token: token}
	stopped := false
	p.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !(p.cutShort && strings.Contains(err.Error(), "not committed before shutdown")) {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(p.stop)
	return p
}

// do sends a JSON request and decodes the answer into out, failing unless
// the status is want.
func (p *process) do(want int, method, path string, body, out any) {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			p.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	if res.StatusCode != want {
		p.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			p.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

type campaign struct {
	ID       int64  `json:"id"`
	State    string `json:"state"`
	Progress *struct {
		Total, Queued, Sent, Failed int
	} `json:"progress"`
}

// The whole server is stopped while a campaign's message is on the wire,
// and started again: the rest is sent and nothing twice.
func TestOutreachRestartMidSend(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		smtp := smtptest.Start(t)
		held, release := make(chan struct{}), make(chan struct{})
		releaseOnce := func() {
			select {
			case <-release:
			default:
				close(release)
			}
		}
		defer releaseOnce()
		smtp.SetReject(func(rcpt string) (int, string) {
			if rcpt == "vendor3@shops.example" {
				close(held)
				<-release
				return 451, "try again later"
			}
			return 0, ""
		})
		args := []string{"--smtp", smtp.URL(), "--shutdown-timeout", "300ms"}
		first := start(t, d, "first", args...)

		var prog struct{ ID int64 }
		first.do(http.StatusCreated, "POST", "/api/v1/programs",
			map[string]any{"name": "Partners", "destination_url": "https://trattoria.example/"}, &prog)
		for i := 1; i <= 5; i++ {
			n := strconv.Itoa(i)
			first.do(http.StatusCreated, "POST", "/api/v1/affiliates",
				map[string]any{"program_id": prog.ID, "name": "Vendor " + n, "email": "vendor" + n + "@shops.example"}, nil)
		}
		var c campaign
		first.do(http.StatusCreated, "POST", "/api/v1/outreach/campaigns", map[string]any{
			"name": "Spring", "subject": "Hello {{.Name}}", "html": `<a href="{{.ReferralURL}}">your link</a>`,
			"recipients": map[string]any{"program_id": prog.ID},
		}, &c)
		path := "/api/v1/outreach/campaigns/" + strconv.FormatInt(c.ID, 10)
		first.do(http.StatusOK, "POST", path+"/submit", map[string]any{"approver": "ann"}, nil)
		first.do(http.StatusOK, "POST", path+"/approve", nil, nil)
		first.do(http.StatusAccepted, "POST", path+"/send", nil, nil)

		// The worker sends a batch of four at once: three go, the third
		// vendor's is held mid-conversation, the fifth waits its turn.
		select {
		case <-held:
		case <-time.After(time.Minute):
			t.Fatal("the held message never reached the SMTP server")
		}
		smtp.WaitFor(3, time.Minute)
		// The shutdown deadline passes while the message is held: the
		// outbox interrupts it, as a crash or a kill would.
		first.cutShort = true
		first.stop()
		releaseOnce()
		smtp.SetReject(nil)
		if n := len(smtp.Messages()); n != 3 {
			t.Fatalf("%d messages before the restart, want 3", n)
		}

		second := start(t, d, "second", args...)
		deadline := time.Now().Add(time.Minute)
		for {
			second.do(http.StatusOK, "GET", path, nil, &c)
			if c.State == "sent" || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		second.stop()
		if c.State != "sent" || c.Progress == nil || c.Progress.Sent != 5 || c.Progress.Total != 5 {
			t.Fatalf("after the restart: %+v %+v", c, c.Progress)
		}
		count := map[string]int{}
		for _, m := range smtp.Messages() {
			count[strings.Join(m.To, ",")]++
		}
		for i := 1; i <= 5; i++ {
			if to := "vendor" + strconv.Itoa(i) + "@shops.example"; count[to] != 1 {
				t.Errorf("%s got %d messages, want 1", to, count[to])
			}
		}
		if n := len(smtp.Messages()); n != 5 {
			t.Errorf("%d messages in all, want 5", n)
		}
	})
}
