package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/ledger"
	"affiliated/internal/money"
	"affiliated/internal/ui"
)

// dates is an optional range of days in the owner's zone, for lists.
type dates struct {
	From, To       time.Time // zero: open
	FromDay, ToDay string
	TZ             string
}

// readDates reads from and to (YYYY-MM-DD, both optional, to inclusive).
func (c *Console) readDates(r *http.Request) (dates, error) {
	loc, err := c.location(r)
	if err != nil {
		return dates{}, err
	}
	q := r.URL.Query()
	d := dates{FromDay: q.Get("from"), ToDay: q.Get("to"), TZ: loc.String()}
	if d.FromDay != "" {
		if d.From, err = time.ParseInLocation("2006-01-02", d.FromDay, loc); err != nil {
			return dates{}, apperr.Invalid("from", "choose a start date")
		}
	}
	if d.ToDay != "" {
		t, err := time.ParseInLocation("2006-01-02", d.ToDay, loc)
		if err != nil {
			return dates{}, apperr.Invalid("to", "choose an end date")
		}
		d.To = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	}
	return d, nil
}

// orderTabs is the sub-navigation of the orders section.
func (c *Console) orderTabs(ctx context.Context, current string) ([]tab, error) {
	held, _, err := c.cfg.Ledger.Commissions(ctx, ledger.CommissionFilter{Status: ledger.StatusHeld, Limit: 1000})
	if err != nil {
		return nil, err
	}
	return []tab{
		{Label: "All orders", Href: Prefix + "/orders", Current: current == "all"},
		{Label: "Unattributed", Href: Prefix + "/orders?unattributed=1", Current: current == "unattributed"},
		{Label: "Commissions", Href: Prefix + "/commissions", Current: current == "commissions"},
		{Label: "Review queue", Href: Prefix + "/commissions?status=held", Current: current == "review", Count: len(held)},
	}, nil
}

type orderFilter struct {
	Platform     string
	AffiliateID  int64
	Unattributed bool
	Dates        dates
	After        int64
}

func (c *Console) readOrderFilter(r *http.Request) (orderFilter, error) {
	q := r.URL.Query()
	f := orderFilter{Platform: q.Get("platform"), Unattributed: q.Get("unattributed") == "1"}
	var err error
	if f.AffiliateID, err = queryID(r, "affiliate"); err != nil {
		return f, err
	}
	if f.After, err = queryID(r, "after"); err != nil {
		return f, err
	}
	f.Dates, err = c.readDates(r)
	return f, err
}

func (f orderFilter) ledger(limit int) ledger.OrderFilter {
	return ledger.OrderFilter{AffiliateID: f.AffiliateID, Platform: f.Platform, Unattributed: f.Unattributed,
		From: f.Dates.From, To: f.Dates.To, After: f.After, Limit: limit}
}

type orderRow struct {
	*ledger.Order
	Affiliate string
}

type ordersData struct {
	Filter    orderFilter
	Tabs      []tab
	Rows      []orderRow
	Pager     ui.Pager
	CSV       string
	Platforms []string
}

var platforms = []string{"paddle", "paddle-classic", "lemonsqueezy", "stripe", "gumroad"}

