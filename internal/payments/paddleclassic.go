package payments

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Paddle Classic ("alerts"): application/x-www-form-urlencoded POSTs, every
// value a string, amounts as decimals in major units, signed with the
// vendor's RSA key: p_signature = base64(RSA PKCS#1 v1.5 SHA-1 over the
// PHP serialization of all other fields sorted by key).

// VerifyPaddleClassic checks the p_signature of a raw form body against
// the vendor's public key. There is no timestamp: deduplicate on alert_id.
func VerifyPaddleClassic(body []byte, pub *rsa.PublicKey) error {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return fmt.Errorf("%w: %s: body is not a form: %v", ErrSignature, PaddleClassic, err)
	}
	return VerifyPaddleClassicForm(form, pub)
}

// VerifyPaddleClassicForm is VerifyPaddleClassic for a parsed form. A key
// sent twice is rejected: the signature would cover one value while a
// parser might read the other.
func VerifyPaddleClassicForm(form url.Values, pub *rsa.PublicKey) error {
	if pub == nil {
		return fmt.Errorf("%w: %s: no public key configured", ErrSignature, PaddleClassic)
	}
	sigs := form["p_signature"]
	if len(sigs) != 1 || sigs[0] == "" {
		return fmt.Errorf("%w: %s: want exactly one p_signature", ErrSignature, PaddleClassic)
	}
	sig, err := base64.StdEncoding.DecodeString(sigs[0])
	if err != nil {
		return fmt.Errorf("%w: %s: p_signature is not base64", ErrSignature, PaddleClassic)
	}
	for k, vs := range form {
		if len(vs) != 1 {
			return fmt.Errorf("%w: %s: field %q sent %d times", ErrSignature, PaddleClassic, clip(k), len(vs))
		}
	}
	h := sha1.Sum(phpSerialize(form))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], sig); err != nil {
		return fmt.Errorf("%w: %s: p_signature does not match", ErrSignature, PaddleClassic)
	}
	return nil
}

// phpSerialize reproduces PHP's serialize() of the form as an array of
// strings, keys sorted byte-wise (ksort), p_signature left out:
// a:N:{s:3:"key";s:5:"value";…}. Lengths are in bytes. The first value of
// each key is used; the verifier has already refused repeated keys.
func phpSerialize(form url.Values) []byte {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "p_signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b []byte
	str := func(s string) {
		b = append(b, "s:"...)
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ":\""...)
		b = append(b, s...)
		b = append(b, "\";"...)
	}
	b = append(b, "a:"...)
	b = strconv.AppendInt(b, int64(len(keys)), 10)
	b = append(b, ":{"...)
	for _, k := range keys {
		str(k)
		v := ""
		if vs := form[k]; len(vs) > 0 {
			v = vs[0]
		}
		str(v)
	}
	return append(b, '}')
}

