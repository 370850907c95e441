package outreachui

import (
	"net/http"
	"strings"

	"affiliated/internal/auth"
	"affiliated/internal/outreach"
	"affiliated/internal/ui"
	"affiliated/internal/ui/admin"
)

// boardData is what the task board shows.
type boardData struct {
	Tasks      []*outreach.Task
	Status     string // the filter: "" for the board, "all" or a status
	Statuses   []string
	Priorities []string
	Typed      *outreach.Task // the new-task form
}

func (p *Pages) board(w http.ResponseWriter, r *http.Request, status int, msg string, typed *outreach.Task) error {
	filter := r.URL.Query().Get("status")
	list, err := p.cfg.Outreach.Tasks(r.Context(), outreach.TaskFilter{Status: filter, Limit: 500})
	if err != nil {
		return err
	}
	if typed == nil {
		typed = outreach.NewTask()
	}
	return p.surface.Render(w, r, status, "tasks", &ui.View{Title: "Tasks", Active: "tasks", Flash: flash(r), Error: msg,
		Data: boardData{Tasks: list, Status: filter, Statuses: outreach.TaskStatuses, Priorities: outreach.Priorities, Typed: typed}})
}

func (p *Pages) tasks(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	return p.board(w, r, http.StatusOK, "", nil)
}

func (p *Pages) createTask(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	f := r.PostForm
	t := outreach.NewTask()
	t.Title, t.Owner, t.DueDate, t.Link, t.Notes = f.Get("title"), f.Get("owner"), strings.TrimSpace(f.Get("due_date")), strings.TrimSpace(f.Get("link")), f.Get("notes")
	if v := f.Get("priority"); v != "" {
		t.Priority = v
	}
	if err := p.cfg.Outreach.CreateTask(r.Context(), t); err != nil {
		status, msg, fatal := formError(err)
		if fatal != nil {
			return fatal
		}
		return p.board(w, r, status, msg, t)
	}
	return redirect(w, r, admin.Prefix+"/tasks", "task")
}

// updateTask moves a card to another status.
func (p *Pages) updateTask(w http.ResponseWriter, r *http.Request, me *auth.Owner) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := p.cfg.Outreach.Task(r.Context(), id)
	if err != nil {
		return err
	}
	t.Status = r.PostForm.Get("status")
	if err := p.cfg.Outreach.UpdateTask(r.Context(), t); err != nil {
		status, msg, fatal := formError(err)
		if fatal != nil {
			return fatal
		}
		return p.board(w, r, status, msg, nil)
	}
	return redirect(w, r, admin.Prefix+"/tasks", "updated")
}
