package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/ledger"
	"affiliated/internal/notify"
	"affiliated/internal/ui"
)

func (c *Console) deliveryTabs(ctx context.Context, current string) ([]tab, error) {
	tabs := []tab{{Label: "Received webhooks", Href: Prefix + "/deliveries", Current: current == "in"}}
	if c.cfg.Notify != nil {
		dead, _, err := c.cfg.Notify.Messages(ctx, notify.Filter{Status: notify.StatusDead, Limit: 500})
		if err != nil {
			return nil, err
		}
		tabs = append(tabs, tab{Label: "Outgoing messages", Href: Prefix + "/outbox", Current: current == "out", Count: len(dead)})
	}
	return tabs, nil
}

func readDeliveryFilter(r *http.Request) (ledger.DeliveryFilter, error) {
	q := r.URL.Query()
	f := ledger.DeliveryFilter{Outcome: q.Get("outcome"), Platform: q.Get("platform")}
	switch f.Outcome {
	case "", "applied", "ignored", "failed":
	default:
		return f, apperr.Invalid("outcome", "choose applied, ignored or failed")
	}
	var err error
	f.Before, err = queryID(r, "before")
	return f, err
}

type deliveriesData struct {
	Filter    ledger.DeliveryFilter
	Tabs      []tab
	Rows      []ledger.Delivery
	Pager     ui.Pager
	CSV       string
	Platforms []string
}

func (c *Console) deliveries(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	v := &ui.View{Title: "Received webhooks", Active: "deliveries", Flash: flash(r)}
	f, err := readDeliveryFilter(r)
	if err != nil {
		v.Error = ui.Message(err)
		f = ledger.DeliveryFilter{}
	}
	d := &deliveriesData{Filter: f, Platforms: platforms}
	if d.Tabs, err = c.deliveryTabs(ctx, "in"); err != nil {
		return err
	}
	f.Limit = 50
	var next string
	if d.Rows, next, err = c.cfg.Ledger.Deliveries(ctx, f); err != nil {
		return err
	}
	d.Pager = ui.NewPager(r, "before", next)
	q := r.URL.Query()
	q.Del("before")
	d.CSV = Prefix + "/deliveries.csv?" + q.Encode()
	v.Data = d
	return c.render(w, r, "deliveries", v)
}

func (c *Console) deliveriesCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	f, err := readDeliveryFilter(r)
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "webhook-deliveries.csv")
	if err := out.Row("id", "received_at", "platform", "event_type", "event_id", "outcome", "error", "order_id"); err != nil {
		return err
	}
	f.Limit = 1000
	for {
		list, next, err := c.cfg.Ledger.Deliveries(r.Context(), f)
		if err != nil {
			return err
		}
		for _, d := range list {
			order := ""
			if d.OrderID != nil {
				order = i64(*d.OrderID)
			}
			if err := out.Row(i64(d.ID), d.ReceivedAt.Format(time.RFC3339), d.Platform, d.EventType, d.EventID, d.Outcome, d.Error, order); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		f.Before, _ = strconv.ParseInt(next, 10, 64)
	}
	return out.Flush()
}

// delivery shows one received webhook with its body.
func (c *Console) delivery(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	// The listing is newest first below a cursor: the first row below id+1
	// is id itself, if it exists.
	list, _, err := c.cfg.Ledger.Deliveries(r.Context(), ledger.DeliveryFilter{Before: id + 1, Limit: 1, WithBody: true})
	if err != nil {
		return err
	}
	if len(list) == 0 || list[0].ID != id {
		return apperr.NotFound("delivery")
	}
	d := list[0]
	return c.render(w, r, "delivery", &ui.View{Title: "Webhook " + d.Platform + " " + d.EventType, Active: "deliveries", Data: d})
}

type outboxData struct {
	Filter notify.Filter
	Tabs   []tab
	Rows   []*notify.Message
	Pager  ui.Pager
	CSV    string
}

func readOutboxFilter(r *http.Request) (notify.Filter, error) {
	q := r.URL.Query()
	f := notify.Filter{Status: q.Get("status"), Channel: q.Get("channel")}
	var err error
	f.Before, err = queryID(r, "before")
	return f, err
}

func (c *Console) outbox(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	if c.cfg.Notify == nil {
		return apperr.NotFound("outbox")
	}
	v := &ui.View{Title: "Outgoing messages", Active: "deliveries", Flash: flash(r)}
	f, err := readOutboxFilter(r)
	if err != nil {
		v.Error = ui.Message(err)
		f = notify.Filter{}
	}
	d := &outboxData{Filter: f}
	if d.Tabs, err = c.deliveryTabs(ctx, "out"); err != nil {
		return err
	}
	f.Limit = 50
	var next string
	d.Rows, next, err = c.cfg.Notify.Messages(ctx, f)
	if err != nil {
		if _, msg, _, fatal := formError(err); fatal != nil {
			return fatal
		} else {
			v.Error = msg
			d.Filter = notify.Filter{}
			if d.Rows, next, err = c.cfg.Notify.Messages(ctx, notify.Filter{Limit: 50}); err != nil {
				return err
			}
		}
	}
	d.Pager = ui.NewPager(r, "before", next)
	q := r.URL.Query()
	q.Del("before")
	q.Del("done")
	d.CSV = Prefix + "/outbox.csv?" + q.Encode()
	v.Data = d
	return c.render(w, r, "outbox", v)
}

func (c *Console) outboxCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	if c.cfg.Notify == nil {
		return apperr.NotFound("outbox")
	}
	f, err := readOutboxFilter(r)
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "outbox.csv")
	if err := out.Row("id", "created_at", "channel", "topic", "recipient", "subject", "status", "attempts", "next_at",
		"sent_at", "last_error"); err != nil {
		return err
	}
	f.Limit = 500
	for {
		list, next, err := c.cfg.Notify.Messages(r.Context(), f)
		if err != nil {
			return err
		}
		for _, m := range list {
			sent := ""
			if m.SentAt != nil {
				sent = m.SentAt.Format(time.RFC3339)
			}
			if err := out.Row(i64(m.ID), m.CreatedAt.Format(time.RFC3339), m.Channel, m.Topic, m.Recipient, m.Subject, m.Status,
				strconv.Itoa(m.Attempts), m.NextAt.Format(time.RFC3339), sent, m.LastError); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		f.Before, _ = strconv.ParseInt(next, 10, 64)
	}
	return out.Flush()
}

// retryMessage queues a dead (or waiting) message to be sent now.
func (c *Console) retryMessage(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	if c.cfg.Notify == nil {
		return apperr.NotFound("outbox")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := c.cfg.Notify.Retry(r.Context(), id); err != nil {
		return err
	}
	return redirect(w, r, safeBack(r.PostForm.Get("back"), Prefix+"/outbox"), "retried")
}
