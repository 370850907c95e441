package server

import "affiliated/internal/analytics"

// setupAnalytics builds the owner's reports (read-only: rollups and
// indexes, see internal/analytics).
func (s *Server) setupAnalytics() error {
	s.Analytics = &analytics.Service{DB: s.DB}
	if s.Journal != nil {
		s.Analytics.Sync = s.Journal.Sync
	}
	return nil
}
