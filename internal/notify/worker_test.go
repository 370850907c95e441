package notify

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/mail/smtptest"
)

// enqueueMany queues n plain emails and returns their keys.
func enqueueMany(t *testing.T, s *Service, n int) {
	t.Helper()
	for i := range n {
		_, created, err := s.EnqueueEmail(context.Background(), Email{Key: fmt.Sprintf("bulk:%d", i),
			To: fmt.Sprintf("r%d@example.com", i), Subject: fmt.Sprintf("Message %d", i), Text: "Hello"})
		if err != nil || !created {
			t.Fatalf("enqueue %d: %v %v", i, created, err)
		}
	}
}

// drainTogether runs every service's worker until none finds work, all at
// once, and returns how many rows each claimed.
func drainTogether(t *testing.T, svcs ...*Service) []int {
	t.Helper()
	counts := make([]int, len(svcs))
	var wg sync.WaitGroup
	for i, s := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := s.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
				counts[i] += n
			}
		}()
	}
	wg.Wait()
	return counts
}

// exactlyOnce checks that the server received n messages, each Message-ID once.
func exactlyOnce(t *testing.T, srv *smtptest.Server, n int) {
	t.Helper()
	msgs := srv.WaitFor(n, 30*time.Second)
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.MessageID]++
	}
	for id, c := range seen {
		if c > 1 {
			t.Errorf("Message-ID %s sent %d times", id, c)
		}
	}
	if len(msgs) != n || len(seen) != n {
		t.Errorf("%d messages with %d distinct Message-IDs, want %d", len(msgs), len(seen), n)
	}
}

// Two workers on one database, working at once, send each message exactly
// once (SQLite: through the single writer).
func TestTwoWorkersOneDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		other := f.service(f.config())
		enqueueMany(t, f.svc, 60)
		counts := drainTogether(t, f.svc, other)
		exactlyOnce(t, f.smtp, 60)
		if counts[0]+counts[1] != 60 {
			t.Errorf("claims %v, want 60 in all", counts)
		}
		t.Logf("claims per worker: %v", counts)
	})
}

// Two replicas (separate connection pools, as two processes have) on one
// database: on PostgreSQL they claim with SKIP LOCKED, on SQLite through
// the file's write lock. Each message is sent exactly once.
func TestTwoReplicas(t *testing.T) {
	for engine, dsn := range dbtest.DSNs(t) {
		t.Run(engine, func(t *testing.T) {
			open := func() *db.DB {
				d, err := db.Open(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				return d
			}
			d1, d2 := open(), open()
			if _, err := d1.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, d1)
			cfg := f.config()
			cfg.DB = d2
			enqueueMany(t, f.svc, 200)
			counts := drainTogether(t, f.svc, f.service(cfg), f.service(f.config()), f.service(cfg))
			exactlyOnce(t, f.smtp, 200)
			total := 0
			for _, c := range counts {
				total += c
			}
			if total != 200 {
				t.Errorf("claims %v, want 200 in all", counts)
			}
			t.Logf("claims per worker: %v", counts)
		})
	}
}

// A worker that dies between claim and send leaves its rows "sending";
// once the lease has run out another worker claims and sends them, and
// the dead worker's late report (an older claim) changes nothing.
func TestLeaseReclaim(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		enqueueMany(t, f.svc, 1)
		stale, err := f.svc.claim(context.Background(), f.svc.now())
		if err != nil || len(stale) != 1 {
			t.Fatalf("claim: %v %v", stale, err)
		}
		// The worker "crashed": no send, no mark.
		if n := drain(t, f.svc); n != 0 {
			t.Fatalf("a row under lease was claimed again (%d)", n)
		}
		f.advance(f.svc.cfg.Lease)
		if n := drain(t, f.svc); n != 1 {
			t.Fatalf("after the lease, claimed %d, want 1", n)
		}
		exactlyOnce(t, f.smtp, 1)
		// The first worker wakes up and reports a failure: dropped.
		if err := f.svc.finish(context.Background(), stale[0], fmt.Errorf("late"), false); err != nil {
			t.Fatal(err)
		}
		m := f.rows(Filter{})[0]
		if m.Status != StatusSent || m.Attempts != 2 || m.LastError != "" {
			t.Fatalf("after the stale report: %s, %d attempts, %q", m.Status, m.Attempts, m.LastError)
		}
	})
}

