package notify

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"affiliated/internal/apperr"
)

// Events are the outgoing webhook event types, in the order people read them.
var Events = []string{EventSaleCreated, EventRefundCreated, EventCommissionPayable, EventPayoutPaid,
	EventAffiliateCreated, EventAffiliateApproved}

// Outgoing webhook event types.
const (
	EventSaleCreated       = "sale.created"       // a commission was earned on a sale or renewal
	EventRefundCreated     = "refund.created"     // a refund, chargeback or clawback changed a commission
	EventCommissionPayable = "commission.payable" // a commission's hold has passed
	EventPayoutPaid        = "payout.paid"        // a payout to an affiliate was marked paid
	EventAffiliateCreated  = "affiliate.created"  // an affiliate signed up or was added
	EventAffiliateApproved = "affiliate.approved" // an affiliate was approved
)

// Endpoint is a URL the owner registered for outgoing webhooks.
type Endpoint struct {
	ID          int64     `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"` // event types, or ["*"] for all
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	// Secret signs the deliveries. It is only filled in by CreateEndpoint:
	// it is shown once.
	Secret string `json:"secret,omitempty"`
}

// wants reports whether e is subscribed to event.
func (e *Endpoint) wants(event string) bool {
	return slices.Contains(e.Events, "*") || slices.Contains(e.Events, event)
}

