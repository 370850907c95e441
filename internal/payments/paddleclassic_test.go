package payments_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"affiliated/internal/payments"
)

// testKey is one RSA key for the whole run: generating one takes a while.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func TestParsePaddleClassic(t *testing.T) {
	sale := testdata(t, "paddleclassic/payment_succeeded.form")
	devoxa := testdata(t, "paddleclassic/subscription_payment_succeeded.devoxa.form")
	renewal := testdata(t, "paddleclassic/subscription_payment_succeeded.renewal.form")
	refund := testdata(t, "paddleclassic/payment_refunded.partial.form")
	dispute := testdata(t, "paddleclassic/payment_dispute_created.form")

	wantRefund := payments.Event{
		Kind: payments.KindRefund, Platform: "paddle-classic",
		EventID: "1790555001", EventType: "payment_refunded",
		OrderID: "77123456-1", RefundID: "1790555001", CustomerEmail: "ada@example.com",
		Currency: "EUR", Refund: 2000, RefundTax: 319, RefundNet: 1560, RefundNetReported: true,
		Referral:   "r_7Kq2xZ",
		OccurredAt: utc("2024-04-20T12:00:00Z"),
	}
	wantRefund2 := wantRefund
	wantRefund2.EventID, wantRefund2.RefundID, wantRefund2.Refund, wantRefund2.RefundTax, wantRefund2.RefundNet =
		"1790555002", "1790555002", 1000, 160, 780
	wantFull := wantRefund
	wantFull.EventType, wantFull.Refund, wantFull.RefundTax, wantFull.RefundNet = "subscription_payment_refunded", 4517, 717, 3527

	runParseCases(t, payments.ParsePaddleClassic, []parseCase{
		{name: "sale", body: sale, want: payments.Event{
			Kind: payments.KindSale, Platform: "paddle-classic",
			EventID: "1790313121", EventType: "payment_succeeded",
			OrderID: "77123456-1", CustomerEmail: "ada@example.com",
			ProductID: "812345", ProductName: "Go for Pilots",
			Currency: "EUR", Gross: 4517, Tax: 717, Fee: 273, Net: 3527, NetReported: true,
			Referral: "r_7Kq2xZ", Coupon: "JANE10",
			OccurredAt: utc("2024-04-12T10:18:50Z"),
		}},
		{name: "first subscription payment (devoxa vector)", body: devoxa, want: payments.Event{
			Kind: payments.KindSale, Platform: "paddle-classic",
			EventID: "507897344", EventType: "subscription_payment_succeeded",
			OrderID: "4", SubscriptionID: "4", CustomerID: "6", CustomerEmail: "dietrich.karlie@example.com",
			ProductID: "1", ProductName: "Example Plan Name",
			Currency: "EUR", Gross: 90030, Tax: 48, Fee: 24, Net: 43201, NetReported: true,
			Referral: "kLFV0ZkzYdTrYKIvFhQlkK9vccfQP0FxGpK10j563YK2zCGdhMij2aX/sblM", Coupon: "COUPON_CODE",
			OccurredAt: utc("2020-08-12T21:01:30Z"),
		}},
		{name: "renewal in JPY, bare passthrough", body: renewal, want: payments.Event{
			Kind: payments.KindRenewal, Platform: "paddle-classic",
			EventID: "1790399001", EventType: "subscription_payment_succeeded",
			OrderID: "77129999-2", SubscriptionID: "5123456", CustomerID: "3123456", CustomerEmail: "ken@example.com",
			ProductID: "654321", ProductName: "Monthly (JP)",
			Currency: "JPY", Gross: 2500, Tax: 270, Fee: 180, Net: 2050, NetReported: true,
			Referral:   "r_bareValue",
			OccurredAt: utc("2024-05-12T09:00:03Z"),
		}},
		{name: "renewal initial_payment=false", body: edit(t, renewal, "initial_payment=0", "initial_payment=false"),
			want: func() payments.Event {
				ev, err := payments.ParsePaddleClassic(renewal)
				if err != nil {
					t.Fatal(err)
				}
				return ev
			}()},
		{name: "JPY with .00", body: edit(t, renewal, "sale_gross=2500", "sale_gross=2500.00"),
			want: func() payments.Event { ev, _ := payments.ParsePaddleClassic(renewal); return ev }()},
		{name: "partial refund", body: refund, want: wantRefund},
		{name: "second partial refund", body: edit(t, refund, "alert_id=1790555001", "alert_id=1790555002",
			"gross_refund=20.00", "gross_refund=10.00", "tax_refund=3.19", "tax_refund=1.60",
			"earnings_decrease=15.60", "earnings_decrease=7.80"), want: wantRefund2},
		{name: "full refund of a subscription payment", body: edit(t, refund, "alert_name=payment_refunded", "alert_name=subscription_payment_refunded",
			"gross_refund=20.00", "gross_refund=45.17", "tax_refund=3.19", "tax_refund=7.17",
			"earnings_decrease=15.60", "earnings_decrease=35.27", "refund_type=partial", "refund_type=full"), want: wantFull},
		{name: "VAT-only refund lowers earnings by nothing", body: edit(t, refund,
			"gross_refund=20.00", "gross_refund=7.17", "tax_refund=3.19", "tax_refund=7.17",
			"earnings_decrease=15.60", "earnings_decrease=-0.12", "refund_type=partial", "refund_type=vat"),
			want: func() payments.Event {
				e := wantRefund
				e.Refund, e.RefundTax, e.RefundNet = 717, 717, -12
				return e
			}()},
		{name: "sale without earnings", body: edit(t, sale, "&earnings=35.27", ""),
			want: func() payments.Event { ev, _ := payments.ParsePaddleClassic(sale); return ev }()},
		{name: "sale without earnings or fee", body: edit(t, sale, "&earnings=35.27", "", "&fee=2.73", ""),
			want: func() payments.Event {
				ev, _ := payments.ParsePaddleClassic(sale)
				ev.Fee, ev.Net, ev.NetReported = 0, 4517-717, false
				return ev
			}()},
		{name: "refund without gross_refund uses amount", body: edit(t, refund, "&gross_refund=20.00", ""), want: wantRefund},
		{name: "chargeback", body: dispute, want: payments.Event{
			Kind: payments.KindChargeback, Platform: "paddle-classic",
			EventID: "1790666001", EventType: "payment_dispute_created",
			OrderID: "77123456-1", RefundID: "1790666001", CustomerEmail: "ada@example.com",
			Currency: "EUR", Refund: 4517, Referral: "r_7Kq2xZ",
			OccurredAt: utc("2024-05-02T08:30:00Z"),
		}},

		{name: "ignored subscription_created", body: edit(t, devoxa, "alert_name=subscription_payment_succeeded", "alert_name=subscription_created"), err: payments.ErrIgnored},
		{name: "ignored dispute closed", body: edit(t, dispute, "payment_dispute_created", "payment_dispute_closed"), err: payments.ErrIgnored},
		{name: "ignored high risk", body: []byte("alert_name=high_risk_transaction_created&alert_id=1"), err: payments.ErrIgnored},

		{name: "malformed form encoding", body: []byte("alert_name=payment_succeeded&email=%zz"), err: payments.ErrMalformed},
		{name: "empty body", body: nil, err: payments.ErrMalformed},
		{name: "JSON body", body: []byte(`{"alert_name":"payment_succeeded"}`), err: payments.ErrMalformed},
		{name: "missing alert_name", body: edit(t, sale, "alert_name=payment_succeeded&", ""), err: payments.ErrMalformed},
		{name: "missing alert_id", body: edit(t, sale, "alert_id=1790313121&", ""), err: payments.ErrMalformed},
		{name: "missing order_id", body: edit(t, sale, "order_id=77123456-1&", ""), err: payments.ErrMalformed},
		{name: "missing currency", body: edit(t, sale, "currency=EUR&", ""), err: payments.ErrMalformed},
		{name: "missing sale_gross", body: edit(t, sale, "&sale_gross=45.17", ""), err: payments.ErrMalformed},
		{name: "missing refund amount", body: edit(t, refund, "amount=20.00&", "", "&gross_refund=20.00", ""), err: payments.ErrMalformed},
		{name: "sub-cent amount", body: edit(t, sale, "sale_gross=45.17", "sale_gross=45.175"), err: payments.ErrMalformed},
		{name: "float syntax", body: edit(t, sale, "sale_gross=45.17", "sale_gross=4.517e1"), err: payments.ErrMalformed},
		{name: "fractional yen", body: edit(t, renewal, "sale_gross=2500", "sale_gross=2500.5"), err: payments.ErrMalformed},
		{name: "negative gross", body: edit(t, sale, "sale_gross=45.17", "sale_gross=-45.17"), err: payments.ErrMalformed},
		{name: "bad event_time", body: edit(t, sale, "event_time=2024-04-12+10%3A18%3A50", "event_time=12%2F04%2F2024"), err: payments.ErrMalformed},
		{name: "bad initial_payment", body: edit(t, renewal, "initial_payment=0", "initial_payment=maybe"), err: payments.ErrMalformed},
		{name: "repeated key", body: append(append([]byte(nil), sale...), "&sale_gross=1.00"...), err: payments.ErrMalformed},
	})
}