// Start runs the worker in the background; stop lets it finish.
func TestStartStop(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) { c.Now = nil; c.Poll = 10 * time.Millisecond })
		stop := f.svc.Start()
		enqueueMany(t, f.svc, 5)
		f.svc.Kick()
		exactlyOnce(t, f.smtp, 5)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			t.Fatal(err)
		}
		for _, m := range f.rows(Filter{}) {
			if m.Status != StatusSent {
				t.Errorf("row %s: %s", m.Key, m.Status)
			}
		}
	})
}

// The payable sweep announces a commission once, after its hold.
func TestSweepPayable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, func(c *Config) { c.Owners = nil })
		rcv := f.receiver()
		rcv.secret = f.endpoint(rcv.srv.URL, EventCommissionPayable).Secret
		f.sale("pi_1", "USD", 1000)
		f.sale("pi_2", "USD", 2000)
		f.refund("pi_2", 2000) // reversed to nothing: never payable
		ctx := context.Background()
		if n, err := f.svc.SweepPayable(ctx); err != nil || n != 0 {
			t.Fatalf("sweep during the hold: %d, %v", n, err)
		}
		f.advance(31 * 24 * time.Hour)
		other := f.service(f.config())
		for i, s := range []*Service{f.svc, other, f.svc} {
			n, err := s.SweepPayable(ctx)
			if want := map[bool]int{true: 1, false: 0}[i == 0]; err != nil || n != want {
				t.Fatalf("sweep %d: %d, %v; want %d", i+1, n, err, want)
			}
		}
		drain(t, f.svc)
		got, bad := rcv.events()
		if len(got) != 1 || len(bad) != 0 || got[0].Type != EventCommissionPayable {
			t.Fatalf("commission.payable deliveries %v (refused %v)", types(got), bad)
		}
		msgs := byRecipient(t, f.smtp.WaitFor(4, 10*time.Second))
		var payable int
		for _, m := range msgs["anna@example.com"] {
			if m.Subject == "Your commission of $5.00 is now payable" {
				payable++
			}
		}
		if payable != 1 {
			t.Errorf("%d payable emails, want 1", payable)
		}
	})
}

// BenchmarkSaleToSMTP measures a sale's whole path: the ledger transaction
// with its two outbox rows, then the worker sending both emails over SMTP
// to the in-process server (SQLite).
func BenchmarkSaleToSMTP(b *testing.B) {
	f := newFixture(b, dbtest.SQLite(b))
	b.ResetTimer()
	for i := range b.N {
		f.sale(fmt.Sprintf("pi_%d", i), "USD", 4900)
		for {
			n, err := f.svc.RunOnce(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	b.StopTimer()
	if got := len(f.smtp.Messages()); got != 2*b.N {
		b.Fatalf("%d messages, want %d", got, 2*b.N)
	}
}

// BenchmarkIngestSale measures what the outbox adds to the ledger's
// transaction of a sale: rendering two emails and writing their rows
// (one owner, no webhook endpoint), against no notifier at all (SQLite).
func BenchmarkIngestSale(b *testing.B) {
	for _, withOutbox := range []bool{false, true} {
		b.Run(map[bool]string{false: "no-notifier", true: "outbox"}[withOutbox], func(b *testing.B) {
			f := newFixture(b, dbtest.SQLite(b))
			if !withOutbox {
				f.led.Notifier = nil
			}
			b.ResetTimer()
			for i := range b.N {
				f.sale(fmt.Sprintf("pi_%d", i), "USD", 4900)
			}
		})
	}
}