// EndpointInput is what the owner sends to register an endpoint.
type EndpointInput struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// CreateEndpoint registers an endpoint and returns it with its secret,
// which is never shown again. The URL must be http(s) and, unless
// AllowPrivate, must not name or resolve to a private, loopback or
// link-local address.
func (s *Service) CreateEndpoint(ctx context.Context, in EndpointInput) (*Endpoint, error) {
	u, err := s.checkURL(ctx, in.URL)
	if err != nil {
		return nil, err
	}
	events, err := checkEvents(in.Events)
	if err != nil {
		return nil, err
	}
	if len(in.Description) > 500 {
		return nil, apperr.Invalid("description", "is longer than 500 characters")
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	e := &Endpoint{URL: u, Events: events, Description: strings.TrimSpace(in.Description),
		CreatedAt: s.now(), Secret: "whsec_" + hex.EncodeToString(b)}
	err = s.db.TX(ctx, func(ctx context.Context) error {
		err := s.db.Q(ctx).QueryRowContext(ctx, `/* notify.CreateEndpoint */
			insert into webhook_endpoints (url, events, secret, description, created_at) values ($1, $2, $3, $4, $5) returning id`,
			e.URL, strings.Join(e.Events, ","), e.Secret, e.Description, e.CreatedAt).Scan(&e.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, "webhook_endpoint.create", e.ID, map[string]any{"url": e.URL, "events": e.Events})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Service) audit(ctx context.Context, action string, id int64, detail any) error {
	if s.cfg.Audit == nil {
		return nil
	}
	return s.cfg.Audit.Record(ctx, action, "webhook_endpoint", id, detail)
}

func checkEvents(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, apperr.Invalid("events", "is required: a list of %s, or [\"*\"] for all", strings.Join(Events, ", "))
	}
	var out []string
	for _, e := range in {
		e = strings.TrimSpace(e)
		if e != "*" && !slices.Contains(Events, e) {
			return nil, apperr.Invalid("events", "unknown event %q: must be one of %s, or *", e, strings.Join(Events, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if slices.Contains(out, "*") {
		out = []string{"*"}
	}
	return out, nil
}

// checkURL validates an endpoint URL and returns it normalized.
func (s *Service) checkURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", apperr.Invalid("url", "must be an absolute http:// or https:// URL")
	}
	if len(raw) > 2000 {
		return "", apperr.Invalid("url", "is longer than 2000 characters")
	}
	if u.User != nil {
		return "", apperr.Invalid("url", "must not hold a user name or password: authenticate deliveries by their signature")
	}
	u.Fragment = ""
	if s.cfg.AllowPrivate {
		return u.String(), nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if privateAddr(ip) {
			return "", apperr.Invalid("url", "%s is a private, loopback or link-local address; such targets are refused unless --webhooks-allow-private is set", host)
		}
		return u.String(), nil
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "", apperr.Invalid("url", "%s is this machine; such targets are refused unless --webhooks-allow-private is set", host)
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := s.cfg.LookupIP(lctx, host)
	if err != nil || len(ips) == 0 {
		return "", apperr.Invalid("url", "the host %s cannot be resolved", host)
	}
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip)
		if !ok || privateAddr(a) {
			return "", apperr.Invalid("url", "%s resolves to %s, a private, loopback or link-local address; such targets are refused unless --webhooks-allow-private is set", host, ip)
		}
	}
	return u.String(), nil
}

// Special-purpose ranges that a webhook must not reach besides the ones the
// netip predicates know (RFC 6890 and friends).
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may embed any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard
}

// privateAddr reports whether ip is one a server-side request must not
// reach: loopback, private (RFC 1918, fc00::/7), link-local (cloud metadata
// at 169.254.169.254), multicast, unspecified and the reserved ranges above.
// IPv4-mapped IPv6 addresses are judged as IPv4.
func privateAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return true
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Endpoints lists the registered endpoints, without their secrets.
func (s *Service) Endpoints(ctx context.Context) ([]*Endpoint, error) {
	rows, err := s.db.R(ctx).QueryContext(ctx, `/* notify.Endpoints */
		select id, url, events, description, created_at from webhook_endpoints order by id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Endpoint{}
	for rows.Next() {
		var e Endpoint
		var events string
		if err := rows.Scan(&e.ID, &e.URL, &events, &e.Description, &e.CreatedAt); err != nil {
			return nil, err
		}
		e.Events, e.CreatedAt = strings.Split(events, ","), e.CreatedAt.UTC()
		out = append(out, &e)
	}
	return out, rows.Err()
}

// endpoint returns the URL and secret of an endpoint.
func (s *Service) endpoint(ctx context.Context, id int64) (u, secret string, err error) {
	err = s.db.R(ctx).QueryRowContext(ctx, `/* notify.endpoint */ select url, secret from webhook_endpoints where id = $1`, id).
		Scan(&u, &secret)
	return u, secret, err
}

// DeleteEndpoint removes an endpoint. Its deliveries still queued become
// dead, with the reason, so that nothing is sent to it any more.
func (s *Service) DeleteEndpoint(ctx context.Context, id int64) error {
	return s.db.TX(ctx, func(ctx context.Context) error {
		res, err := s.db.Q(ctx).ExecContext(ctx, `/* notify.DeleteEndpoint */ delete from webhook_endpoints where id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFound("webhook endpoint")
		}
		if _, err := s.db.Q(ctx).ExecContext(ctx, `/* notify.DeleteEndpoint */
			update outbox set status = 'dead', last_error = 'the endpoint was deleted'
			where endpoint_id = $1 and status = 'queued'`, id); err != nil {
			return err
		}
		return s.audit(ctx, "webhook_endpoint.delete", id, nil)
	})
}

var errEndpointGone = errors.New("the endpoint was deleted")

// lookupEndpoint is endpoint with a missing row turned into a permanent error.
func (s *Service) lookupEndpoint(ctx context.Context, id sql.NullInt64) (string, string, error) {
	if !id.Valid {
		return "", "", permanent("webhook row without an endpoint")
	}
	u, secret, err := s.endpoint(ctx, id.Int64)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", permanentError{errEndpointGone}
	}
	return u, secret, err
}

// dialControl refuses, at connect time, addresses that privateAddr
// rejects: whatever a host name resolved to when the endpoint was
// registered, this is the address actually dialled (DNS rebinding).
func dialControl(network, address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if privateAddr(ip) {
		return &refusedAddrError{ip: ip}
	}
	return nil
}

type refusedAddrError struct{ ip netip.Addr }

func (e *refusedAddrError) Error() string {
	return "refused to connect to " + e.ip.String() + ": a private, loopback or link-local address (see --webhooks-allow-private)"
}
