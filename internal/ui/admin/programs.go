package admin

import (
	"net/http"
	"strconv"
	"strings"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/money"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// programForm is a program as its form shows it: numbers people type.
type programForm struct {
	ID                                int64
	Name, Slug, Destination, Fallback string
	AllowedHosts                      string // one per line
	Rate                              string // percent
	FlatAmount, FlatCurrency          string
	HoldDays, CookieDays              int
	Attribution                       string
	UTMSource, UTMMedium, UTMCampaign string
	Recurring                         string // once, forever, months
	RecurringMonths                   int
	MinPayout                         int64
	AutoApprove                       bool
	Terms                             string
	Field                             string // the field at fault
	Rates                             []rateRow
	RateProduct, RateValue, RateFlat  string // the add-a-rate form, kept on error
	RateCurrency                      string
	Edit                              bool // an existing program
}

type rateRow struct {
	ProductID string
	Terms     string
}

func toForm(p *program.Program) *programForm {
	f := &programForm{ID: p.ID, Name: p.Name, Slug: p.Slug, Destination: p.DestinationURL, Fallback: p.FallbackURL,
		Rate: percentField(p.CommissionRateBps), FlatCurrency: p.FlatCurrency, HoldDays: p.HoldDays, CookieDays: p.CookieDays,
		Attribution: p.Attribution, UTMSource: p.UTM.Source, UTMMedium: p.UTM.Medium, UTMCampaign: p.UTM.Campaign,
		MinPayout: p.MinPayout, AutoApprove: p.AutoApprove, Terms: p.Terms, Recurring: p.Recurring}
	if p.FlatAmount > 0 {
		f.FlatAmount = money.FormatMajor(p.FlatAmount, p.FlatCurrency)
	}
	if len(p.AllowedHosts) > 1 {
		f.AllowedHosts = strings.Join(p.AllowedHosts[1:], "\n") // the first is the destination's, always allowed
	}
	if strings.HasPrefix(p.Recurring, "months:") {
		f.Recurring = "months"
		f.RecurringMonths, _ = strconv.Atoi(strings.TrimPrefix(p.Recurring, "months:"))
	}
	return f
}

// readProgram fills p from the posted form; f keeps what was typed.
func readProgram(r *http.Request, p *program.Program) (*programForm, error) {
	f := &programForm{ID: p.ID, Name: formString(r, "name"), Slug: formString(r, "slug"),
		Destination: formString(r, "destination_url"), Fallback: formString(r, "fallback_url"),
		AllowedHosts: formString(r, "allowed_hosts"), Rate: formString(r, "rate"),
		FlatAmount: formString(r, "flat_amount"), FlatCurrency: strings.ToUpper(formString(r, "flat_currency")),
		Attribution: formString(r, "attribution"), UTMSource: formString(r, "utm_source"),
		UTMMedium: formString(r, "utm_medium"), UTMCampaign: formString(r, "utm_campaign"),
		Recurring: formString(r, "recurring"), AutoApprove: r.PostForm.Get("auto_approve") == "on",
		Terms: strings.TrimSpace(r.PostForm.Get("terms"))}
	var err error
	if f.HoldDays, err = formInt(r, "hold_days", 0); err != nil {
		return f, err
	}
	if f.CookieDays, err = formInt(r, "cookie_days", 0); err != nil {
		return f, err
	}
	if f.RecurringMonths, err = formInt(r, "recurring_months", 0); err != nil {
		return f, err
	}
	mp, err := formInt(r, "min_payout", 0)
	if err != nil {
		return f, err
	}
	f.MinPayout = int64(mp)
	rate, err := parsePercent("rate", f.Rate)
	if err != nil {
		return f, err
	}
	cur := f.FlatCurrency
	if f.FlatAmount != "" {
		if cur, err = money.ParseCurrency(f.FlatCurrency); err != nil {
			return f, apperr.Invalid("flat_currency", "choose the currency of the flat amount, like USD")
		}
	}
	flat, err := parseAmount("flat_amount", f.FlatAmount, cur)
	if err != nil {
		return f, err
	}
	rec := f.Recurring
	if rec == "months" {
		rec = "months:" + strconv.Itoa(f.RecurringMonths)
	}
	p.Name, p.Slug, p.DestinationURL, p.FallbackURL = f.Name, f.Slug, f.Destination, f.Fallback
	p.AllowedHosts = strings.FieldsFunc(f.AllowedHosts, func(r rune) bool { return r == '\n' || r == ',' || r == ' ' || r == '\r' })
	p.CommissionRateBps, p.FlatAmount, p.FlatCurrency = rate, flat, cur
	if flat == 0 {
		p.FlatCurrency = ""
	}
	p.HoldDays, p.CookieDays, p.Attribution = f.HoldDays, f.CookieDays, f.Attribution
	p.UTM = program.UTM{Source: f.UTMSource, Medium: f.UTMMedium, Campaign: f.UTMCampaign}
	p.Recurring, p.MinPayout, p.AutoApprove, p.Terms = rec, f.MinPayout, f.AutoApprove, f.Terms
	return f, nil
}

type programRow struct {
	*program.Program
	Terms string
}

// programTerms says in words what a program pays.
func programTerms(p *program.Program) string {
	s := formatBps(p.CommissionRateBps) + " of net revenue"
	if p.FlatAmount > 0 {
		s = money.Format(money.Money{Amount: p.FlatAmount, Currency: p.FlatCurrency}) + " per sale (other currencies: " + s + ")"
	}
	return s
}

func (c *Console) programs(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	list, err := c.cfg.Programs.Programs(r.Context())
	if err != nil {
		return err
	}
	rows := make([]programRow, len(list))
	for i, p := range list {
		rows[i] = programRow{p, programTerms(p)}
	}
	return c.render(w, r, "programs", &ui.View{Title: "Programs", Active: "programs", Flash: flash(r), Data: rows})
}

func (c *Console) programsCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	list, err := c.cfg.Programs.Programs(r.Context())
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "programs.csv")
	if err := out.Row("id", "name", "slug", "destination_url", "allowed_hosts", "commission_rate_bps", "flat_amount", "flat_currency",
		"hold_days", "cookie_days", "attribution", "recurring", "min_payout", "auto_approve", "created_at"); err != nil {
		return err
	}
	for _, p := range list {
		flat := ""
		if p.FlatAmount > 0 {
			flat = money.FormatMajor(p.FlatAmount, p.FlatCurrency)
		}
		if err := out.Row(i64(p.ID), p.Name, p.Slug, p.DestinationURL, strings.Join(p.AllowedHosts, " "), strconv.Itoa(p.CommissionRateBps),
			flat, p.FlatCurrency, strconv.Itoa(p.HoldDays), strconv.Itoa(p.CookieDays), p.Attribution, p.Recurring,
			i64(p.MinPayout), strconv.FormatBool(p.AutoApprove), p.CreatedAt.Format("2006-01-02T15:04:05Z")); err != nil {
			return err
		}
	}
	return out.Flush()
}