// affiliateNames names the affiliates of a page of rows.
func (c *Console) affiliateNames(ctx context.Context, ids map[int64]bool) (map[int64]string, error) {
	out := map[int64]string{}
	for id := range ids {
		a, err := c.cfg.Programs.Affiliate(ctx, id)
		if apperr.Is(err, apperr.KindNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = a.Name
		if a.Name == "" {
			out[id] = a.Email
		}
	}
	return out, nil
}

func (c *Console) orders(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	v := &ui.View{Title: "Orders", Active: "orders", Flash: flash(r)}
	f, err := c.readOrderFilter(r)
	if err != nil {
		if _, msg, _, fatal := formError(err); fatal != nil {
			return fatal
		} else {
			v.Error = msg
		}
		f = orderFilter{Unattributed: f.Unattributed}
	}
	d := &ordersData{Filter: f, Platforms: platforms}
	current := "all"
	if f.Unattributed {
		current = "unattributed"
		v.Title = "Unattributed orders"
	}
	if d.Tabs, err = c.orderTabs(ctx, current); err != nil {
		return err
	}
	list, next, err := c.cfg.Ledger.Orders(ctx, f.ledger(50))
	if err != nil {
		return err
	}
	ids := map[int64]bool{}
	for _, o := range list {
		if o.AffiliateID != nil {
			ids[*o.AffiliateID] = true
		}
	}
	names, err := c.affiliateNames(ctx, ids)
	if err != nil {
		return err
	}
	for _, o := range list {
		row := orderRow{Order: o}
		if o.AffiliateID != nil {
			row.Affiliate = names[*o.AffiliateID]
		}
		d.Rows = append(d.Rows, row)
	}
	d.Pager = ui.NewPager(r, "after", next)
	q := r.URL.Query()
	q.Del("after")
	q.Del("done")
	d.CSV = Prefix + "/orders.csv?" + q.Encode()
	v.Data = d
	return c.render(w, r, "orders", v)
}

func (c *Console) ordersCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	f, err := c.readOrderFilter(r)
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "orders.csv")
	if err := out.Row("id", "platform", "order_ref", "kind", "occurred_at", "product_id", "product_name", "customer_email",
		"currency", "gross", "tax", "discount", "fee", "net", "refunded_gross", "refunded_net", "affiliate_id", "attributed_by",
		"referral", "coupon"); err != nil {
		return err
	}
	for {
		list, next, err := c.cfg.Ledger.Orders(ctx, f.ledger(1000))
		if err != nil {
			return err
		}
		for _, o := range list {
			aff := ""
			if o.AffiliateID != nil {
				aff = i64(*o.AffiliateID)
			}
			m := func(v int64) string { return money.FormatMajor(v, o.Currency) }
			if err := out.Row(i64(o.ID), o.Platform, o.OrderRef, o.Kind, o.OccurredAt.Format(time.RFC3339), o.ProductID, o.ProductName,
				o.CustomerEmail, o.Currency, m(o.Gross), m(o.Tax), m(o.Discount), m(o.Fee), m(o.Net), m(o.RefundedGross),
				m(o.RefundedNet), aff, o.AttributedBy, o.Referral, o.Coupon); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		f.After, _ = strconv.ParseInt(next, 10, 64)
	}
	return out.Flush()
}

type orderData struct {
	*ledger.OrderDetail
	Affiliate *affiliateRef
	Code      string // the attribute form, kept on error
	Field     string
}

type affiliateRef struct {
	ID   int64
	Name string
	Code string
}

func (c *Console) order(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return c.orderPage(w, r, id, http.StatusOK, "", "", "")
}

func (c *Console) orderPage(w http.ResponseWriter, r *http.Request, id int64, status int, errMsg, code, field string) error {
	ctx := r.Context()
	od, err := c.cfg.Ledger.OrderDetail(ctx, id)
	if err != nil {
		return err
	}
	d := &orderData{OrderDetail: od, Code: code, Field: field}
	if od.AffiliateID != nil {
		a, err := c.cfg.Programs.Affiliate(ctx, *od.AffiliateID)
		if err != nil {
			return err
		}
		d.Affiliate = &affiliateRef{ID: a.ID, Name: a.Name, Code: a.Code}
		if a.Name == "" {
			d.Affiliate.Name = a.Email
		}
	}
	v := &ui.View{Title: "Order " + od.Platform + " " + od.OrderRef, Active: "orders", Flash: flash(r), Error: errMsg, Data: d}
	return c.renderStatus(w, r, status, "order", v)
}

// attributeOrder credits an unattributed order to the affiliate with the
// code typed in the form, booking the commission.
func (c *Console) attributeOrder(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	code := formString(r, "code")
	err = func() error {
		if code == "" {
			return apperr.Invalid("code", "type the code of the affiliate to credit")
		}
		a, err := c.cfg.Programs.AffiliateByCode(ctx, code)
		if apperr.Is(err, apperr.KindNotFound) {
			return apperr.Invalid("code", "no affiliate has the code %q", code)
		}
		if err != nil {
			return err
		}
		_, err = c.cfg.Ledger.AttributeOrder(ctx, id, a.ID)
		return err
	}()
	if err != nil {
		st, msg, field, fatal := formError(err)
		if fatal != nil {
			return fatal
		}
		if field == "affiliate_id" {
			field = "code"
		}
		return c.orderPage(w, r, id, st, msg, code, field)
	}
	return redirect(w, r, Prefix+"/orders/"+i64(id), "attributed")
}

type commissionFilter struct {
	Status      string
	AffiliateID int64
	ProgramID   int64
	Platform    string
	Dates       dates
	After       int64
}

func (c *Console) readCommissionFilter(r *http.Request) (commissionFilter, error) {
	q := r.URL.Query()
	f := commissionFilter{Status: q.Get("status"), Platform: q.Get("platform")}
	var err error
	if f.AffiliateID, err = queryID(r, "affiliate"); err != nil {
		return f, err
	}
	if f.ProgramID, err = queryID(r, "program"); err != nil {
		return f, err
	}
	if f.After, err = queryID(r, "after"); err != nil {
		return f, err
	}
	f.Dates, err = c.readDates(r)
	return f, err
}

