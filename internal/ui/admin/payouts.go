package admin

import (
	"bytes"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/ledger"
	"affiliated/internal/money"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// payoutsShown is how many payouts the history shows with their totals.
const payoutsShown = 50

type payoutRow struct {
	*ledger.Payout
	Program string
	Totals  []moneyLine
	People  int
}

type moneyLine struct {
	Currency string
	Amount   int64
}

func totals(lines []ledger.PayoutLine) []moneyLine {
	by := map[string]int64{}
	for _, ln := range lines {
		by[ln.Currency] += ln.Amount
	}
	out := make([]moneyLine, 0, len(by))
	for cur, v := range by {
		out = append(out, moneyLine{cur, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

type payoutsData struct {
	Programs  []*program.Program
	ProgramID int64
	BeforeDay string // the preview's last day, "" for now
	TZ        string
	Preview   *ledger.PayoutPreview
	Totals    []moneyLine
	History   []payoutRow
	More      bool
}

// payoutBefore reads the optional last day of payable commissions (in the
// owner's zone): the end of that day, or now.
func (c *Console) payoutBefore(r *http.Request, day string) (time.Time, error) {
	if day == "" {
		return c.now(), nil
	}
	loc, err := c.location(r)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.ParseInLocation("2006-01-02", day, loc)
	if err != nil {
		return time.Time{}, apperr.Invalid("before", "choose a day")
	}
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc), nil
}

func (c *Console) payouts(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	return c.payoutsPage(w, r, http.StatusOK, "", r.URL.Query().Get("program"), r.URL.Query().Get("before"))
}

func (c *Console) payoutsPage(w http.ResponseWriter, r *http.Request, status int, errMsg, programParam, beforeDay string) error {
	ctx := r.Context()
	v := &ui.View{Title: "Payouts", Active: "payouts", Flash: flash(r), Error: errMsg}
	loc, _ := c.location(r)
	d := &payoutsData{BeforeDay: beforeDay, TZ: loc.String()}
	var err error
	if d.Programs, err = c.cfg.Programs.Programs(ctx); err != nil {
		return err
	}
	names := map[int64]string{}
	for _, p := range d.Programs {
		names[p.ID] = p.Name
	}
	if programParam != "" {
		d.ProgramID, _ = strconv.ParseInt(programParam, 10, 64)
	}
	before, err := c.payoutBefore(r, beforeDay)
	if err != nil {
		v.Error, d.BeforeDay, before = ui.Message(err), "", c.now()
	}
	if d.Preview, err = c.cfg.Ledger.PreviewPayout(ctx, d.ProgramID, before); err != nil {
		return err
	}
	d.Totals = totals(d.Preview.Lines)
	list, err := c.cfg.Ledger.Payouts(ctx)
	if err != nil {
		return err
	}
	if len(list) > payoutsShown {
		list, d.More = list[:payoutsShown], true
	}
	for _, p := range list {
		full, err := c.cfg.Ledger.Payout(ctx, p.ID)
		if err != nil {
			return err
		}
		row := payoutRow{Payout: full, Program: "All programs", Totals: totals(full.Lines), People: len(full.Lines)}
		if p.ProgramID != nil {
			row.Program = names[*p.ProgramID]
		}
		d.History = append(d.History, row)
	}
	v.Data = d
	return c.renderStatus(w, r, status, "payouts", v)
}

func (c *Console) createPayout(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	programParam, beforeDay := formString(r, "program_id"), formString(r, "before")
	var programID int64
	if programParam != "" {
		var err error
		if programID, err = strconv.ParseInt(programParam, 10, 64); err != nil {
			return apperr.Invalid("program_id", "choose a program")
		}
	}
	before, err := c.payoutBefore(r, beforeDay)
	var p *ledger.Payout
	if err == nil {
		p, err = c.cfg.Ledger.CreatePayout(r.Context(), programID, before)
	}
	if err != nil {
		st, msg, _, fatal := formError(err)
		if fatal != nil {
			return fatal
		}
		return c.payoutsPage(w, r, st, msg, programParam, beforeDay)
	}
	return redirect(w, r, Prefix+"/payouts/"+i64(p.ID), "payout-created")
}

type payoutData struct {
	*ledger.Payout
	Program string
	Totals  []moneyLine
}

func (c *Console) payout(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := c.cfg.Ledger.Payout(ctx, id)
	if err != nil {
		return err
	}
	d := &payoutData{Payout: p, Program: "All programs", Totals: totals(p.Lines)}
	if p.ProgramID != nil {
		prog, err := c.cfg.Programs.Program(ctx, *p.ProgramID)
		if err != nil {
			return err
		}
		d.Program = prog.Name
	}
	return c.render(w, r, "payout", &ui.View{Title: "Payout " + i64(id), Active: "payouts", Flash: flash(r), Data: d})
}

// payoutCSV is the payout's file for bulk payment, in the ledger's format
// (the same as the API's).
func (c *Console) payoutCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := c.cfg.Ledger.Payout(r.Context(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := ledger.WritePayoutCSV(&buf, p); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "payout-" + i64(id) + ".csv"}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(buf.Bytes())
	return err
}

func (c *Console) markPaid(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := c.cfg.Ledger.MarkPaid(r.Context(), id); err != nil {
		return err
	}
	if c.cfg.Notify != nil {
		c.cfg.Notify.Kick()
	}
	return redirect(w, r, Prefix+"/payouts/"+i64(id), "payout-paid")
}

func (c *Console) cancelPayout(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := c.cfg.Ledger.CancelPayout(r.Context(), id); err != nil {
		return err
	}
	return redirect(w, r, Prefix+"/payouts/"+i64(id), "payout-cancelled")
}

// payoutsCSV writes the history: one row per payout, affiliate and currency.
func (c *Console) payoutsCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	list, err := c.cfg.Ledger.Payouts(ctx)
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "payouts.csv")
	if err := out.Row("payout_id", "program_id", "status", "created_at", "paid_at", "cancelled_at", "affiliate_id", "name",
		"email", "payout_email", "currency", "amount", "commissions", "clawbacks"); err != nil {
		return err
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	for _, p := range list {
		full, err := c.cfg.Ledger.Payout(ctx, p.ID)
		if err != nil {
			return err
		}
		prog := ""
		if p.ProgramID != nil {
			prog = i64(*p.ProgramID)
		}
		for _, ln := range full.Lines {
			if err := out.Row(i64(p.ID), prog, p.Status, p.CreatedAt.Format(time.RFC3339), ts(p.PaidAt), ts(p.CancelledAt),
				i64(ln.AffiliateID), ln.Name, ln.Email, ln.PayoutEmail, ln.Currency, money.FormatMajor(ln.Amount, ln.Currency),
				strconv.Itoa(ln.Commissions), money.FormatMajor(ln.Clawbacks, ln.Currency)); err != nil {
				return err
			}
		}
	}
	return out.Flush()
}