func (c *Console) newProgram(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	f := toForm(program.NewProgram())
	return c.render(w, r, "program", &ui.View{Title: "New program", Active: "programs", Data: f})
}

func (c *Console) createProgram(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	p := program.NewProgram()
	f, err := readProgram(r, p)
	if err == nil {
		err = c.cfg.Programs.CreateProgram(r.Context(), p)
	}
	if err != nil {
		return c.programFormError(w, r, "New program", f, err)
	}
	return redirect(w, r, Prefix+"/programs/"+i64(p.ID), "program-created")
}

func (c *Console) programFormError(w http.ResponseWriter, r *http.Request, title string, f *programForm, err error) error {
	st, msg, field, fatal := formError(err)
	if fatal != nil {
		return fatal
	}
	f.Field = field
	if f.ID != 0 {
		f.Edit = true
		if f.Rates, fatal = c.rateRows(r, f.ID); fatal != nil {
			return fatal
		}
	}
	return c.renderStatus(w, r, st, "program", &ui.View{Title: title, Active: "programs", Error: msg, Data: f})
}

func (c *Console) rateRows(r *http.Request, programID int64) ([]rateRow, error) {
	rates, err := c.cfg.Programs.ProductRates(r.Context(), programID)
	if err != nil {
		return nil, err
	}
	out := make([]rateRow, len(rates))
	for i, x := range rates {
		t := formatBps(x.RateBps) + " of net revenue"
		if x.FlatAmount > 0 {
			t = money.Format(money.Money{Amount: x.FlatAmount, Currency: x.FlatCurrency}) + " per sale in " + x.FlatCurrency
		}
		out[i] = rateRow{ProductID: x.ProductID, Terms: t}
	}
	return out, nil
}

