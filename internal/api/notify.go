package api

import (
	"net/http"

	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
	"affiliated/internal/notify"
)

func (a *API) notifyRoutes(h func(string, httpx.HandlerFunc)) {
	h("POST /api/v1/webhook-endpoints", a.createEndpoint)
	h("GET /api/v1/webhook-endpoints", a.listEndpoints)
	h("DELETE /api/v1/webhook-endpoints/{id}", a.deleteEndpoint)
	h("GET /api/v1/outbox", a.listOutbox)
	h("GET /api/v1/outbox/{id}", a.getOutbox)
	h("POST /api/v1/outbox/{id}/retry", a.retryOutbox)
	h("GET /api/v1/mailbox", a.mailbox)
}

// notifier returns the notification service: a.Notify, or else the one the
// ledger announces through (the server sets that one up before the routes).
func (a *API) notifier() (*notify.Service, error) {
	if a.Notify != nil {
		return a.Notify, nil
	}
	if a.Ledger != nil {
		if s, ok := a.Ledger.Notifier.(*notify.Service); ok {
			return s, nil
		}
	}
	return nil, apperr.New(apperr.KindUnavailable, "notifications_unavailable", "notifications are not set up on this server")
}

func (a *API) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	n, err := a.notifier()
	if err != nil {
		return err
	}
	var in notify.EndpointInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	e, err := n.CreateEndpoint(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, e)
	return nil
}

func (a *API) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	n, err := a.notifier()
	if err != nil {
		return err
	}
	list, err := n.Endpoints(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page[*notify.Endpoint]{Data: list})
	return nil
}

func (a *API) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	n, err := a.notifier()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := n.DeleteEndpoint(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func outboxFilter(r *http.Request) (notify.Filter, error) {
	q := r.URL.Query()
	f := notify.Filter{Status: q.Get("status"), Channel: q.Get("channel")}
	var err error
	if f.Before, err = queryInt64(r, "cursor"); err != nil {
		return f, err
	}
	limit, err := queryInt64(r, "limit")
	f.Limit = int(limit)
	return f, err
}

func (a *API) listOutbox(w http.ResponseWriter, r *http.Request) error {
	n, err := a.notifier()
	if err != nil {
		return err
	}
	f, err := outboxFilter(r)
	if err != nil {
		return err
	}
	list, next, err := n.Messages(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page[*notify.Message]{Data: list, NextCursor: next})
	return nil
}

func (a *API) getOutbox(w http.ResponseWriter, r *http.Request) error {
	n, err := a.notifier()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := n.Message(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, m)
	return nil
}

func (a *API) retryOutbox(w http.ResponseWriter, r *http.Request) error {
	n, err := a.notifier()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := n.Retry(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, m)
	return nil
}

// mailbox lists emails with their rendered parts: the dev mailbox when no
// SMTP server is configured ("dev_mailbox": true), the sent mail otherwise.
func (a *API) mailbox(w http.ResponseWriter, r *http.Request) error {
	n, err := a.notifier()
	if err != nil {
		return err
	}
	f, err := outboxFilter(r)
	if err != nil {
		return err
	}
	list, next, err := n.Mailbox(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
		page[*notify.MailboxEntry]
		DevMailbox bool `json:"dev_mailbox"`
	}{page[*notify.MailboxEntry]{Data: list, NextCursor: next}, n.DevMailbox()})
	return nil
}
