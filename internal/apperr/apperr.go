// Package apperr is how the domain says what went wrong without knowing
// about HTTP: a kind (invalid, not found, conflict, …), a stable code, a
// message for people and the field at fault. internal/httpx maps kinds to
// status codes in one place.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the surfaces that report it.
type Kind int

const (
	KindInvalid      Kind = iota + 1 // the input is wrong: 400
	KindUnauthorized                 // who you are is unknown: 401
	KindForbidden                    // who you are may not: 403
	KindNotFound                     // 404
	KindConflict                     // duplicate or wrong state: 409
	KindTooLarge                     // 413
	KindUnsupported                  // 415
	KindTooMany                      // rate limited: 429
	KindUnavailable                  // try again later: 503
)

// Error is a domain error a user can act on.
type Error struct {
	Kind    Kind
	Code    string // stable, machine-readable: "invalid", "duplicate", "not_found", …
	Message string
	Field   string // the input field at fault, if any
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Invalid reports a bad value in field.
func Invalid(field, format string, args ...any) error {
	return &Error{Kind: KindInvalid, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

// Conflict reports a duplicate or a state that forbids the operation.
func Conflict(code, field, format string, args ...any) error {
	return &Error{Kind: KindConflict, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing thing.
func NotFound(what string) error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: what + " not found"}
}

// New makes an error of any kind.
func New(kind Kind, code, format string, args ...any) error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries an *Error of kind k.
func Is(err error, k Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == k
}
