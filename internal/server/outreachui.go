package server

import (
	"errors"
	"net/http"

	"affiliated/internal/ui/admin"
	"affiliated/internal/ui/outreachui"
)

// setupOutreachUI serves the console's outreach pages (/admin/outreach…,
// /admin/tasks) inside console c; setupOutreach must have run. Called by
// setupAdmin after c.Routes, and the console's Nav carries outreachui.Nav.
func (s *Server) setupOutreachUI(mux *http.ServeMux, c *admin.Console) error {
	if s.Outreach == nil {
		return errors.New("outreach pages need the outreach service: set up outreach first")
	}
	p, err := outreachui.New(outreachui.Config{Console: c, Outreach: s.Outreach, Programs: s.Programs, Log: s.Log})
	if err != nil {
		return err
	}
	p.Routes(mux)
	return nil
}
