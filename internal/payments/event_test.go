package payments_test

import (
	"errors"
	"strings"
	"testing"

	"affiliated/internal/payments"
)

func TestRefundDelta(t *testing.T) {
	tests := []struct {
		name     string
		ev       payments.Event
		recorded int64
		want     int64
	}{
		{"increment ignores history", payments.Event{Refund: 500}, 1200, 500},
		{"cumulative first", payments.Event{RefundCumulative: 500}, 0, 500},
		{"cumulative next", payments.Event{RefundCumulative: 1200}, 500, 700},
		{"cumulative redelivered", payments.Event{RefundCumulative: 1200}, 1200, 0},
		{"cumulative late and smaller", payments.Event{RefundCumulative: 500}, 1200, 0},
		{"not a refund", payments.Event{}, 0, 0},
	}
	for _, tt := range tests {
		if got := tt.ev.RefundDelta(tt.recorded); got != tt.want {
			t.Errorf("%s: RefundDelta(%d) = %d, want %d", tt.name, tt.recorded, got, tt.want)
		}
	}
}

func TestParseDispatch(t *testing.T) {
	bodies := map[string][]byte{
		payments.Paddle:        testdata(t, "paddle/transaction_completed.sale.json"),
		payments.PaddleClassic: testdata(t, "paddleclassic/payment_succeeded.form"),
		payments.LemonSqueezy:  testdata(t, "lemonsqueezy/order_created.json"),
		payments.Stripe:        testdata(t, "stripe/checkout_session_completed.json"),
		payments.Gumroad:       testdata(t, "gumroad/sale.form"),
	}
	for platform, body := range bodies {
		ev, err := payments.Parse(platform, body)
		if err != nil {
			t.Errorf("Parse(%s): %v", platform, err)
			continue
		}
		if ev.Platform != platform || ev.Kind != payments.KindSale {
			t.Errorf("Parse(%s) = platform %q kind %q", platform, ev.Platform, ev.Kind)
		}
	}
	if _, err := payments.Parse("paypal", bodies[payments.Stripe]); !errors.Is(err, payments.ErrMalformed) {
		t.Errorf("Parse(paypal) = %v, want ErrMalformed", err)
	}
}

func TestErrorMessages(t *testing.T) {
	_, err := payments.ParsePaddle([]byte(`{"event_id":"e","event_type":"transaction.paid"}`))
	var ie *payments.IgnoredError
	if !errors.As(err, &ie) || ie.Platform != "paddle" || ie.EventType != "transaction.paid" {
		t.Fatalf("ignored error = %#v", err)
	}
	if !strings.Contains(err.Error(), "transaction.paid") {
		t.Errorf("message %q does not name the event", err)
	}
	// Attacker-controlled text is clipped in messages.
	_, err = payments.ParseStripe([]byte(`{"id":"evt_1","type":"invoice.paid","created":1,"data":{"object":{"id":"in_1","billing_reason":"` + strings.Repeat("x", 5000) + `"}}}`))
	if !errors.Is(err, payments.ErrIgnored) || len(err.Error()) > 300 {
		t.Errorf("error of %d bytes: %.100v", len(err.Error()), err)
	}
	_, err = payments.ParseStripe([]byte(`{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1","payment_status":"paid","currency":"usd"}}}`))
	var me *payments.MalformedError
	if !errors.As(err, &me) || me.Platform != "stripe" || me.Field != "data.object.amount_total" {
		t.Fatalf("malformed error = %#v", err)
	}
	if want := "payments: malformed stripe payload: data.object.amount_total: missing"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}
