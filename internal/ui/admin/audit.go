package admin

import (
	"net/http"
	"strings"
	"time"

	"affiliated/internal/audit"
	"affiliated/internal/auth"
	"affiliated/internal/ui"
)

type auditData struct {
	Entries []auditRow
	Pager   ui.Pager
}

// auditRow is an entry with a link to what it is about, when the console has a page for it.
type auditRow struct {
	audit.Entry
	Link string
}

var entityPages = map[string]string{"program": "/programs/", "affiliate": "/affiliates/", "order": "/orders/",
	"payout": "/payouts/", "commission": "", "webhook_event": "/deliveries/"}

func entityLink(e audit.Entry) string {
	p := entityPages[e.Entity]
	if p == "" || e.EntityID == "" || strings.Trim(e.EntityID, "0123456789") != "" {
		return ""
	}
	return Prefix + p + e.EntityID
}

// auditLog lists who changed what, newest first.
func (c *Console) auditLog(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	before, err := queryID(r, "before")
	if err != nil {
		return err
	}
	const limit = 50
	list, err := c.cfg.Audit.List(r.Context(), before, limit)
	if err != nil {
		return err
	}
	next := ""
	if len(list) == limit {
		next = i64(list[len(list)-1].ID)
	}
	d := &auditData{Pager: ui.NewPager(r, "before", next)}
	for _, e := range list {
		d.Entries = append(d.Entries, auditRow{Entry: e, Link: entityLink(e)})
	}
	return c.render(w, r, "audit", &ui.View{Title: "Audit log", Active: "audit", Data: d})
}

func (c *Console) auditCSV(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	before, err := queryID(r, "before")
	if err != nil {
		return err
	}
	out := ui.NewCSV(w, "audit-log.csv")
	if err := out.Row("id", "at", "actor", "action", "entity", "entity_id", "detail"); err != nil {
		return err
	}
	for {
		list, err := c.cfg.Audit.List(r.Context(), before, 500)
		if err != nil {
			return err
		}
		for _, e := range list {
			if err := out.Row(i64(e.ID), e.At.Format(time.RFC3339), e.Actor, e.Action, e.Entity, e.EntityID, string(e.Detail)); err != nil {
				return err
			}
		}
		if len(list) < 500 {
			break
		}
		before = list[len(list)-1].ID
	}
	return out.Flush()
}
