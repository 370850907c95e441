package outreach

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/notify"
)

// reach creates a campaign and takes it to state by legal moves.
func (e *env) reach(state, name string) *Campaign {
	e.t.Helper()
	c := e.create(name)
	steps := map[string][]string{
		StateDraft:            nil,
		StateInReview:         {"submit"},
		StateChangesRequested: {"submit", "request"},
		StateApproved:         {"submit", "approve"},
		StateSending:          {"submit", "approve", "send"},
		StateSent:             {"submit", "approve", "send", "deliver"},
	}[state]
	for _, step := range steps {
		var err error
		switch step {
		case "submit":
			_, err = e.s.Submit(ctx, c.ID, review())
		case "request":
			_, err = e.s.RequestChanges(ctx, c.ID, "shorter, please")
		case "approve":
			_, err = e.s.Approve(ctx, c.ID, "")
		case "send":
			_, err = e.s.Send(ctx, c.ID)
		case "deliver":
			e.drain()
		}
		if err != nil {
			e.t.Fatalf("%s: %v", step, err)
		}
	}
	if got := e.state(c.ID); got != state && state != StateSent {
		e.t.Fatalf("reached %s, want %s", got, state)
	}
	if state == StateSent {
		got, err := e.s.Campaign(ctx, c.ID) // reading settles it
		if err != nil || got.State != StateSent {
			e.t.Fatalf("campaign %+v, %v; want sent", got, err)
		}
	}
	return c
}

