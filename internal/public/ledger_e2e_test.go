package public_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/server/servertest"
)

// buildAffiliated builds the real command into a directory of t.
func buildAffiliated(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "affiliated")
	out, err := exec.Command("go", "build", "-o", path, "affiliated/cmd/affiliated").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

// runAffiliated runs the command bin with args and returns its exit code
// and output.
func runAffiliated(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("%v: %v", args, err)
	return 0, ""
}

// TestLedgerEndToEnd: on a database the real binary can open, sales reach
// the ledger through the real webhook endpoints (Paddle with a referral id
// from our redirect, Lemon Squeezy by an affiliate's code, Gumroad by an
// affiliate's coupon, Stripe then partly refunded); a payout pays them and
// exports its CSV; `affiliated ledger verify` and `ledger rebuild
// --dry-run` find nothing to report, until a commission is changed behind
// the ledger's back.
func TestLedgerEndToEnd(t *testing.T) {
	t.Parallel()
	bin := buildAffiliated(t)
	for engine, dsn := range dbtest.DSNs(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			app := servertest.Start(t, d, hookFlags()...)
			prog := hookProgram(t, app, "course", 0) // no hold: payable at once
			ann := hookAffiliate(t, app, prog, "ann", "ANN-SAVE")
			app.MustDo(http.StatusOK, "PATCH", fmt.Sprintf("/api/v1/affiliates/%d", ann.ID),
				map[string]any{"payout_email": "ann-paypal@example.com", "name": "Ann Example"}, nil)
			bob := hookAffiliate(t, app, prog, "bob", "")
			now := time.Now().UTC().Truncate(time.Second)
			sale := func(order string, amount, tax, fee int64, edit func(*paymentstest.Sale)) paymentstest.Sale {
				s := paymentstest.Sale{OrderID: order, Email: "buyer-" + order + "@example.com", ProductName: "Course",
					Amount: amount, Tax: tax, Fee: fee, At: now}
				edit(&s)
				return s
			}

			// Ann: a Paddle sale whose custom_data holds the id our redirect
			// issued (net 11900 − 1900 − 600 = 9400, commission 4700), and
			// a Gumroad sale with her coupon (net 5000 − 500, commission 2250).
			ref := location(t, visit(t, app, "GET", "/r/ann"), http.StatusFound).Query().Get("ref")
			paddle := sale("txn_e2e_1", 11900, 1900, 600, func(s *paymentstest.Sale) { s.Referral = ref })
			mustDeliver(t, app, payments.Paddle, paymentstest.PaddleSale(paddle), "applied")
			mustDeliver(t, app, payments.Gumroad, paymentstest.GumroadSale(sale("gumroadE2E==", 5000, 0, 500,
				func(s *paymentstest.Sale) { s.Coupon = "ann-save" })), "applied")
			// Bob: a Lemon Squeezy sale in yen by his code (net 5000,
			// commission 2500 JPY), and a Stripe sale (net 10000) refunded
			// 4000 (commission 5000 → 3000).
			mustDeliver(t, app, payments.LemonSqueezy, paymentstest.LemonSqueezySale(sale("3100001", 5500, 500, 0,
				func(s *paymentstest.Sale) { s.Currency, s.Referral = "JPY", "BOB" })), "applied")
			stripe := sale("pi_e2e_1", 10000, 0, 0, func(s *paymentstest.Sale) { s.Referral = "bob" })
			mustDeliver(t, app, payments.Stripe, paymentstest.StripeSale(stripe), "applied")
			mustDeliver(t, app, payments.Stripe, paymentstest.StripeRefund(stripe, paymentstest.Refund{Amount: 4000, At: now}), "applied")

			if o := orderByRef(t, app, payments.Paddle, "txn_e2e_1"); o.ClickID == nil || o.AttributedBy != "referral" {
				t.Fatalf("Paddle order: click %v attributed_by %q, want the redirect's click", o.ClickID, o.AttributedBy)
			}

			var p struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
				Lines  []struct {
					AffiliateID   int64   `json:"affiliate_id"`
					Currency      string  `json:"currency"`
					Amount        int64   `json:"amount"`
					Commissions   int     `json:"commissions"`
					CommissionIDs []int64 `json:"commission_ids"`
				} `json:"lines"`
			}
			app.MustDo(http.StatusCreated, "POST", "/api/v1/payouts", nil, &p)
			type line struct {
				aff      int64
				cur      string
				amount   int64
				count, n int
			}
			var got []line
			for _, l := range p.Lines {
				got = append(got, line{l.AffiliateID, l.Currency, l.Amount, l.Commissions, len(l.CommissionIDs)})
			}
			want := []line{{ann.ID, "USD", 4700 + 2250, 2, 2}, {bob.ID, "JPY", 2500, 1, 1}, {bob.ID, "USD", 3000, 1, 1}}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("payout lines %+v, want %+v", got, want)
			}
			res := app.MustDo(http.StatusOK, "GET", fmt.Sprintf("/api/v1/payouts/%d.csv", p.ID), nil, nil)
			rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			wantCSV := [][]string{
				{"affiliate_name", "email", "payout_email", "currency", "amount", "commissions"},
				{"Ann Example", "ann@example.com", "ann-paypal@example.com", "USD", "69.50", "2"},
				{"Affiliate bob", "bob@example.com", "bob@example.com", "JPY", "2500", "1"},
				{"Affiliate bob", "bob@example.com", "bob@example.com", "USD", "30.00", "1"},
			}
			if !reflect.DeepEqual(rows, wantCSV) {
				t.Errorf("payout CSV:\n%s\nwant %q", res.Body, wantCSV)
			}
			app.MustDo(http.StatusOK, "POST", fmt.Sprintf("/api/v1/payouts/%d/paid", p.ID), nil, &p)
			if p.Status != "paid" {
				t.Errorf("payout status %q after /paid", p.Status)
			}

			// The real binary, on the same database, agrees with the ledger.
			code, out := runAffiliated(t, bin, "ledger", "verify", "--db", dsn)
			if code != 0 || !strings.Contains(out, "0 differences") {
				t.Fatalf("ledger verify: exit %d\n%s", code, out)
			}
			code, out = runAffiliated(t, bin, "ledger", "rebuild", "--dry-run", "--db", dsn)
			if code != 0 || !strings.Contains(out, "replayed 5 deliveries: 4 orders, 4 commissions, 0 differences") {
				t.Fatalf("ledger rebuild --dry-run: exit %d\n%s", code, out)
			}

			// A commission changed behind the ledger's back is named.
			c := orderByRef(t, app, payments.Paddle, "txn_e2e_1").Commission
			if _, err := d.Q(ctx).ExecContext(ctx, `update commissions set amount = amount + 1 where id = $1`, c.ID); err != nil {
				t.Fatal(err)
			}
			code, out = runAffiliated(t, bin, "ledger", "verify", "--db", dsn)
			if name := fmt.Sprintf("commission %d: amount is %d", c.ID, c.Amount+1); code != 1 || !strings.Contains(out, name) {
				t.Errorf("verify after tampering: exit %d, want 1 naming %q\n%s", code, name, out)
			}
			code, out = runAffiliated(t, bin, "ledger", "rebuild", "--dry-run", "--db", dsn)
			if name := fmt.Sprintf("commission %d", c.ID); code != 1 || !strings.Contains(out, name) {
				t.Errorf("rebuild --dry-run after tampering: exit %d, want 1 naming %q\n%s", code, name, out)
			}
		})
	}
}
