package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/notify"
	"affiliated/internal/server/servertest"
)

func TestApprovals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, "--workers=false")
		p := newProgram(t, app, "course")
		var pending, other affiliate
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates",
			map[string]any{"program_id": p.ID, "email": "cleo@example.com", "name": "Cleo", "status": "pending"}, &pending)
		app.MustDo(http.StatusCreated, "POST", "/api/v1/affiliates",
			map[string]any{"program_id": p.ID, "email": "dan@example.com", "name": "Dan", "status": "pending"}, &other)

		var got affiliate
		app.MustDo(http.StatusOK, "POST", aid(pending.ID)+"/approve", nil, &got)
		if got.Status != "active" || got.ReferralURL == "" {
			t.Fatalf("approved: %+v", got)
		}
		// The welcome email with the link is queued; approving twice is refused.
		msgs, _, err := app.Notify.Messages(context.Background(), notify.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var welcomes int
		for _, m := range msgs {
			if m.Topic == "affiliate.approved" && m.Recipient == "cleo@example.com" {
				welcomes++
			}
		}
		if welcomes != 1 {
			t.Fatalf("welcome emails: %d in %+v", welcomes, msgs)
		}
		r := app.Do("POST", aid(pending.ID)+"/approve", nil)
		if code, field := r.Error(t); r.Status != http.StatusConflict || code != "not_pending" || field != "status" {
			t.Fatalf("approve twice: %d %s", r.Status, r.Body)
		}
		if r := app.Do("POST", aid(pending.ID)+"/reject", nil); r.Status != http.StatusConflict {
			t.Fatalf("reject an active affiliate: %d", r.Status)
		}

		app.MustDo(http.StatusOK, "POST", aid(other.ID)+"/reject", nil, &got)
		if got.Status != "rejected" {
			t.Fatalf("rejected: %+v", got)
		}
		// A rejection can be reconsidered.
		app.MustDo(http.StatusOK, "POST", aid(other.ID)+"/approve", nil, &got)
		if got.Status != "active" {
			t.Fatalf("approved after rejection: %+v", got)
		}

		for _, path := range []string{aid(999999) + "/approve", aid(999999) + "/reject", "/api/v1/affiliates/x/approve"} {
			if r := app.Do("POST", path, nil); r.Status != http.StatusNotFound {
				t.Errorf("%s: %d", path, r.Status)
			}
		}
		if r := app.DoWith("POST", aid(other.ID)+"/reject", nil, http.Header{}); r.Status != http.StatusUnauthorized {
			t.Errorf("without a token: %d", r.Status)
		}
		// Each decision is in the audit log, by the token that made it.
		var audit struct {
			Data []struct {
				Actor, Action string
				EntityID      string `json:"entity_id"`
			} `json:"data"`
		}
		app.MustDo(http.StatusOK, "GET", "/api/v1/audit", nil, &audit)
		var decisions []string
		for _, e := range audit.Data {
			if strings.HasPrefix(e.Action, "affiliate.approve") || strings.HasPrefix(e.Action, "affiliate.reject") {
				decisions = append(decisions, e.Action+":"+e.EntityID+":"+e.Actor)
			}
		}
		want := []string{"affiliate.approve:" + itoa(other.ID) + ":token:test", "affiliate.reject:" + itoa(other.ID) + ":token:test",
			"affiliate.approve:" + itoa(pending.ID) + ":token:test"}
		if strings.Join(decisions, " ") != strings.Join(want, " ") {
			t.Fatalf("audit: %v, want %v", decisions, want)
		}
	})
}
