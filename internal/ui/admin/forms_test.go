package admin_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
)

// TestFormErrors: a refused form comes back with the domain's message,
// the status of its kind, the field marked invalid and what was typed kept.
func TestFormErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		prog := "/admin/programs/" + strconv.FormatInt(w.prog.ID, 10)
		pid := strconv.FormatInt(w.prog.ID, 10)
		cases := []struct {
			name, path string
			form       url.Values
			status     int
			field      string // the id of the input marked invalid
			kept       string // a value typed that the page shows again
		}{
			{"program without a destination", "/admin/programs", url.Values{"name": {"X"}, "destination_url": {"ftp://x"}, "rate": {"10"}, "cookie_days": {"30"}, "attribution": {"first"}, "recurring": {"forever"}},
				http.StatusBadRequest, "destination_url", "ftp://x"},
			{"rate over 100%", prog, url.Values{"name": {"Course"}, "destination_url": {"https://shop.example.com/course"}, "rate": {"150"}, "cookie_days": {"30"}, "attribution": {"first"}, "recurring": {"forever"}},
				http.StatusBadRequest, "rate", "150"},
			{"months without a number", prog, url.Values{"name": {"Course"}, "destination_url": {"https://shop.example.com/course"}, "rate": {"10"}, "cookie_days": {"30"}, "attribution": {"first"}, "recurring": {"months"}},
				http.StatusBadRequest, "recurring_months", "Course"},
			{"taken slug", "/admin/programs", url.Values{"name": {"Other"}, "slug": {w.prog.Slug}, "destination_url": {"https://b.example.com"}, "rate": {"10"}, "cookie_days": {"30"}, "attribution": {"first"}, "recurring": {"forever"}},
				http.StatusConflict, "slug", "https://b.example.com"},
			{"flat rate without currency", prog + "/rates", url.Values{"product_id": {"pro"}, "flat_amount": {"5"}},
				http.StatusBadRequest, "rate_currency", "pro"},
			{"rate without a product", prog + "/rates", url.Values{"rate": {"5"}},
				http.StatusBadRequest, "product_id", ""},
			{"affiliate with a bad email", "/admin/affiliates", url.Values{"email": {"not-an-email"}, "name": {"Zed"}, "program_id": {pid}},
				http.StatusBadRequest, "email", "Zed"},
			{"affiliate with a taken coupon", "/admin/affiliates", url.Values{"email": {"zed@example.com"}, "coupon_code": {"anna"}, "program_id": {pid}},
				http.StatusConflict, "coupon_code", "zed@example.com"},
			{"affiliate with a bad code", "/admin/affiliates/" + strconv.FormatInt(w.anna.ID, 10), url.Values{"email": {"anna@example.com"}, "code": {"no spaces"}, "program_id": {pid}},
				http.StatusBadRequest, "code", "no spaces"},
			{"token without a name", "/admin/settings/tokens", url.Values{"name": {""}},
				http.StatusBadRequest, "token_name", ""},
			{"endpoint with a bad URL", "/admin/settings/endpoints", url.Values{"url": {"javascript:alert(1)"}, "events": {"*"}},
				http.StatusBadRequest, "endpoint_url", "javascript:alert(1)"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := w.post(c.path, c.form)
				body := string(r.Body)
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %s", r.Status, c.status, excerpt(r.Body))
				}
				if !strings.Contains(body, `id="page-error"`) {
					t.Errorf("no error message: %s", excerpt(r.Body))
				}
				if c.field != "" && !regexpInvalid(body, c.field) {
					t.Errorf("#%s not marked invalid: %s", c.field, excerpt(r.Body))
				}
				if c.kept != "" && !strings.Contains(body, `value="`+c.kept+`"`) && !strings.Contains(body, ">"+c.kept+"<") {
					t.Errorf("%q was not kept", c.kept)
				}
			})
		}
	})
}

// regexpInvalid reports whether the element with id is marked aria-invalid.
func regexpInvalid(body, id string) bool {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return false
	}
	end := strings.IndexByte(body[i:], '>')
	return end > 0 && strings.Contains(body[i:i+end], `aria-invalid="true"`)
}
