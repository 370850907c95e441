package public

import (
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"affiliated/internal/ledger"
	"affiliated/internal/payments"
)

// Webhooks receives payment platforms' signed deliveries. It verifies the
// raw bytes, then hands them to the ledger, which stores the delivery and
// its effects in one transaction; only then does it answer 2xx.
type Webhooks struct {
	Log    *slog.Logger
	Ledger *ledger.Ledger

	PaddleSecrets      []string
	PaddleClassicKey   *rsa.PublicKey
	LemonSqueezySecret string
	StripeSecret       string
	GumroadToken       string
	Tolerance          time.Duration

	rejected *prometheus.CounterVec
	received *prometheus.CounterVec
}

// Routes registers the webhook endpoints and their metrics.
func (h *Webhooks) Routes(mux *http.ServeMux, reg prometheus.Registerer) {
	h.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "affiliated_webhooks_rejected_total", Help: "Webhook deliveries refused, by platform and reason.",
	}, []string{"platform", "reason"})
	h.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "affiliated_webhooks_received_total", Help: "Verified webhook deliveries, by platform and outcome.",
	}, []string{"platform", "outcome"})
	reg.MustRegister(h.rejected, h.received)
	mux.HandleFunc("POST /webhooks/paddle", h.handle(payments.Paddle, h.verifyPaddle))
	mux.HandleFunc("POST /webhooks/paddle-classic", h.handle(payments.PaddleClassic, h.verifyPaddleClassic))
	mux.HandleFunc("POST /webhooks/lemonsqueezy", h.handle(payments.LemonSqueezy, h.verifyLemonSqueezy))
	mux.HandleFunc("POST /webhooks/stripe", h.handle(payments.Stripe, h.verifyStripe))
	mux.HandleFunc("POST /webhooks/gumroad/{token}", h.handle(payments.Gumroad, h.verifyGumroad))
}

// verifier checks a delivery's signature on its raw bytes.
type verifier func(r *http.Request, body []byte) error

// configured reports whether platform has a secret on this server.
func (h *Webhooks) configured(platform string) bool {
	switch platform {
	case payments.Paddle:
		return len(h.PaddleSecrets) > 0
	case payments.PaddleClassic:
		return h.PaddleClassicKey != nil
	case payments.LemonSqueezy:
		return h.LemonSqueezySecret != ""
	case payments.Stripe:
		return h.StripeSecret != ""
	case payments.Gumroad:
		return h.GumroadToken != ""
	}
	return false
}

func (h *Webhooks) verifyPaddle(r *http.Request, body []byte) error {
	return payments.VerifyPaddle(body, r.Header.Get("Paddle-Signature"), h.PaddleSecrets, time.Now(), h.Tolerance)
}

func (h *Webhooks) verifyPaddleClassic(r *http.Request, body []byte) error {
	return payments.VerifyPaddleClassic(body, h.PaddleClassicKey)
}

func (h *Webhooks) verifyLemonSqueezy(r *http.Request, body []byte) error {
	return payments.VerifyLemonSqueezy(body, r.Header.Get("X-Signature"), h.LemonSqueezySecret)
}

func (h *Webhooks) verifyStripe(r *http.Request, body []byte) error {
	return payments.VerifyStripe(body, r.Header.Get("Stripe-Signature"), h.StripeSecret, time.Now(), h.Tolerance)
}

func (h *Webhooks) verifyGumroad(r *http.Request, body []byte) error {
	return payments.VerifyGumroadToken(r.PathValue("token"), h.GumroadToken)
}

func (h *Webhooks) handle(platform string, verify verifier) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.configured(platform) {
			writeJSONError(w, http.StatusNotFound, "not_configured",
				"webhooks for "+platform+" are not configured on this server (set its secret; see README)")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			h.rejected.WithLabelValues(platform, "too_large").Inc()
			writeJSONError(w, http.StatusRequestEntityTooLarge, "too_large", "body larger than 1 MiB")
			return
		}
		if err := verify(r, body); err != nil {
			reason := "signature"
			if errors.Is(err, payments.ErrStale) {
				reason = "stale"
			}
			h.rejected.WithLabelValues(platform, reason).Inc()
			// Log the event, never the body: it is unauthenticated input.
			h.Log.Warn("webhook rejected", "platform", platform, "reason", reason, "err", err, "bytes", len(body))
			writeJSONError(w, http.StatusUnauthorized, "bad_signature", "signature missing, invalid or stale")
			return
		}
		ev, perr := payments.Parse(platform, body)
		outcome, err := h.Ledger.Ingest(r.Context(), platform, body, ev, perr)
		if err != nil {
			h.Log.Error("webhook not stored; the platform will retry", "platform", platform, "event_id", ev.EventID, "err", err)
			writeJSONError(w, http.StatusInternalServerError, "internal", "could not store the event; please retry")
			return
		}
		h.received.WithLabelValues(platform, string(outcome)).Inc()
		if outcome == ledger.Failed {
			h.Log.Warn("webhook payload malformed; stored as failed", "platform", platform, "err", perr)
			writeJSONError(w, http.StatusBadRequest, "malformed", perr.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"outcome":"` + string(outcome) + `"}` + "\n"))
	}
}
