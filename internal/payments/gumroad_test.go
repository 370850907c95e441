package payments_test

import (
	"errors"
	"testing"

	"affiliated/internal/payments"
)

func TestParseGumroad(t *testing.T) {
	sale := testdata(t, "gumroad/sale.form")
	const saleID = "TkVaVlhWTnF4dDJfZnJ1V0RBa0x3Zz09"
	wantSale := payments.Event{
		Kind: payments.KindSale, Platform: "gumroad",
		EventID: saleID + ":sale", EventType: "sale",
		OrderID: saleID, CustomerID: "7712345678901", CustomerEmail: "gus@example.com",
		ProductID: "Yk1ZQXpwT2RwVXRCWg==", ProductName: "Sketching for Engineers",
		Currency: "USD", Gross: 3000, Fee: 400, Net: 2600, NetReported: true,
		Referral: "r_Gq7Zt2", Coupon: "GUS10",
		OccurredAt: utc("2024-09-03T14:22:05Z"),
	}
	with := func(f func(*payments.Event)) payments.Event { e := wantSale; f(&e); return e }
	refund := append(append([]byte(nil), edit(t, sale, "refunded=false", "refunded=true")...), "&resource_name=refund"...)
	jsonSale := []byte(`{"seller_id":"Qm9zQ0t6c3Nmc2ZkOA==","product_id":"Yk1ZQXpwT2RwVXRCWg==","product_name":"Sketching for Engineers",
		"email":"gus@example.com","price":3000,"gumroad_fee":400,"currency":"usd","quantity":1,"card":{"visual":"**** 4242","type":"visa"},
		"order_number":524081516,"sale_id":"` + saleID + `","sale_timestamp":"2024-09-03T14:22:05Z","purchaser_id":"7712345678901",
		"url_params":{"referral":"r_Gq7Zt2"},"offer_code":"GUS10","refunded":false,"disputed":false,"dispute_won":false,"test":false,
		"variants":{"Size":["a","b"]},"deep":{"a":{"b":1}},"nothing":null}`)

	runParseCases(t, payments.ParseGumroad, []parseCase{
		{name: "sale", body: sale, want: wantSale},
		{name: "sale as JSON", body: jsonSale, want: wantSale},
		{name: "explicit resource_name=sale", body: append(append([]byte(nil), sale...), "&resource_name=sale"...), want: wantSale},
		{name: "renewal", body: append(append([]byte(nil), sale...), "&is_recurring_charge=true&subscription_id=sub_gum_1"...),
			want: with(func(e *payments.Event) { e.Kind, e.SubscriptionID = payments.KindRenewal, "sub_gum_1" })},
		{name: "test purchase", body: append(append([]byte(nil), sale...), "&test=true"...),
			want: with(func(e *payments.Event) { e.Test = true })},
		{name: "referral from custom field", body: edit(t, sale, "url_params%5Breferral%5D=r_Gq7Zt2", "custom_fields%5Breferral%5D=r_custom"),
			want: with(func(e *payments.Event) { e.Referral = "r_custom" })},
		{name: "no fee", body: edit(t, sale, "&gumroad_fee=400", ""),
			want: with(func(e *payments.Event) { e.Fee, e.Net, e.NetReported = 0, 3000, false })},
		{name: "zero-decimal JPY", body: edit(t, sale, "currency=usd", "currency=jpy", "price=3000", "price=450", "gumroad_fee=400", "gumroad_fee=60"),
			want: with(func(e *payments.Event) { e.Currency, e.Gross, e.Fee, e.Net = "JPY", 450, 60, 390 })},
		{name: "full refund", body: refund, want: with(func(e *payments.Event) {
			e.Kind, e.EventType, e.EventID, e.Refund, e.RefundID = payments.KindRefund, "refund", saleID+":refund", 3000, saleID
		})},
		{name: "chargeback", body: append(append([]byte(nil), edit(t, sale, "disputed=false", "disputed=true")...), "&resource_name=dispute"...),
			want: with(func(e *payments.Event) {
				e.Kind, e.EventType, e.EventID, e.Refund, e.RefundID = payments.KindChargeback, "dispute", saleID+":dispute", 3000, saleID
			})},
		{name: "chargeback won", body: append(append([]byte(nil), sale...), "&resource_name=dispute_won"...),
			want: with(func(e *payments.Event) {
				e.Kind, e.EventType, e.EventID, e.Refund, e.RefundID = payments.KindChargebackReversed, "dispute_won", saleID+":dispute_won", 3000, saleID
			})},

		{name: "ignored partial refund", body: append(append([]byte(nil), sale...), "&resource_name=refund"...), err: payments.ErrIgnored},
		{name: "ignored cancellation", body: append(append([]byte(nil), sale...), "&resource_name=cancellation"...), err: payments.ErrIgnored},

		{name: "malformed form", body: []byte("sale_id=%zz"), err: payments.ErrMalformed},
		{name: "malformed JSON", body: jsonSale[:40], err: payments.ErrMalformed},
		{name: "empty body", body: nil, err: payments.ErrMalformed},
		{name: "missing sale_id", body: edit(t, sale, "sale_id="+saleID+"&", ""), err: payments.ErrMalformed},
		{name: "missing price", body: edit(t, sale, "price=3000&", ""), err: payments.ErrMalformed},
		{name: "price in dollars", body: edit(t, sale, "price=3000", "price=30.00"), err: payments.ErrMalformed},
		{name: "negative price", body: edit(t, sale, "price=3000", "price=-3000"), err: payments.ErrMalformed},
		{name: "missing currency", body: edit(t, sale, "currency=usd&", ""), err: payments.ErrMalformed},
		{name: "missing sale_timestamp", body: edit(t, sale, "sale_timestamp=2024-09-03T14%3A22%3A05Z&", ""), err: payments.ErrMalformed},
	})
}

func TestVerifyGumroadToken(t *testing.T) {
	const token = "k3Jq9-long-random-token"
	for _, tt := range []struct {
		got, want string
		ok        bool
	}{
		{token, token, true},
		{token + "x", token, false},
		{token[:len(token)-1], token, false},
		{"", token, false},
		{"", "", false}, // an unconfigured token never matches
		{"anything", "", false},
	} {
		err := payments.VerifyGumroadToken(tt.got, tt.want)
		if tt.ok != (err == nil) {
			t.Errorf("VerifyGumroadToken(%q, %q) = %v", tt.got, tt.want, err)
		}
		if err != nil && !errors.Is(err, payments.ErrSignature) {
			t.Errorf("error %v is not ErrSignature", err)
		}
	}
}

func FuzzParseGumroad(f *testing.F) {
	f.Add(testdata(f, "gumroad/sale.form"))
	f.Add([]byte(`{"sale_id":"s","price":1,"currency":"usd","sale_timestamp":"2024-01-01T00:00:00Z","url_params":{"referral":"r"}}`))
	f.Add([]byte("resource_name=refund&refunded=true&sale_id=s&price=5&currency=eur&sale_timestamp=2024-01-01T00:00:00Z"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := payments.ParseGumroad(body)
		checkParsed(t, ev, err)
	})
}

func FuzzVerifyGumroadToken(f *testing.F) {
	f.Add("a", "a")
	f.Add("", "b")
	f.Fuzz(func(t *testing.T, got, want string) {
		err := payments.VerifyGumroadToken(got, want)
		if (err == nil) != (got == want && want != "") {
			t.Fatalf("VerifyGumroadToken(%q, %q) = %v", got, want, err)
		}
	})
}
