package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

// receiver is a webhook endpoint under test: it verifies every delivery's
// signature and answers the statuses it is given, then 200.
type receiver struct {
	srv    *httptest.Server
	secret string
	now    func() time.Time

	mu       sync.Mutex
	statuses []int
	got      []Event
	bad      []string
}

// receiver starts an endpoint that checks signatures against the
// fixture's clock.
func (f *fixture) receiver(statuses ...int) *receiver {
	r := &receiver{statuses: statuses, now: f.clock}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	f.t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := Verify(r.secret, req.Header.Get(SignatureHeader), body, 5*time.Minute, r.now()); err != nil {
		r.bad = append(r.bad, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.bad = append(r.bad, err.Error())
	}
	if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Affiliated-Event") != ev.Type {
		r.bad = append(r.bad, "headers: "+req.Header.Get("Content-Type")+" "+req.Header.Get("Affiliated-Event"))
	}
	r.got = append(r.got, ev)
	status := http.StatusOK
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	w.WriteHeader(status)
}

func (r *receiver) events() ([]Event, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.got...), append([]string(nil), r.bad...)
}

func types(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func (f *fixture) endpoint(url string, events ...string) *Endpoint {
	f.t.Helper()
	e, err := f.svc.CreateEndpoint(context.Background(), EndpointInput{URL: url, Events: events})
	if err != nil {
		f.t.Fatal(err)
	}
	if !strings.HasPrefix(e.Secret, "whsec_") {
		f.t.Fatalf("secret %q", e.Secret)
	}
	return e
}

// A sale and a refund reach a subscribed endpoint, signed; the receiver
// verifies the signature and the body has id, type, created and data.
// An endpoint subscribed to other events gets nothing.
func TestWebhookSigned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) { c.Owners = nil; c.Sender = nil })
		rcv := f.receiver()
		rcv.secret = f.endpoint(rcv.srv.URL+"/hooks", EventSaleCreated, EventRefundCreated).Secret
		other := f.receiver()
		other.secret = f.endpoint(other.srv.URL, EventPayoutPaid).Secret

		f.sale("pi_1", "USD", 4900)
		f.refund("pi_1", 4900)
		drain(t, f.svc)
		got, bad := rcv.events()
		if len(bad) > 0 {
			t.Fatalf("receiver refused deliveries: %v", bad)
		}
		// Deliveries run concurrently: no order is promised.
		sort.Slice(got, func(i, j int) bool { return got[i].Type > got[j].Type })
		if len(got) != 2 || got[0].Type != EventSaleCreated || got[1].Type != EventRefundCreated {
			t.Fatalf("received %d events: %v", len(got), types(got))
		}
		if got[0].ID != EventID("commission:1:created") || got[0].Created != t0.Unix() {
			t.Errorf("event id %s created %d", got[0].ID, got[0].Created)
		}
		var sale struct {
			Commission struct {
				ID     int64  `json:"id"`
				Amount int64  `json:"amount"`
				Status string `json:"status"`
			} `json:"commission"`
			Order struct {
				OrderRef string `json:"order_ref"`
				Gross    int64  `json:"gross"`
				Currency string `json:"currency"`
			} `json:"order"`
			Affiliate struct {
				Code string `json:"code"`
			} `json:"affiliate"`
		}
		if err := json.Unmarshal(got[0].Data, &sale); err != nil {
			t.Fatal(err)
		}
		if sale.Commission.Amount != 2450 || sale.Order.Gross != 4900 || sale.Order.Currency != "USD" ||
			sale.Order.OrderRef != "pi_1" || sale.Affiliate.Code != "anna" || sale.Commission.Status != "pending" {
			t.Errorf("sale.created data: %s", got[0].Data)
		}
		var refund struct {
			Adjustment adjustment `json:"adjustment"`
		}
		if err := json.Unmarshal(got[1].Data, &refund); err != nil {
			t.Fatal(err)
		}
		if refund.Adjustment != (adjustment{Amount: -2450, Kind: "reversed", Cause: "refund"}) {
			t.Errorf("refund.created adjustment: %+v", refund.Adjustment)
		}
		if o, _ := other.events(); len(o) != 0 {
			t.Errorf("an endpoint subscribed to payout.paid got %d deliveries", len(o))
		}
	})
}

// A receiver answering 500 is retried after a backoff and then succeeds;
// every attempt carries the same event id.
func TestWebhookRetried(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) { c.Owners = nil; c.Sender = nil })
		rcv := f.receiver(500, 503)
		rcv.secret = f.endpoint(rcv.srv.URL, "*").Secret
		f.sale("pi_1", "USD", 1000)
		for i := range 3 {
			drain(t, f.svc)
			hook := f.rows(Filter{Channel: ChannelWebhook})[0]
			if i < 2 && (hook.Status != StatusQueued || !strings.Contains(hook.LastError, "HTTP 50")) {
				t.Fatalf("after attempt %d: %s %q", i+1, hook.Status, hook.LastError)
			}
			f.advance(f.svc.cfg.MaxDelay)
		}
		got, bad := rcv.events()
		if len(bad) > 0 || len(got) != 3 {
			t.Fatalf("received %d deliveries (refused %v), want 3", len(got), bad)
		}
		if got[0].ID != got[2].ID {
			t.Errorf("the retry has event id %s, the first %s", got[2].ID, got[0].ID)
		}
		hook := f.rows(Filter{Channel: ChannelWebhook})[0]
		if hook.Status != StatusSent || hook.Attempts != 3 {
			t.Fatalf("finally %s after %d attempts", hook.Status, hook.Attempts)
		}
	})
}

