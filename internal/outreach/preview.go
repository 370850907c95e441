package outreach

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	htmltemplate "html/template"
	"io"
	"strings"
	"time"

	"affiliated/internal/apperr"
)

// Preview links.
const (
	DefaultPreviewTTL = 7 * 24 * time.Hour
	MaxPreviewTTL     = 90 * 24 * time.Hour
	previewPrefix     = "pv_"
)

// maxPreviewEmails bounds one preview page; a vendor list is far shorter.
const maxPreviewEmails = 1000

// PageCSP is the Content-Security-Policy of a preview page. Emails are
// shown in iframes with sandbox="" and srcdoc: no script runs in them, and
// their origin is opaque, so they cannot reach ours. srcdoc frames inherit
// this policy, hence images from https and inline styles (emails are styled
// inline); frame-src 'none' stops a click in an email from loading the link
// in the frame (a preview must not count as a click on a vendor's link).
const PageCSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-src 'none'; " +
	"frame-ancestors 'none'; form-action 'none'; base-uri 'none'"

// PreviewLink is a shareable, read-only preview of a campaign. The token is
// in URL only, once: the database keeps its SHA-256.
type PreviewLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreatePreviewLink makes a link to campaign id's preview that works
// without signing in until ttl has passed (0: DefaultPreviewTTL).
func (s *Service) CreatePreviewLink(ctx context.Context, id int64, ttl time.Duration) (*PreviewLink, error) {
	switch {
	case ttl == 0:
		ttl = DefaultPreviewTTL
	case ttl < time.Minute || ttl > MaxPreviewTTL:
		return nil, apperr.Invalid("expires_in", "must be from 1m to %dh", int(MaxPreviewTTL.Hours()))
	}
	b := make([]byte, 32) // 256 bits
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	token := previewPrefix + base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	link := &PreviewLink{URL: s.BaseURL + "/preview/" + token, ExpiresAt: now.Add(ttl)}
	err := s.DB.TX(ctx, func(ctx context.Context) error {
		if _, err := s.campaign(ctx, id); err != nil {
			return err
		}
		if _, err := s.DB.Q(ctx).ExecContext(ctx, `/* outreach.CreatePreviewLink */
			insert into preview_links (campaign_id, token_hash, created_by, created_at, expires_at)
			values ($1, $2, $3, $4, $5)`, id, hashToken(token), actor(ctx), now, link.ExpiresAt); err != nil {
			return err
		}
		return s.Audit.Record(ctx, "campaign.preview_link", "campaign", id, map[string]any{"expires_at": link.ExpiresAt})
	})
	if err != nil {
		return nil, err
	}
	return link, nil
}

// validToken reports whether s looks like a preview token, before any lookup.
func validToken(s string) bool {
	rest, ok := strings.CutPrefix(s, previewPrefix)
	if !ok || len(rest) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// Page is a preview: every recipient's email of a campaign.
type Page struct {
	Campaign *Campaign
	Emails   []*Email
	From     string // the From line as recipients will see it
	Total    int    // recipients, shown or not
	More     int    // recipients not shown (past maxPreviewEmails)
	// Shared is set for a page seen through a preview link, which expires.
	Shared    bool
	ExpiresAt time.Time
}

// PreviewPage returns the preview of campaign id.
func (s *Service) PreviewPage(ctx context.Context, id int64) (*Page, error) {
	c, emails, err := s.Render(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &Page{Campaign: c, Emails: emails, Total: len(emails), From: s.From}
	if c.FromName != "" {
		p.From = c.FromName + " <" + s.From + ">"
	}
	if len(emails) > maxPreviewEmails {
		p.Emails, p.More = emails[:maxPreviewEmails], len(emails)-maxPreviewEmails
	}
	return p, nil
}

// PreviewByToken returns the preview a link's token opens: NotFound when the
// token is unknown or expired (the two are not told apart).
func (s *Service) PreviewByToken(ctx context.Context, token string) (*Page, error) {
	if !validToken(token) {
		return nil, apperr.NotFound("preview")
	}
	var id int64
	var expires time.Time
	err := s.DB.R(ctx).QueryRowContext(ctx, `/* outreach.PreviewByToken */
		select campaign_id, expires_at from preview_links where token_hash = $1`, hashToken(token)).Scan(&id, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("preview")
	}
	if err != nil {
		return nil, err
	}
	if !s.now().Before(expires) {
		return nil, apperr.NotFound("preview")
	}
	p, err := s.PreviewPage(ctx, id)
	if err != nil {
		return nil, err
	}
	p.Shared, p.ExpiresAt = true, expires.UTC()
	return p, nil
}

//go:embed templates/preview.html
var templateFS embed.FS

var pageTemplate = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/preview.html"))

// WritePage writes p as a standalone HTML page. Serve it with PageCSP.
func WritePage(w io.Writer, p *Page) error {
	return pageTemplate.ExecuteTemplate(w, "preview.html", p)
}