func (f commissionFilter) ledger(limit int) ledger.CommissionFilter {
	return ledger.CommissionFilter{AffiliateID: f.AffiliateID, ProgramID: f.ProgramID, Status: f.Status, Platform: f.Platform,
		From: f.Dates.From, To: f.Dates.To, After: f.After, Limit: limit}
}

type commissionRow struct {
	*ledger.Commission
	Affiliate string
}

type commissionsData struct {
	Filter    commissionFilter
	Tabs      []tab
	Rows      []commissionRow
	Pager     ui.Pager
	CSV       string
	Statuses  []string
	Platforms []string
	Review    bool
}

var commissionStatuses = []string{ledger.StatusPending, ledger.StatusPayable, ledger.StatusHeld, ledger.StatusInPayout,
	ledger.StatusPaid, ledger.StatusReversed, ledger.StatusRejected}

func (c *Console) commissions(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	v := &ui.View{Title: "Commissions", Active: "orders", Flash: flash(r)}
	f, err := c.readCommissionFilter(r)
	if err != nil {
		if _, msg, _, fatal := formError(err); fatal != nil {
			return fatal
		} else {
			v.Error = msg
		}
		f = commissionFilter{Status: f.Status}
	}
	d := &commissionsData{Filter: f, Statuses: commissionStatuses, Platforms: platforms, Review: f.Status == ledger.StatusHeld}
	current := "commissions"
	if d.Review {
		current, v.Title = "review", "Review queue"
	}
	if d.Tabs, err = c.orderTabs(ctx, current); err != nil {
		return err
	}
	list, next, err := c.cfg.Ledger.Commissions(ctx, f.ledger(50))
	if err != nil {
		if _, msg, _, fatal := formError(err); fatal != nil {
			return fatal
		} else {
			v.Error = msg
		}
	}
	ids := map[int64]bool{}
	for _, cm := range list {
		ids[cm.AffiliateID] = true
	}
	names, err := c.affiliateNames(ctx, ids)
	if err != nil {
		return err
	}
	for _, cm := range list {
		d.Rows = append(d.Rows, commissionRow{Commission: cm, Affiliate: names[cm.AffiliateID]})
	}
	d.Pager = ui.NewPager(r, "after", next)
	q := r.URL.Query()
	q.Del("after")
	q.Del("done")
	d.CSV = Prefix + "/commissions.csv?" + q.Encode()
	v.Data = d
	return c.render(w, r, "commissions", v)
}

func (c *Console) commissionsCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	f, err := c.readCommissionFilter(r)
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "commissions.csv")
	if err := out.Row("id", "order_id", "platform", "order_ref", "occurred_at", "affiliate_id", "program_id", "product_name",
		"currency", "order_net", "rate_bps", "flat_amount", "amount", "status", "review", "payable_at"); err != nil {
		return err
	}
	for {
		list, next, err := c.cfg.Ledger.Commissions(ctx, f.ledger(1000))
		if err != nil {
			return err
		}
		for _, cm := range list {
			m := func(v int64) string { return money.FormatMajor(v, cm.Currency) }
			if err := out.Row(i64(cm.ID), i64(cm.OrderID), cm.Platform, cm.OrderRef, cm.OccurredAt.Format(time.RFC3339),
				i64(cm.AffiliateID), i64(cm.ProgramID), cm.ProductName, cm.Currency, m(cm.OrderNet), i64(cm.RateBps),
				m(cm.FlatAmount), m(cm.Amount), cm.Status, cm.Review, cm.PayableAt.Format(time.RFC3339)); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		f.After, _ = strconv.ParseInt(next, 10, 64)
	}
	return out.Flush()
}

// reviewCommission approves or rejects a held commission (a self-referral).
func (c *Console) reviewCommission(approve bool) func(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		back := safeBack(r.PostForm.Get("back"), Prefix+"/commissions?status=held")
		if err := c.cfg.Ledger.Review(r.Context(), id, approve); err != nil {
			if apperr.Is(err, apperr.KindConflict) {
				return redirect(w, r, back, "nothing-to-approve")
			}
			return err
		}
		done := "commission-ok"
		if !approve {
			done = "commission-no"
		}
		return redirect(w, r, back, done)
	}
}

// safeBack keeps a return address only when it is a console path.
func safeBack(back, def string) string {
	if !strings.HasPrefix(back, Prefix+"/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		return def
	}
	if u, err := url.Parse(back); err != nil || u.Host != "" || u.Scheme != "" {
		return def
	}
	return back
}