// ParseRSAPublicKey reads an RSA public key from PEM text ("PUBLIC KEY" or
// "RSA PUBLIC KEY", as the Paddle dashboard shows it) or, when the text
// holds no PEM header, from the file it names. PEM pasted into an
// environment variable with literal "\n" sequences is accepted too.
func ParseRSAPublicKey(pemOrPath string) (*rsa.PublicKey, error) {
	text := pemOrPath
	if !strings.Contains(text, "-----BEGIN") {
		b, err := os.ReadFile(strings.TrimSpace(pemOrPath))
		if err != nil {
			return nil, fmt.Errorf("payments: reading public key: %w", err)
		}
		text = string(b)
	}
	if !strings.Contains(text, "\n") && strings.Contains(text, `\n`) {
		text = strings.ReplaceAll(text, `\n`, "\n")
	}
	block, _ := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return nil, errors.New("payments: public key: no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("payments: public key: %w", err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("payments: public key is %T, not RSA", k)
		}
		return rk, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("payments: public key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("payments: public key: PEM block %q is not a public key", block.Type)
}

// ParsePaddleClassic parses a Paddle Classic alert (the raw form body).
//
//   - payment_succeeded is a sale; subscription_payment_succeeded is a sale
//     when initial_payment is "1"/"true" and a renewal otherwise. Gross is
//     sale_gross, Tax payment_tax, Fee fee, Net earnings.
//   - payment_refunded and subscription_payment_refunded are refunds of
//     gross_refund (amount when absent), with tax_refund and
//     earnings_decrease; RefundID is the alert_id.
//   - payment_dispute_created is a chargeback of amount.
//     payment_dispute_closed does not say who won, and every other alert
//     (subscription_created, …) carries no revenue: they are ignored.
//
// Referral comes from passthrough: its "referral" key when it is a JSON
// object, else the whole (bare) value.
func ParsePaddleClassic(body []byte) (Event, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Event{}, malformed(PaddleClassic, "", "body is not a form: %v", err)
	}
	for k, vs := range form {
		if len(vs) != 1 {
			return Event{}, malformed(PaddleClassic, clip(k), "sent %d times", len(vs))
		}
	}
	f := form.Get
	name := f("alert_name")
	if name == "" {
		return Event{}, malformed(PaddleClassic, "alert_name", "missing")
	}
	ev := Event{Platform: PaddleClassic, EventType: name}
	switch name {
	case "payment_succeeded":
		ev.Kind = KindSale
	case "subscription_payment_succeeded":
		switch f("initial_payment") {
		case "1", "true":
			ev.Kind = KindSale
		case "0", "false":
			ev.Kind = KindRenewal
		default:
			return Event{}, malformed(PaddleClassic, "initial_payment", "%q is not a boolean", clip(f("initial_payment")))
		}
	case "payment_refunded", "subscription_payment_refunded":
		ev.Kind = KindRefund
	case "payment_dispute_created":
		ev.Kind = KindChargeback
	default:
		return Event{}, ignored(PaddleClassic, name, "alert carries no revenue change we use")
	}

	if ev.EventID, err = required(PaddleClassic, "alert_id", f("alert_id")); err != nil {
		return Event{}, err
	}
	if ev.OrderID, err = required(PaddleClassic, "order_id", f("order_id")); err != nil {
		return Event{}, err
	}
	if ev.Currency, err = currencyCode(PaddleClassic, "currency", f("currency")); err != nil {
		return Event{}, err
	}
	if ev.OccurredAt, err = classicTime(f("event_time")); err != nil {
		return Event{}, err
	}
	ev.SubscriptionID = f("subscription_id")
	ev.CustomerID = f("user_id")
	ev.CustomerEmail = f("email")
	ev.Coupon = f("coupon")
	ev.Referral = passthroughReferral(f("passthrough"))
	ev.ProductID, ev.ProductName = f("product_id"), f("product_name")
	if ev.ProductID == "" {
		ev.ProductID, ev.ProductName = f("subscription_plan_id"), f("plan_name")
	}

	cur := ev.Currency
	amount := func(field string, req bool) (int64, error) {
		return amountMajor(PaddleClassic, field, f(field), cur, req)
	}
	switch ev.Kind {
	case KindSale, KindRenewal:
		if ev.Gross, err = amount("sale_gross", true); err != nil {
			return Event{}, err
		}
		if ev.Tax, err = amount("payment_tax", false); err != nil {
			return Event{}, err
		}
		if ev.Fee, err = amount("fee", false); err != nil {
			return Event{}, err
		}
		ev.Net = ev.Gross - ev.Tax - ev.Fee
		ev.NetReported = f("fee") != ""
		if f("earnings") != "" {
			if ev.Net, err = amount("earnings", true); err != nil {
				return Event{}, err
			}
			ev.NetReported = true
		}
	case KindRefund:
		ev.RefundID = ev.EventID
		field := "gross_refund"
		if f(field) == "" {
			field = "amount"
		}
		if ev.Refund, err = amount(field, true); err != nil {
			return Event{}, err
		}
		if ev.RefundTax, err = amount("tax_refund", false); err != nil {
			return Event{}, err
		}
		if f("earnings_decrease") != "" {
			if ev.RefundNet, err = amount("earnings_decrease", true); err != nil {
				return Event{}, err
			}
			ev.RefundNetReported = true
		}
	case KindChargeback:
		ev.RefundID = ev.EventID
		if ev.Refund, err = amount("amount", true); err != nil {
			return Event{}, err
		}
	}
	return finish(ev)
}

// classicTime reads event_time, "2006-01-02 15:04:05" in UTC.
func classicTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, malformed(PaddleClassic, "event_time", "missing")
	}
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		return time.Time{}, malformed(PaddleClassic, "event_time", "%q is not YYYY-MM-DD HH:MM:SS", clip(s))
	}
	return t.UTC(), nil
}

// passthroughReferral reads the referral from Paddle Classic's opaque
// passthrough: {"referral":"…"} when it is a JSON object, the value itself
// when it is plain text (checkouts that pass only the referral id).
func passthroughReferral(s string) string {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "{"):
		return referralFromJSON(json.RawMessage(t))
	case strings.HasPrefix(t, `"`):
		var v string
		if json.Unmarshal([]byte(t), &v) != nil {
			return ""
		}
		return cleanReferral(v)
	}
	return cleanReferral(t)
}