// A receiver that keeps failing is retried with growing delays until the
// retry window closes, then the delivery is dead; Retry re-queues it with
// a fresh window and, the receiver mended, it is sent.
func TestWebhookDeadAndRetry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) {
			c.Owners, c.Sender, c.RetryFor, c.Backoff, c.MaxDelay = nil, nil, 6*time.Hour, time.Minute, time.Hour
		})
		fails := make([]int, 100)
		for i := range fails {
			fails[i] = 500
		}
		rcv := f.receiver(fails...)
		rcv.secret = f.endpoint(rcv.srv.URL, EventSaleCreated).Secret
		f.sale("pi_1", "USD", 1000)
		giveUp := t0.Add(6 * time.Hour)
		var last time.Duration
		for attempts := 1; ; attempts++ {
			if attempts > 50 {
				t.Fatal("never dead")
			}
			drain(t, f.svc)
			hook := f.rows(Filter{Channel: ChannelWebhook})[0]
			if hook.Attempts != attempts {
				t.Fatalf("%d attempts recorded, want %d", hook.Attempts, attempts)
			}
			if hook.Status == StatusDead {
				if f.clock().Before(giveUp) {
					t.Fatalf("dead at %v, before the window closes at %v", f.clock(), giveUp)
				}
				break
			}
			gap := hook.NextAt.Sub(f.clock())
			if hook.NextAt.After(giveUp) || gap <= 0 || (hook.NextAt.Before(giveUp) && gap < last/2) {
				t.Fatalf("attempt %d: next at %v (in %v, the previous gap %v)", attempts, hook.NextAt, gap, last)
			}
			last = gap
			f.advance(gap)
		}
		got, _ := rcv.events()
		hook := f.rows(Filter{Channel: ChannelWebhook})[0]
		if len(got) != hook.Attempts {
			t.Errorf("the receiver saw %d deliveries, the row counts %d attempts", len(got), hook.Attempts)
		}
		rcv.mu.Lock()
		rcv.statuses = nil
		rcv.mu.Unlock()
		if _, err := f.svc.Retry(context.Background(), hook.ID); err != nil {
			t.Fatal(err)
		}
		drain(t, f.svc)
		if hook := f.rows(Filter{Channel: ChannelWebhook})[0]; hook.Status != StatusSent {
			t.Fatalf("after retry: %s %q", hook.Status, hook.LastError)
		}
	})
}

// Deleting an endpoint makes its queued deliveries dead and stops them.
func TestDeleteEndpoint(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) { c.Owners, c.Sender = nil, nil })
		rcv := f.receiver()
		e := f.endpoint(rcv.srv.URL, EventSaleCreated)
		f.sale("pi_1", "USD", 1000)
		if err := f.svc.DeleteEndpoint(context.Background(), e.ID); err != nil {
			t.Fatal(err)
		}
		drain(t, f.svc)
		if got, _ := rcv.events(); len(got) != 0 {
			t.Fatalf("a deleted endpoint got %d deliveries", len(got))
		}
		if hook := f.rows(Filter{Channel: ChannelWebhook})[0]; hook.Status != StatusDead || !strings.Contains(hook.LastError, "deleted") {
			t.Fatalf("delivery to a deleted endpoint: %s %q", hook.Status, hook.LastError)
		}
		eps, err := f.svc.Endpoints(context.Background())
		if err != nil || len(eps) != 0 {
			t.Fatalf("endpoints after delete: %v %v", eps, err)
		}
		if err := f.svc.DeleteEndpoint(context.Background(), e.ID); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

