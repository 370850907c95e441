package program

import (
	"context"
	"testing"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

func TestProductRateValidate(t *testing.T) {
	cases := []struct {
		name  string
		in    ProductRate
		field string // "" when valid
	}{
		{"rate", ProductRate{ProductID: "pro", RateBps: 2000}, ""},
		{"flat", ProductRate{ProductID: "pro", FlatAmount: 700, FlatCurrency: "usd"}, ""},
		{"no product", ProductRate{ProductID: "  ", RateBps: 10}, "product_id"},
		{"rate too high", ProductRate{ProductID: "p", RateBps: 10001}, "rate_bps"},
		{"negative rate", ProductRate{ProductID: "p", RateBps: -1}, "rate_bps"},
		{"negative flat", ProductRate{ProductID: "p", FlatAmount: -1}, "flat_amount"},
		{"flat without currency", ProductRate{ProductID: "p", FlatAmount: 5}, "flat_currency"},
		{"bad currency", ProductRate{ProductID: "p", FlatAmount: 5, FlatCurrency: "dollars"}, "flat_currency"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.in.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Field != c.field {
				t.Fatalf("error %v, want one about %s", err, c.field)
			}
		})
	}
	r := ProductRate{ProductID: " pro ", FlatAmount: 0, FlatCurrency: "eur"}
	if err := r.Validate(); err != nil || r.ProductID != "pro" || r.FlatCurrency != "" {
		t.Fatalf("normalized to %+v, %v", r, err)
	}
}

func TestProductRates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := audit.WithActor(context.Background(), "owner:ann@example.com")
		log := &audit.Log{DB: d}
		s := &Store{DB: d, Audit: log}
		p := validProgram()
		if err := s.CreateProgram(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProductRate(ctx, &ProductRate{ProgramID: p.ID, ProductID: "pro", RateBps: 2000}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProductRate(ctx, &ProductRate{ProgramID: p.ID, ProductID: "basic", RateBps: 1000}); err != nil {
			t.Fatal(err)
		}
		// Setting it again replaces it.
		if err := s.SetProductRate(ctx, &ProductRate{ProgramID: p.ID, ProductID: "pro", FlatAmount: 900, FlatCurrency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.ProductRates(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []ProductRate{
			{ProgramID: p.ID, ProductID: "basic", RateBps: 1000},
			{ProgramID: p.ID, ProductID: "pro", FlatAmount: 900, FlatCurrency: "EUR"},
		}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("rates = %+v, want %+v", got, want)
		}
		if err := s.SetProductRate(ctx, &ProductRate{ProgramID: p.ID + 100, ProductID: "x", RateBps: 1}); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("rate of a missing program: %v", err)
		}
		if err := s.DeleteProductRate(ctx, p.ID, "basic"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteProductRate(ctx, p.ID, "basic"); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if got, _ := s.ProductRates(ctx, p.ID); len(got) != 1 || got[0].ProductID != "pro" {
			t.Fatalf("after delete: %+v", got)
		}
		entries, err := log.List(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]int{}
		for _, e := range entries {
			if e.Actor != "owner:ann@example.com" {
				t.Errorf("entry %s by %q", e.Action, e.Actor)
			}
			actions[e.Action]++
		}
		if actions["product_rate.set"] != 3 || actions["product_rate.delete"] != 1 {
			t.Fatalf("audit actions = %v", actions)
		}
	})
}
