// Package httpx is the plumbing every HTTP surface shares: handlers that
// return errors, one mapping from errors to status codes, JSON in and out,
// and middleware (metrics, access log, panics, security headers).
package httpx

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"affiliated/internal/apperr"
)

// MaxBody is the largest request body any endpoint accepts.
const MaxBody = 1 << 20

// HandlerFunc is an http.HandlerFunc that may fail; the wrapper reports the error.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

var statusOf = map[apperr.Kind]int{
	apperr.KindInvalid:      http.StatusBadRequest,
	apperr.KindUnauthorized: http.StatusUnauthorized,
	apperr.KindForbidden:    http.StatusForbidden,
	apperr.KindNotFound:     http.StatusNotFound,
	apperr.KindConflict:     http.StatusConflict,
	apperr.KindTooLarge:     http.StatusRequestEntityTooLarge,
	apperr.KindUnsupported:  http.StatusUnsupportedMediaType,
	apperr.KindTooMany:      http.StatusTooManyRequests,
	apperr.KindUnavailable:  http.StatusServiceUnavailable,
}

// Classify maps err to a status and a user-facing *apperr.Error. Unknown
// errors become a 500 whose message reveals nothing.
func Classify(err error) (int, *apperr.Error) {
	if e, ok := apperr.As(err); ok {
		if st, ok := statusOf[e.Kind]; ok {
			return st, e
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return http.StatusNotFound, &apperr.Error{Code: "not_found", Message: "not found"}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, &apperr.Error{Code: "too_large", Message: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	}
	return http.StatusInternalServerError, &apperr.Error{Code: "internal", Message: "internal error; it has been logged"}
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

// JSON adapts h, writing errors as {"error":{"code","message","field"}}.
func JSON(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(log, w, r, err)
		}
	})
}

// WriteError writes err as a JSON error response, logging 5xx.
func WriteError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	status, e := Classify(err)
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Field = e.Code, e.Message, e.Field
	WriteJSON(w, status, b)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DecodeJSON reads a JSON body into v: 415 unless the body is JSON, 413 past
// MaxBody, 400 for malformed JSON, unknown fields or trailing data, with a
// message that says where.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return apperr.New(apperr.KindUnsupported, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apperr.New(apperr.KindTooLarge, "too_large", "request body is larger than %d bytes", MaxBody)
		}
		return apperr.Invalid("", "cannot read body: %v", err)
	}
	return Unmarshal(body, v)
}

// Unmarshal decodes body strictly into v and explains what is wrong.
func Unmarshal(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return apperr.Invalid("", "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return apperr.Invalid(jsonPath(reflect.TypeOf(v), te.Field), "must be a JSON %s, not %s", te.Type.String(), te.Value)
		case errors.Is(err, io.EOF):
			return apperr.Invalid("", "empty body: a JSON object is required")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return apperr.Invalid(f, "unknown field")
		}
		return apperr.Invalid("", "malformed JSON: %v", err)
	}
	// dec.More would miss a stray "}" or "]": anything but the end is too much.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Invalid("", "unexpected data after the JSON object")
	}
	return nil
}

// jsonPath drops from path the Go names of embedded structs, which
// encoding/json puts in UnmarshalTypeError.Field ("Affiliate.program_id")
// although the client never wrote them; t is the type decoded into.
func jsonPath(t reflect.Type, path string) string {
	var out []string
	for _, seg := range strings.Split(path, ".") {
		for t != nil && t.Kind() != reflect.Struct {
			switch t.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
				t = t.Elem()
			default:
				t = nil
			}
		}
		if t != nil {
			if f, ok := t.FieldByName(seg); ok && f.Anonymous && f.Tag.Get("json") == "" {
				t = f.Type
				continue
			}
		}
		out = append(out, seg)
		t = jsonFieldType(t, seg)
	}
	return strings.Join(out, ".")
}

// jsonFieldType is the type of the field of struct t that JSON calls name, or nil.
func jsonFieldType(t reflect.Type, name string) reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Tag.Get("json") == "" {
			continue // promoted fields are listed on their own
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" {
			tag = f.Name
		}
		if strings.EqualFold(tag, name) {
			return f.Type
		}
	}
	return nil
}
