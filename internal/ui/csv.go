package ui

import (
	"encoding/csv"
	"mime"
	"net/http"
	"regexp"
)

// CSV writes a spreadsheet-safe CSV download. Every cell goes through
// SafeCell, so text that people typed (a product name, a referrer) cannot
// become a formula when the file is opened in a spreadsheet.
type CSV struct {
	w *csv.Writer
}

// NewCSV starts a CSV download named filename.
func NewCSV(w http.ResponseWriter, filename string) *CSV {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	return &CSV{w: csv.NewWriter(w)}
}

// Row writes one row.
func (c *CSV) Row(cells ...string) error {
	safe := make([]string, len(cells))
	for i, s := range cells {
		safe[i] = SafeCell(s)
	}
	return c.w.Write(safe)
}

// Flush writes what is buffered and reports any error of the whole file.
func (c *CSV) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

var plainNumber = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

// SafeCell defuses a cell that a spreadsheet would read as a formula (it
// starts with =, +, -, @, a tab or a carriage return) by prefixing a
// quote, as OWASP advises. Plain numbers such as "-12.50" are left alone.
func SafeCell(s string) string {
	if s == "" || plainNumber.MatchString(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return "'" + s
	}
	return s
}