func (c *Console) editProgram(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := c.cfg.Programs.Program(r.Context(), id)
	if err != nil {
		return err
	}
	f := toForm(p)
	f.Edit = true
	if f.Rates, err = c.rateRows(r, id); err != nil {
		return err
	}
	return c.render(w, r, "program", &ui.View{Title: p.Name, Active: "programs", Flash: flash(r), Data: f})
}

func (c *Console) saveProgram(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := c.cfg.Programs.Program(r.Context(), id)
	if err != nil {
		return err
	}
	title := p.Name
	f, err := readProgram(r, p)
	if err == nil {
		err = c.cfg.Programs.UpdateProgram(r.Context(), p)
	}
	if err != nil {
		return c.programFormError(w, r, title, f, err)
	}
	return redirect(w, r, Prefix+"/programs/"+i64(id), "program-saved")
}

// setRate adds or replaces a product override: a percentage, or a flat
// amount with its currency.
func (c *Console) setRate(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := c.cfg.Programs.Program(r.Context(), id)
	if err != nil {
		return err
	}
	rate := &program.ProductRate{ProgramID: id, ProductID: formString(r, "product_id")}
	product, pct, flat, cur := rate.ProductID, formString(r, "rate"), formString(r, "flat_amount"), strings.ToUpper(formString(r, "flat_currency"))
	err = func() error {
		if flat != "" {
			c, err := money.ParseCurrency(cur)
			if err != nil {
				return apperr.Invalid("rate_currency", "choose the currency of the flat amount, like USD")
			}
			if rate.FlatAmount, err = parseAmount("rate_flat", flat, c); err != nil {
				return err
			}
			rate.FlatCurrency = c
		} else {
			if pct == "" {
				return apperr.Invalid("rate_value", "give a percentage or a flat amount")
			}
			bps, err := parsePercent("rate_value", pct)
			if err != nil {
				return err
			}
			rate.RateBps = bps
		}
		if err := c.cfg.Programs.SetProductRate(r.Context(), rate); err != nil {
			if e, ok := apperr.As(err); ok && e.Field == "product_id" {
				e2 := *e
				e2.Field = "rate_product"
				return &e2
			}
			return err
		}
		return nil
	}()
	if err != nil {
		f := toForm(p)
		f.RateProduct, f.RateValue, f.RateFlat, f.RateCurrency = product, pct, flat, cur
		return c.programFormError(w, r, p.Name, f, err)
	}
	return redirect(w, r, Prefix+"/programs/"+i64(id)+"#rates", "rate-saved")
}

func (c *Console) deleteRate(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := c.cfg.Programs.DeleteProductRate(r.Context(), id, r.PostForm.Get("product_id")); err != nil {
		return err
	}
	return redirect(w, r, Prefix+"/programs/"+i64(id)+"#rates", "rate-deleted")
}