// drain sends every due outbox message (to the dev mailbox).
func (e *env) drain() {
	e.t.Helper()
	o := e.s.Outbox.(withStatus)
	for {
		n, err := o.RunOnce(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// snapshot is everything an action could change, as text.
func (e *env) snapshot(id int64) string {
	e.t.Helper()
	c, err := e.s.campaign(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	tasks, err := e.s.Tasks(ctx, TaskFilter{Status: "all", Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, _, err := e.s.Outbox.(withStatus).Messages(ctx, notify.Filter{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	recipients, _, err := e.s.Recipients(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := json.Marshal([]any{c, e.transitions(id), tasks, len(msgs), recipients})
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func TestIllegalTransitionsChangeNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "Solare Wines", "Forno Rosso")
		actions := map[string]func(id int64) error{
			"submit": func(id int64) error { _, err := e.s.Submit(ctx, id, review()); return err },
			"approve": func(id int64) error {
				_, err := e.s.Approve(ctx, id, "ok")
				return err
			},
			"request-changes": func(id int64) error {
				_, err := e.s.RequestChanges(ctx, id, "no")
				return err
			},
			"send": func(id int64) error { _, err := e.s.Send(ctx, id); return err },
			"edit": func(id int64) error {
				c := e.content("edited")
				c.Subject = "Changed {{.Name}}"
				_, err := e.s.Update(ctx, id, c)
				return err
			},
		}
		legal := map[string][]string{
			StateDraft:            {"submit", "edit"},
			StateInReview:         {"approve", "request-changes", "edit"},
			StateChangesRequested: {"submit", "edit"},
			StateApproved:         {"send", "edit"},
			StateSending:          nil,
			StateSent:             nil,
		}
		n := 0
		for _, state := range States {
			for action, do := range actions {
				if contains(legal[state], action) {
					continue
				}
				n++
				c := e.reach(state, state+" "+action)
				before := e.snapshot(c.ID)
				err := do(c.ID)
				ae, ok := apperr.As(err)
				if !ok || ae.Kind != apperr.KindConflict || ae.Field != "state" {
					t.Errorf("%s from %s: err = %v, want a state conflict (409)", action, state, err)
				}
				if after := e.snapshot(c.ID); after != before {
					t.Errorf("%s from %s changed something:\nbefore %s\nafter  %s", action, state, before, after)
				}
			}
		}
		if n != 21 {
			t.Errorf("%d illegal moves tried, want 21", n)
		}
	})
}

func TestWorkflowRecordsEveryTransition(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "Solare Wines", "Forno Rosso")
		writer := audit.WithActor(context.Background(), "token:writer")
		ann := audit.WithActor(context.Background(), "owner:ann@trattoria.example")
		c := e.create("Spring")

		if _, err := e.s.Submit(writer, c.ID, Review{}); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("submit without approver: %v", err)
		}
		if _, err := e.s.Submit(writer, c.ID, Review{Approver: "ann", Priority: "asap"}); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("submit with a bad priority: %v", err)
		}
		if _, err := e.s.Submit(writer, c.ID, Review{Approver: "ann", DueDate: "15/01/2027"}); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("submit with a bad date: %v", err)
		}
		got, err := e.s.Submit(writer, c.ID, review())
		if err != nil {
			t.Fatal(err)
		}
		if got.State != StateInReview || got.Approver != "ann@trattoria.example" || got.Priority != "high" || got.DueDate != "2027-01-15" {
			t.Fatalf("submitted: %+v", got)
		}
		board := func() []*Task {
			t.Helper()
			ts, err := e.s.Tasks(ctx, TaskFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return ts
		}
		tasks := board()
		if len(tasks) != 1 {
			t.Fatalf("board after submit: %+v", tasks)
		}
		task := tasks[0]
		if task.Kind != TaskCampaignReview || task.Owner != "ann@trattoria.example" || task.Priority != "high" ||
			task.Status != TaskOpen || task.DueDate != "2027-01-15" || task.CampaignID == nil || *task.CampaignID != c.ID ||
			!strings.HasSuffix(task.Link, "/admin/outreach/campaigns/"+itoa(c.ID)+"/preview") ||
			!strings.Contains(task.Title, "Spring") || !strings.Contains(task.Title, "2 recipients") {
			t.Fatalf("review task: %+v", task)
		}

		if _, err := e.s.RequestChanges(ann, c.ID, "  "); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("request changes without a comment: %v", err)
		}
		if _, err := e.s.RequestChanges(ann, c.ID, "Mention the tasting menu."); err != nil {
			t.Fatal(err)
		}
		if ts := board(); len(ts) != 0 {
			t.Fatalf("the decided task is still on the board: %+v", ts)
		}
		closed, err := e.s.Task(ctx, task.ID)
		if err != nil || closed.Status != TaskDone || closed.ClosedAt == nil {
			t.Fatalf("decided task: %+v %v", closed, err)
		}

		// An edit in changes_requested keeps the state; resubmitting opens a new task.
		edit := e.content("Spring")
		edit.HTML += "<p>Try our tasting menu.</p>"
		if got, err := e.s.Update(writer, c.ID, edit); err != nil || got.State != StateChangesRequested {
			t.Fatalf("edit: %+v %v", got, err)
		}
		if _, err := e.s.Submit(writer, c.ID, Review{Approver: "ann@trattoria.example"}); err != nil {
			t.Fatal(err)
		}
		if ts := board(); len(ts) != 1 || ts[0].ID == task.ID || ts[0].Priority != "normal" {
			t.Fatalf("board after resubmit: %+v", ts)
		}
		got, err = e.s.Approve(ann, c.ID, "Lovely.")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != StateApproved || got.ApprovedBy != "owner:ann@trattoria.example" || got.ApprovedAt == nil {
			t.Fatalf("approved: %+v", got)
		}
		if ts := board(); len(ts) != 0 {
			t.Fatalf("board after approval: %+v", ts)
		}
		if got, err = e.s.Send(writer, c.ID); err != nil || got.State != StateSending ||
			got.Progress == nil || got.Progress.Total != 2 || got.Progress.Queued != 2 {
			t.Fatalf("send: %+v %v", got, err)
		}
		e.drain()
		if got, err = e.s.Campaign(ctx, c.ID); err != nil || got.State != StateSent || got.SentAt == nil ||
			*got.Progress != (Progress{Total: 2, Sent: 2}) {
			t.Fatalf("after delivery: %+v %v", got, err)
		}

		want := []Transition{
			{Actor: "token:writer", From: StateDraft, To: StateInReview, Comment: "please look"},
			{Actor: "owner:ann@trattoria.example", From: StateInReview, To: StateChangesRequested, Comment: "Mention the tasting menu."},
			{Actor: "token:writer", From: StateChangesRequested, To: StateInReview},
			{Actor: "owner:ann@trattoria.example", From: StateInReview, To: StateApproved, Comment: "Lovely."},
			{Actor: "token:writer", From: StateApproved, To: StateSending, Comment: "2 recipients"},
			{Actor: "system", From: StateSending, To: StateSent, Comment: "all recipients settled"},
		}
		ts := e.transitions(c.ID)
		if len(ts) != len(want) {
			t.Fatalf("transitions: %+v", ts)
		}
		for i, w := range want {
			g := ts[i]
			if g.Actor != w.Actor || g.From != w.From || g.To != w.To || g.Comment != w.Comment || g.At.IsZero() {
				t.Errorf("transition %d: %+v, want %+v", i, g, w)
			}
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestEditVoidsApproval(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "Solare Wines")
		c := e.reach(StateApproved, "Summer")

		// Saving what is there already is no edit.
		same, err := e.s.Update(ctx, c.ID, e.content("Summer"))
		if err != nil || same.State != StateApproved || same.ApprovedBy == "" {
			t.Fatalf("unchanged save: %+v %v", same, err)
		}
		n := len(e.transitions(c.ID))

		edit := e.content("Summer")
		edit.Subject = "New: {{.Name}}"
		got, err := e.s.Update(ctx, c.ID, edit)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != StateDraft || got.ApprovedBy != "" || got.ApprovedAt != nil || got.Subject != "New: {{.Name}}" {
			t.Fatalf("after edit: %+v", got)
		}
		ts := e.transitions(c.ID)
		if len(ts) != n+1 || ts[n].From != StateApproved || ts[n].To != StateDraft || !strings.Contains(ts[n].Comment, "approval voided") {
			t.Fatalf("transitions: %+v", ts)
		}
		if _, err := e.s.Send(ctx, c.ID); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("send after the edit: %v", err)
		}

		// In review: the edit withdraws the review and its task.
		r := e.reach(StateInReview, "Autumn")
		edit = e.content("Autumn")
		edit.FromName = "Someone else"
		if got, err := e.s.Update(ctx, r.ID, edit); err != nil || got.State != StateDraft {
			t.Fatalf("edit in review: %+v %v", got, err)
		}
		tasks, err := e.s.Tasks(ctx, TaskFilter{Status: "all", CampaignID: r.ID})
		if err != nil || len(tasks) != 1 || tasks[0].Status != TaskCancelled || tasks[0].ClosedAt == nil {
			t.Fatalf("review task after the edit: %+v %v", tasks, err)
		}
		if _, err := e.s.Approve(ctx, r.ID, ""); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("approve after the edit: %v", err)
		}
	})
}