func TestPassthroughReferral(t *testing.T) {
	sale := testdata(t, "paddleclassic/payment_succeeded.form")
	const from = "passthrough=%7B%22referral%22%3A%22r_7Kq2xZ%22%2C%22uid%22%3A42%7D"
	for passthrough, want := range map[string]string{
		`{"referral":"r_1"}`:         "r_1",
		`{"referral":12345}`:         "12345",
		`{"uid":42}`:                 "",
		`{"referral":"r_1"`:          "", // broken JSON is not a referral
		`"r_quoted"`:                 "r_quoted",
		`  r_spaced  `:               "r_spaced",
		``:                           "",
		"r_\x00ctl":                  "",
		strings.Repeat("x", 201):     "",
		strings.Repeat("x", 200):     strings.Repeat("x", 200),
		`{"referral":" r_trimmed "}`: "r_trimmed",
	} {
		body := edit(t, sale, from, "passthrough="+url.QueryEscape(passthrough))
		ev, err := payments.ParsePaddleClassic(body)
		if err != nil {
			t.Fatalf("passthrough %q: %v", passthrough, err)
		}
		if ev.Referral != want {
			t.Errorf("passthrough %q: Referral = %q, want %q", passthrough, ev.Referral, want)
		}
	}
}

func devoxaKey(t testing.TB) *rsa.PublicKey {
	t.Helper()
	k, err := payments.ParseRSAPublicKey(string(testdata(t, "paddleclassic/devoxa_public_key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVerifyPaddleClassic(t *testing.T) {
	devoxa := testdata(t, "paddleclassic/subscription_payment_succeeded.devoxa.form")
	devoxaPub := devoxaKey(t)
	key := testKey()
	saleForm, err := url.ParseQuery(string(testdata(t, "paddleclassic/payment_succeeded.form")))
	if err != nil {
		t.Fatal(err)
	}
	// A value with multi-byte UTF-8 checks that lengths are in bytes.
	saleForm.Set("customer_name", "Zoë Ünal 日本")
	signed := []byte(payments.SignPaddleClassic(saleForm, key).Encode())
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		body []byte
		pub  *rsa.PublicKey
		err  error
	}{
		{"public devoxa vector", devoxa, devoxaPub, nil},
		{"devoxa vector, fields reordered", []byte(reorder(t, devoxa)), devoxaPub, nil},
		{"devoxa vector, value changed", edit(t, devoxa, "sale_gross=900.3", "sale_gross=900.4"), devoxaPub, payments.ErrSignature},
		{"devoxa vector, field added", append(append([]byte(nil), devoxa...), "&extra=1"...), devoxaPub, payments.ErrSignature},
		{"devoxa vector, field removed", edit(t, devoxa, "&user_id=6", ""), devoxaPub, payments.ErrSignature},
		{"devoxa vector, wrong key", devoxa, &other.PublicKey, payments.ErrSignature},
		{"own key", signed, &key.PublicKey, nil},
		{"own key, flipped byte in a value", edit(t, signed, "Go+for+Pilots", "Go+for+Pilotz"), &key.PublicKey, payments.ErrSignature},
		{"own key, verified with devoxa key", signed, devoxaPub, payments.ErrSignature},
		{"missing p_signature", edit(t, devoxa, "&p_signature=", "&x_signature="), devoxaPub, payments.ErrSignature},
		{"empty p_signature", []byte("alert_name=x&p_signature="), devoxaPub, payments.ErrSignature},
		{"p_signature not base64", []byte("alert_name=x&p_signature=%21%21%21"), devoxaPub, payments.ErrSignature},
		{"p_signature garbage base64", []byte("alert_name=x&p_signature=AAAA"), devoxaPub, payments.ErrSignature},
		{"two p_signatures", append(append([]byte(nil), devoxa...), "&p_signature=AAAA"...), devoxaPub, payments.ErrSignature},
		{"repeated field", append(append([]byte(nil), devoxa...), "&sale_gross=900.3"...), devoxaPub, payments.ErrSignature},
		{"not a form", []byte("%zz"), devoxaPub, payments.ErrSignature},
		{"empty body", nil, devoxaPub, payments.ErrSignature},
		{"no key configured", devoxa, nil, payments.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := payments.VerifyPaddleClassic(tt.body, tt.pub)
			if tt.err == nil && err != nil {
				t.Fatalf("VerifyPaddleClassic: %v", err)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("VerifyPaddleClassic = %v, want %v", err, tt.err)
			}
		})
	}
}

// reorder re-encodes a form with its keys sorted, as url.Values.Encode
// does: the signature covers values, not the encoding.
func reorder(t *testing.T, body []byte) string {
	t.Helper()
	v, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return v.Encode()
}

func TestSignPaddleClassicCopies(t *testing.T) {
	in := url.Values{"alert_name": {"payment_succeeded"}, "p_signature": {"old"}}
	out := payments.SignPaddleClassic(in, testKey())
	if in.Get("p_signature") != "old" {
		t.Error("SignPaddleClassic changed its input")
	}
	if out.Get("p_signature") == "old" || out.Get("alert_name") != "payment_succeeded" {
		t.Errorf("SignPaddleClassic = %v", out)
	}
	if err := payments.VerifyPaddleClassicForm(out, &testKey().PublicKey); err != nil {
		t.Error(err)
	}
}

func TestParseRSAPublicKey(t *testing.T) {
	pemText := string(testdata(t, "paddleclassic/devoxa_public_key.pem"))
	want := devoxaKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "paddle.pem")
	if err := os.WriteFile(path, []byte(pemText), 0o600); err != nil {
		t.Fatal(err)
	}
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(want)}))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}))

	for name, in := range map[string]string{
		"PEM text":                pemText,
		"PEM with spaces":         "\n  " + pemText + "  \n",
		"file path":               path,
		"file path with newline":  path + "\n",
		"literal \\n from an env": strings.ReplaceAll(pemText, "\n", `\n`),
		"PKCS#1":                  pkcs1,
	} {
		got, err := payments.ParseRSAPublicKey(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: different key", name)
		}
	}
	for name, in := range map[string]string{
		"empty":         "",
		"missing file":  filepath.Join(dir, "nope.pem"),
		"garbage PEM":   "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"no PEM block":  "-----BEGIN nothing",
		"private key":   "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
		"EC public key": ecPEM,
	} {
		if _, err := payments.ParseRSAPublicKey(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParsePaddleClassic(f *testing.F) {
	for _, name := range []string{"payment_succeeded.form", "subscription_payment_succeeded.devoxa.form",
		"subscription_payment_succeeded.renewal.form", "payment_refunded.partial.form", "payment_dispute_created.form"} {
		f.Add(testdata(f, "paddleclassic/"+name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := payments.ParsePaddleClassic(body)
		checkParsed(t, ev, err)
	})
}

func FuzzVerifyPaddleClassic(f *testing.F) {
	devoxa := testdata(f, "paddleclassic/subscription_payment_succeeded.devoxa.form")
	f.Add(devoxa)
	f.Add([]byte("a=1&p_signature=AAAA"))
	f.Add([]byte("p_signature=%zz"))
	pub := devoxaKey(f)
	want, err := url.ParseQuery(string(devoxa))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := payments.VerifyPaddleClassic(body, pub)
		if err != nil && !errors.Is(err, payments.ErrSignature) {
			t.Fatalf("error %v is not ErrSignature", err)
		}
		if err == nil {
			// Only the signed fields, however encoded, can verify.
			got, _ := url.ParseQuery(string(body))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("accepted a form Paddle never signed: %q", body)
			}
		}
	})
}