// Endpoint URLs must be http(s), and private, loopback and link-local
// targets are refused, by literal address or by what a name resolves to.
func TestEndpointURLChecks(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t), func(c *Config) {
		c.AllowPrivate = false
		c.LookupIP = func(_ context.Context, host string) ([]net.IP, error) {
			switch host {
			case "hooks.example.com":
				return []net.IP{net.ParseIP("93.184.215.14")}, nil
			case "internal.example.com":
				return []net.IP{net.ParseIP("93.184.215.14"), net.ParseIP("10.1.2.3")}, nil
			}
			return nil, errors.New("no such host")
		}
	})
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.com/affiliated", true},
		{"http://93.184.215.14:8080/x", true},
		{"https://[2606:4700::1111]/x", true},
		{"ftp://hooks.example.com/", false},
		{"hooks.example.com/x", false},
		{"https://user:pw@hooks.example.com/", false},
		{"http://127.0.0.1:9000/", false},
		{"http://localhost/", false},
		{"http://app.localhost/", false},
		{"http://10.0.0.8/", false},
		{"http://192.168.1.1/", false},
		{"http://172.16.0.1/", false},
		{"http://169.254.169.254/latest/meta-data", false},
		{"http://[::1]/", false},
		{"http://[fe80::1]/", false},
		{"http://[fd00::1]/", false},
		{"http://[::ffff:127.0.0.1]/", false},
		{"http://0.0.0.0/", false},
		{"http://100.64.0.1/", false},
		{"https://internal.example.com/", false},
		{"https://nowhere.example.com/", false},
	}
	for _, tt := range tests {
		_, err := f.svc.CreateEndpoint(context.Background(), EndpointInput{URL: tt.url, Events: []string{"*"}})
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil && !apperr.Is(err, apperr.KindInvalid) {
			t.Errorf("%s: %v is not a validation error", tt.url, err)
		}
	}
	for _, events := range [][]string{nil, {}, {"sale.made"}, {"sale.created", ""}} {
		if _, err := f.svc.CreateEndpoint(context.Background(), EndpointInput{URL: "https://hooks.example.com/", Events: events}); err == nil {
			t.Errorf("events %q accepted", events)
		}
	}
	eps, _ := f.svc.Endpoints(context.Background())
	for _, e := range eps {
		if e.Secret != "" {
			t.Errorf("listing shows the secret of endpoint %d", e.ID)
		}
	}
}

// At send time the address actually dialled is checked: an endpoint
// registered while private targets were allowed is refused, and the
// delivery is dead with the reason, when they no longer are.
func TestWebhookPrivateAtSendTime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) { c.Owners, c.Sender = nil, nil })
		rcv := f.receiver()
		f.endpoint(rcv.srv.URL, EventSaleCreated)
		cfg := f.config()
		cfg.Owners, cfg.Sender, cfg.AllowPrivate = nil, nil, false
		strict := f.service(cfg)
		f.led.Notifier = strict
		f.sale("pi_1", "USD", 1000)
		drain(t, strict)
		if got, _ := rcv.events(); len(got) != 0 {
			t.Fatal("a loopback endpoint was reached with private targets refused")
		}
		hook := f.rows(Filter{Channel: ChannelWebhook})[0]
		if hook.Status != StatusDead || !strings.Contains(hook.LastError, "refused to connect to 127.0.0.1") {
			t.Fatalf("%s %q", hook.Status, hook.LastError)
		}
	})
}

func TestPrivateAddr(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "10.1.1.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "0.0.0.0",
		"100.100.100.200", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1",
		"::ffff:10.0.0.1", "64:ff9b::a00:1", "198.18.0.1"} {
		if !privateAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s is not refused", s)
		}
	}
	for _, s := range []string{"93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"} {
		if privateAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s is refused", s)
		}
	}
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"sale.created"}`)
	now := time.Unix(1700000000, 0)
	h := Sign("whsec_abc", now, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", "whsec_abc", h, body, now, nil},
		{"rotated: a second v1 matches", "whsec_abc", strings.Replace(h, "v1=", "v1="+strings.Repeat("0", 64)+",v1=", 1), body, now, nil},
		{"wrong secret", "whsec_abd", h, body, now, ErrSignature},
		{"changed body", "whsec_abc", h, append([]byte{' '}, body...), now, ErrSignature},
		{"too old", "whsec_abc", h, body, now.Add(6 * time.Minute), ErrSignatureTime},
		{"from the future", "whsec_abc", h, body, now.Add(-6 * time.Minute), ErrSignatureTime},
		{"no v1", "whsec_abc", "t=1700000000", body, now, ErrSignatureFormat},
		{"no t", "whsec_abc", h[strings.Index(h, "v1="):], body, now, ErrSignatureFormat},
		{"short v1", "whsec_abc", "t=1700000000,v1=abcd", body, now, ErrSignatureFormat},
		{"empty", "whsec_abc", "", body, now, ErrSignatureFormat},
	}
	for _, tt := range tests {
		if err := Verify(tt.secret, tt.header, tt.body, 5*time.Minute, tt.now); !errors.Is(err, tt.want) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
	// The value computed independently (Python's hmac, as in
	// docs/notifications.md) for this secret, time and body.
	if want := "t=1700000000,v1=2d6598b736759e22ae3eaa1a6883e76fa64473e39cb629d86c970ed9f4c2a590"; h != want {
		t.Errorf("Sign = %q, want %q", h, want)
	}
}

// Verify reads a header from the network: whatever it is given, it must
// not panic, and it accepts only what Sign produced for the same body.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"id":"evt_1"}`)
	now := time.Unix(1700000000, 0)
	f.Add(Sign("s", now, body), body)
	f.Add("t=1700000000,v1=zz", body)
	f.Add("t=,v1=", []byte{})
	f.Add(",,,===", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, b []byte) {
		err := Verify("s", header, b, 0, now)
		if err == nil && Verify("s", header, append(b, 'x'), 0, now) == nil {
			t.Fatalf("header %q verifies two different bodies", header)
		}
	})
}
