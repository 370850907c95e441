package api

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
	"affiliated/internal/outreach"
)

// outreachRoutes registers vendor outreach: campaigns, their workflow and
// previews, and the task board. Nothing is registered without a service.
func (a *API) outreachRoutes(h func(string, httpx.HandlerFunc)) {
	if a.Outreach == nil {
		return
	}
	h("GET /api/v1/outreach/campaigns", a.listCampaigns)
	h("POST /api/v1/outreach/campaigns", a.createCampaign)
	h("GET /api/v1/outreach/campaigns/{id}", a.getCampaign)
	h("PATCH /api/v1/outreach/campaigns/{id}", a.patchCampaign)
	h("GET /api/v1/outreach/campaigns/{id}/preview", a.previewCampaign)
	h("GET /api/v1/outreach/campaigns/{id}/recipients", a.campaignRecipients)
	h("POST /api/v1/outreach/campaigns/{id}/submit", a.submitCampaign)
	h("POST /api/v1/outreach/campaigns/{id}/approve", a.decideCampaign(true))
	h("POST /api/v1/outreach/campaigns/{id}/request-changes", a.decideCampaign(false))
	h("POST /api/v1/outreach/campaigns/{id}/send", a.sendCampaign)
	h("POST /api/v1/outreach/campaigns/{id}/preview-links", a.createPreviewLink)

	h("GET /api/v1/tasks", a.listTasks)
	h("POST /api/v1/tasks", a.createTask)
	h("GET /api/v1/tasks/{id}", a.getTask)
	h("PATCH /api/v1/tasks/{id}", a.patchTask)
}

// campaignOut is a campaign with its history.
type campaignOut struct {
	*outreach.Campaign
	Transitions []outreach.Transition `json:"transitions"`
}

// decodeOptional decodes a JSON body into v when there is one; an action
// whose body is optional may be posted without any.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	if r.ContentLength < 0 { // chunked: look before deciding
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, httpx.MaxBody)); err != nil {
			return err
		}
		if buf.Len() == 0 {
			return nil
		}
		if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
			return apperr.New(apperr.KindUnsupported, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)")
		}
		return httpx.Unmarshal(buf.Bytes(), v)
	}
	return httpx.DecodeJSON(w, r, v)
}

func (a *API) writeCampaign(w http.ResponseWriter, r *http.Request, status int, c *outreach.Campaign) error {
	ts, err := a.Outreach.Transitions(r.Context(), c.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, campaignOut{Campaign: c, Transitions: ts})
	return nil
}

func (a *API) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	f := outreach.CampaignFilter{State: r.URL.Query().Get("state")}
	var err error
	if f.After, err = queryInt64(r, "cursor"); err != nil {
		return err
	}
	limit, err := queryInt64(r, "limit")
	if err != nil {
		return err
	}
	if limit == 0 || limit > 500 {
		limit = 100
	}
	f.Limit = int(limit)
	list, err := a.Outreach.Campaigns(r.Context(), f)
	if err != nil {
		return err
	}
	res := page[*outreach.Campaign]{Data: list}
	if res.Data == nil {
		res.Data = []*outreach.Campaign{}
	}
	if len(list) == f.Limit {
		res.NextCursor = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) createCampaign(w http.ResponseWriter, r *http.Request) error {
	var in outreach.Content
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := a.Outreach.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, http.StatusCreated, c)
}

func (a *API) getCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := a.Outreach.Campaign(r.Context(), id)
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, http.StatusOK, c)
}

// campaignPatch is the content with the fields present in the body changed.
// State is there only to explain that it is not changed this way.
type campaignPatch struct {
	*outreach.Content
	State *string `json:"state"`
}

func (a *API) patchCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := a.Outreach.Campaign(r.Context(), id)
	if err != nil {
		return err
	}
	in := campaignPatch{Content: &c.Content}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.State != nil && *in.State != c.State {
		return apperr.Invalid("state", "changes through POST …/submit, …/approve, …/request-changes and …/send")
	}
	c, err = a.Outreach.Update(r.Context(), id, *in.Content)
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, http.StatusOK, c)
}

// writePreview writes a preview page with the headers that keep the
// rendered emails in their sandbox. The public /preview/{token} route
// writes the same.
func writePreview(w http.ResponseWriter, p *outreach.Page) error {
	var buf bytes.Buffer
	if err := outreach.WritePage(&buf, p); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", outreach.PageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

func (a *API) previewCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.Outreach.PreviewPage(r.Context(), id)
	if err != nil {
		return err
	}
	return writePreview(w, p)
}

func (a *API) campaignRecipients(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	list, p, err := a.Outreach.Recipients(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
		Data     []outreach.RecipientStatus `json:"data"`
		Progress outreach.Progress          `json:"progress"`
	}{list, p})
	return nil
}

func (a *API) submitCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in outreach.Review
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := a.Outreach.Submit(r.Context(), id, in)
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, http.StatusOK, c)
}

func (a *API) decideCampaign(approve bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var in struct {
			Comment string `json:"comment"`
		}
		if err := decodeOptional(w, r, &in); err != nil {
			return err
		}
		var c *outreach.Campaign
		if approve {
			c, err = a.Outreach.Approve(r.Context(), id, in.Comment)
		} else {
			c, err = a.Outreach.RequestChanges(r.Context(), id, in.Comment)
		}
		if err != nil {
			return err
		}
		return a.writeCampaign(w, r, http.StatusOK, c)
	}
}

func (a *API) sendCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := a.Outreach.Send(r.Context(), id)
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, http.StatusAccepted, c)
}

// parseTTL reads "72h", "30m" or "7d".
func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3650 {
			return 0, apperr.Invalid("expires_in", "must be a duration like 72h or 7d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, apperr.Invalid("expires_in", "must be a duration like 72h or 7d")
	}
	return d, nil
}

func (a *API) createPreviewLink(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		ExpiresIn string `json:"expires_in"`
	}
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	ttl, err := parseTTL(in.ExpiresIn)
	if err != nil {
		return err
	}
	link, err := a.Outreach.CreatePreviewLink(r.Context(), id, ttl)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, link)
	return nil
}

func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := outreach.TaskFilter{Status: q.Get("status"), Owner: q.Get("owner")}
	var err error
	if f.CampaignID, err = queryInt64(r, "campaign_id"); err != nil {
		return err
	}
	if f.After, err = queryInt64(r, "cursor"); err != nil {
		return err
	}
	limit, err := queryInt64(r, "limit")
	if err != nil {
		return err
	}
	if limit == 0 || limit > 500 {
		limit = 100
	}
	f.Limit = int(limit)
	list, err := a.Outreach.Tasks(r.Context(), f)
	if err != nil {
		return err
	}
	res := page[*outreach.Task]{Data: list}
	if len(list) == f.Limit {
		res.NextCursor = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// taskIn is what a client may set on a task; the rest of a Task read back
// is accepted and ignored, so a client can send back what it read.
type taskIn struct {
	*outreach.Task
	ID        *int64     `json:"id"`
	CreatedBy *string    `json:"created_by"`
	CreatedAt *time.Time `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at"`
}

func (a *API) createTask(w http.ResponseWriter, r *http.Request) error {
	in := taskIn{Task: outreach.NewTask()}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := a.Outreach.CreateTask(r.Context(), in.Task); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, in.Task)
	return nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := a.Outreach.Task(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) patchTask(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := a.Outreach.Task(r.Context(), id)
	if err != nil {
		return err
	}
	in := taskIn{Task: t}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	t.ID = id
	if err := a.Outreach.UpdateTask(r.Context(), t); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}
