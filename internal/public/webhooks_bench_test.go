package public_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/program"
	"affiliated/internal/server/servertest"
)

// BenchmarkWebhookIngest measures signed sales end to end through an
// HTTP handler: signature check, parsing, and the ledger's transaction
// (raw delivery, order, attribution by referral code, commission, ledger
// entry) on a real database. Deliveries rotate over Paddle Billing,
// Stripe and Lemon Squeezy. "handler" is the webhook surface and the
// ledger alone; "server" is the whole application, whose notifier adds
// the commission's outbox rows and whose outbox worker sends them
// meanwhile. "serial" is one delivery at a time; "parallel" is
// GOMAXPROCS×4 senders at once, as a platform retrying a backlog would.
// Reported as events/s and CPU µs per event. PostgreSQL runs when
// AFFILIATED_TEST_POSTGRES is set.
//
//	go test -run '^$' -bench WebhookIngest -benchtime 5000x ./internal/public/
func BenchmarkWebhookIngest(b *testing.B) {
	engines := []string{"sqlite"}
	if os.Getenv(dbtest.EnvPostgres) != "" {
		engines = append(engines, "postgres")
	}
	for _, engine := range engines {
		for _, surface := range []string{"handler", "server"} {
			for _, mode := range []string{"serial", "parallel"} {
				b.Run(engine+"/"+surface+"/"+mode, func(b *testing.B) {
					d := dbtest.SQLite(b)
					if engine == "postgres" {
						d = dbtest.Postgres(b)
					}
					benchIngest(b, d, surface, mode == "parallel")
				})
			}
		}
	}
}

type signedDelivery struct {
	path string
	h    http.Header
	body []byte
}

func benchIngest(b *testing.B, d *db.DB, surface string, parallel bool) {
	var post func(dl signedDelivery) int
	if surface == "server" {
		// The whole application: middleware, metrics, the notifier writing
		// outbox rows with each commission and the outbox worker sending
		// them, served in-process so the network stack is not measured.
		app := servertest.Start(b, d, hookFlags()...)
		hookAffiliate(b, app, hookProgram(b, app, "bench", 30), "ann", "")
		post = func(dl signedDelivery) int {
			req := httptest.NewRequest("POST", dl.path, bytes.NewReader(dl.body))
			for k, v := range dl.h {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			app.Handler.ServeHTTP(rec, req)
			return rec.Code
		}
	} else {
		// The webhook handler and the ledger alone, no notifier.
		m := newInMemory(b, d, io.Discard)
		ctx := context.Background()
		p := program.NewProgram()
		p.Name, p.DestinationURL = "Bench", "https://bench.example.com/"
		if err := m.Programs.CreateProgram(ctx, p); err != nil {
			b.Fatal(err)
		}
		a := program.NewAffiliate()
		a.ProgramID, a.Name, a.Email, a.Code = p.ID, "Ann", "ann@example.com", "ann"
		if err := m.Programs.CreateAffiliate(ctx, a); err != nil {
			b.Fatal(err)
		}
		post = func(dl signedDelivery) int { return m.post(dl.path, dl.h, dl.body) }
	}
	// Signed before the clock starts, within the 5 minutes' tolerance.
	now := time.Now()
	mix := []string{payments.Paddle, payments.Stripe, payments.LemonSqueezy}
	all := make([]signedDelivery, b.N)
	for i := range all {
		platform := mix[i%len(mix)]
		s := paymentstest.Sale{
			OrderID: fmt.Sprintf("%d", 10_000_000+i), Email: fmt.Sprintf("buyer%d@example.com", i), ProductName: "Course",
			Amount: 11900, Tax: 1900, Fee: 600, Referral: "ann", At: now,
		}
		switch platform {
		case payments.Paddle:
			s.OrderID = "txn_" + s.OrderID
		case payments.Stripe:
			s.OrderID = "pi_" + s.OrderID
		}
		body := kitFor(platform).sale(s)
		path, h := signed(platform, body, now)
		all[i] = signedDelivery{path, h, body}
	}
	var next, failed atomic.Int64
	send := func() {
		dl := all[next.Add(1)-1]
		if code := post(dl); code != http.StatusOK {
			failed.Add(1)
		}
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	if parallel {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				send()
			}
		})
	} else {
		for range b.N {
			send()
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d deliveries failed", n, b.N)
	}
	if got := count(b, d, "commissions"); got != b.N {
		b.Fatalf("%d commissions for %d sales", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// CPU per event (user + system, the whole process: handler, database,
	// garbage collector) does not depend on what else the machine runs,
	// unlike events/s; 1e6 / it is the rate one core could sustain.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
}

// cpuTime is the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
