package public

import (
	"bytes"
	"log/slog"
	"net/http"

	"affiliated/internal/apperr"
	"affiliated/internal/httpx"
	"affiliated/internal/outreach"
)

// Previews serves shareable campaign previews, /preview/{token}: no
// sign-in, read-only (GET only), 404 once the link is unknown or expired.
type Previews struct {
	Log      *slog.Logger
	Outreach *outreach.Service
}

// Routes registers the preview route on mux.
func (p *Previews) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /preview/{token}", p.preview)
}

func (p *Previews) preview(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", outreach.PageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// The token is in the URL: no Referer may carry it to an image host.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow")

	page, err := p.Outreach.PreviewByToken(r.Context(), r.PathValue("token"))
	if err != nil {
		status, e := httpx.Classify(err)
		if status >= 500 {
			p.Log.Error("preview failed", "err", err) // never the token
		}
		if apperr.Is(err, apperr.KindNotFound) {
			e.Message = "This preview link is unknown or has expired."
		}
		http.Error(w, e.Message, status)
		return
	}
	var buf bytes.Buffer
	if err := outreach.WritePage(&buf, page); err != nil {
		p.Log.Error("preview page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