func TestSaveChecksTemplatesAndRecipients(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "Solare Wines")
		bad := e.content("Bad")
		bad.HTML = "<p>Hi {{.FirstName}}</p>"
		_, err := e.s.Create(ctx, bad)
		if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.KindInvalid || ae.Field != "html" || !strings.Contains(ae.Message, "FirstName") {
			t.Fatalf("create with an unknown field: %v", err)
		}
		if list, _ := e.s.Campaigns(ctx, CampaignFilter{}); len(list) != 0 {
			t.Fatalf("stored anyway: %+v", list)
		}
		c := e.create("Good")
		bad = e.content("Good")
		bad.Subject = "{{.Nickname}}"
		if _, err := e.s.Update(ctx, c.ID, bad); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("update with an unknown field: %v", err)
		}
		if got, _ := e.s.Campaign(ctx, c.ID); got.Subject != e.content("Good").Subject {
			t.Fatalf("stored anyway: %+v", got)
		}

		for name, r := range map[string]Recipients{
			"none":           {},
			"unknown id":     {AffiliateIDs: []int64{999}},
			"unknown status": {Status: "vip"},
			"unknown prog":   {ProgramID: 999},
		} {
			in := e.content("R " + name)
			in.Recipients = r
			if _, err := e.s.Create(ctx, in); !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("recipients %s: %v", name, err)
			}
		}
		for name, fix := range map[string]func(*Content){
			"reply-to":  func(c *Content) { c.ReplyTo = "not an address" },
			"from name": func(c *Content) { c.FromName = "a\r\nBcc: x@y.z" },
			"slug":      func(c *Content) { c.Slug = "Has Spaces" },
			"name":      func(c *Content) { c.Name = " " },
		} {
			in := e.content("F " + name)
			fix(&in)
			if _, err := e.s.Create(ctx, in); !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Slugs are unique: generated ones get a suffix, chosen ones conflict.
		if c2 := e.create("Good"); c2.Slug != "good-2" {
			t.Errorf("second slug %q", c2.Slug)
		}
		dup := e.content("Other")
		dup.Slug = "good"
		if _, err := e.s.Create(ctx, dup); !apperr.Is(err, apperr.KindConflict) {
			t.Errorf("duplicate slug: %v", err)
		}
	})
}

func TestRecipientsResolve(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, "A", "B", "C", "D")
		e.vendors[1].Status = "suspended"
		if err := e.programs.UpdateAffiliate(ctx, e.vendors[1]); err != nil {
			t.Fatal(err)
		}
		ids := func(r Recipients) []int64 {
			t.Helper()
			list, err := e.s.resolve(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			out := []int64{}
			for _, a := range list {
				out = append(out, a.ID)
			}
			return out
		}
		v := func(i ...int) []int64 {
			out := []int64{}
			for _, n := range i {
				out = append(out, e.vendors[n].ID)
			}
			return out
		}
		cases := []struct {
			name string
			r    Recipients
			want []int64
		}{
			{"program", Recipients{ProgramID: e.prog.ID}, v(0, 1, 2, 3)},
			{"status", Recipients{Status: "active"}, v(0, 2, 3)},
			{"program and status", Recipients{ProgramID: e.prog.ID, Status: "suspended"}, v(1)},
			{"chosen", Recipients{AffiliateIDs: v(3, 0)}, v(3, 0)},
			{"chosen and active", Recipients{AffiliateIDs: v(1, 2), Status: "active"}, v(2)},
		}
		for _, tc := range cases {
			if got := ids(tc.r); !equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
		// Submitting a campaign that reaches nobody is refused.
		in := e.content("Nobody")
		in.Recipients = Recipients{Status: "pending"}
		c, err := e.s.Create(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Submit(ctx, c.ID, review()); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("submit to nobody: %v", err)
		}
		if e.state(c.ID) != StateDraft {
			t.Fatal("state changed")
		}
	})
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
