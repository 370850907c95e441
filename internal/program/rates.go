package program

import (
	"context"
	"strings"

	"affiliated/internal/apperr"
)

// ProductRate overrides a program's commission for one product (the
// platform's product or price id): a rate, or a flat amount in one
// currency. The ledger applies it after an affiliate's own rate and before
// the program's; a flat amount applies only to orders in its currency
// (others fall back to the program's terms).
type ProductRate struct {
	ProgramID    int64  `json:"program_id"`
	ProductID    string `json:"product_id"`
	RateBps      int    `json:"rate_bps"`
	FlatAmount   int64  `json:"flat_amount"`
	FlatCurrency string `json:"flat_currency"`
}

// Validate checks and normalizes r.
func (r *ProductRate) Validate() error {
	r.ProductID = strings.TrimSpace(r.ProductID)
	r.FlatCurrency = strings.ToUpper(strings.TrimSpace(r.FlatCurrency))
	if r.ProductID == "" || len(r.ProductID) > 200 {
		return apperr.Invalid("product_id", "must be 1–200 characters")
	}
	if r.RateBps < 0 || r.RateBps > 10000 {
		return apperr.Invalid("rate_bps", "must be from 0 to 10000 (100%%)")
	}
	if r.FlatAmount < 0 {
		return apperr.Invalid("flat_amount", "must not be negative")
	}
	if r.FlatAmount > 0 {
		if !currencyRe.MatchString(r.FlatCurrency) {
			return apperr.Invalid("flat_currency", "must be an ISO 4217 code like USD when flat_amount is set")
		}
	} else {
		r.FlatCurrency = ""
	}
	return nil
}

// ProductRates lists a program's product overrides by product id.
func (s *Store) ProductRates(ctx context.Context, programID int64) ([]ProductRate, error) {
	rows, err := s.DB.R(ctx).QueryContext(ctx, `/* program.ProductRates */
		select program_id, product_id, rate_bps, flat_amount, flat_currency from product_rates
		where program_id = $1 order by product_id`, programID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ProductRate{}
	for rows.Next() {
		var r ProductRate
		if err := rows.Scan(&r.ProgramID, &r.ProductID, &r.RateBps, &r.FlatAmount, &r.FlatCurrency); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetProductRate creates or replaces the override of r's product. It
// applies to commissions booked from now on; booked ones keep their terms.
func (s *Store) SetProductRate(ctx context.Context, r *ProductRate) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if _, err := s.Program(ctx, r.ProgramID); err != nil {
		return err
	}
	return s.DB.TX(ctx, func(ctx context.Context) error {
		_, err := s.DB.Q(ctx).ExecContext(ctx, `/* program.SetProductRate */
			insert into product_rates (program_id, product_id, rate_bps, flat_amount, flat_currency)
			values ($1, $2, $3, $4, $5)
			on conflict (program_id, product_id) do update
			set rate_bps = excluded.rate_bps, flat_amount = excluded.flat_amount, flat_currency = excluded.flat_currency`,
			r.ProgramID, r.ProductID, r.RateBps, r.FlatAmount, r.FlatCurrency)
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, "product_rate.set", "program", r.ProgramID, r)
	})
}

// DeleteProductRate removes the override of a product: the program's terms apply again.
func (s *Store) DeleteProductRate(ctx context.Context, programID int64, productID string) error {
	return s.DB.TX(ctx, func(ctx context.Context) error {
		res, err := s.DB.Q(ctx).ExecContext(ctx, `/* program.DeleteProductRate */
			delete from product_rates where program_id = $1 and product_id = $2`, programID, productID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFound("product rate")
		}
		return s.Audit.Record(ctx, "product_rate.delete", "program", programID, map[string]string{"product_id": productID})
	})
}
