package admin

import (
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"affiliated/internal/apperr"
	"affiliated/internal/auth"
	"affiliated/internal/program"
	"affiliated/internal/ui"
)

// maxImportRows bounds one import; the form itself is bounded to 64 KiB.
const maxImportRows = 2000

// importRow is one line of an import: email, name, code, coupon.
type importRow struct {
	Line                      int
	Email, Name, Code, Coupon string
	Result                    string // what became of it
	OK                        bool
	ID                        int64
}

// parseImport reads CSV text with the columns email, name, code, coupon
// (the last three optional; a first line naming the columns is skipped).
// It checks the shape only; the store checks the values.
func parseImport(text string) ([]importRow, error) {
	rd := csv.NewReader(strings.NewReader(text))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	var out []importRow
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, apperr.Invalid("csv", "line %d: %v", pe.Line, pe.Err)
			}
			return nil, apperr.Invalid("csv", "the CSV cannot be read: %v", err)
		}
		line, _ := rd.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(out) == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "email") {
			continue // the header
		}
		if len(rec) > 4 {
			return nil, apperr.Invalid("csv", "line %d has %d columns; expected email, name, code, coupon", line, len(rec))
		}
		for len(rec) < 4 {
			rec = append(rec, "")
		}
		row := importRow{Line: line, Email: strings.TrimSpace(rec[0]), Name: strings.TrimSpace(rec[1]),
			Code: strings.TrimSpace(rec[2]), Coupon: strings.TrimSpace(rec[3])}
		if row.Email == "" {
			return nil, apperr.Invalid("csv", "line %d has no email address", line)
		}
		if len(out) == maxImportRows {
			return nil, apperr.Invalid("csv", "import at most %d affiliates at once", maxImportRows)
		}
		out = append(out, row)
	}
	if len(out) == 0 {
		return nil, apperr.Invalid("csv", "paste at least one line: email, name, code, coupon")
	}
	return out, nil
}

type importData struct {
	ProgramID int64
	Programs  []*program.Program
	Status    string
	Text      string
	Rows      []importRow
	Created   int
	Failed    int
}

func (c *Console) importPage(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	progs, err := c.cfg.Programs.Programs(r.Context())
	if err != nil {
		return err
	}
	d := &importData{Programs: progs, Status: program.StatusActive}
	d.ProgramID, _ = queryID(r, "program")
	return c.render(w, r, "import", &ui.View{Title: "Import affiliates", Active: "affiliates", Data: d})
}

// importAffiliates creates one affiliate per line. Lines are created one
// by one: a line the store refuses (a taken code, a bad email) is reported
// and the others go in; importing the same text again only reports the
// lines already in as taken.
func (c *Console) importAffiliates(w http.ResponseWriter, r *http.Request, _ *auth.Owner) error {
	ctx := r.Context()
	progs, err := c.cfg.Programs.Programs(ctx)
	if err != nil {
		return err
	}
	d := &importData{Programs: progs, Text: r.PostForm.Get("csv"), Status: r.PostForm.Get("status")}
	v := &ui.View{Title: "Import affiliates", Active: "affiliates", Data: d}
	fail := func(err error) error {
		st, msg, _, fatal := formError(err)
		if fatal != nil {
			return fatal
		}
		v.Error = msg
		return c.renderStatus(w, r, st, "import", v)
	}
	d.ProgramID, _ = strconv.ParseInt(r.PostForm.Get("program_id"), 10, 64)
	if _, err := c.cfg.Programs.Program(ctx, d.ProgramID); err != nil {
		if apperr.Is(err, apperr.KindNotFound) {
			return fail(apperr.Invalid("program_id", "choose a program"))
		}
		return err
	}
	if d.Status != program.StatusActive && d.Status != program.StatusPending {
		return fail(apperr.Invalid("status", "choose active or pending"))
	}
	if d.Rows, err = parseImport(d.Text); err != nil {
		return fail(err)
	}
	for i := range d.Rows {
		row := &d.Rows[i]
		a := program.NewAffiliate()
		a.ProgramID, a.Email, a.Name, a.Code, a.CouponCode, a.Status = d.ProgramID, row.Email, row.Name, row.Code, row.Coupon, d.Status
		if err := c.cfg.Programs.CreateAffiliate(ctx, a); err != nil {
			if _, ok := apperr.As(err); !ok {
				return err
			}
			row.Result = ui.Message(err)
			if e, _ := apperr.As(err); e.Field != "" {
				row.Result = e.Field + " " + row.Result
			}
			d.Failed++
			continue
		}
		row.OK, row.ID, row.Code, row.Result = true, a.ID, a.Code, "added"
		d.Created++
	}
	if d.Failed == 0 {
		v.Flash = strconv.Itoa(d.Created) + " affiliates were added."
		d.Text = ""
	} else {
		v.Error = strconv.Itoa(d.Created) + " added, " + strconv.Itoa(d.Failed) + " refused: see the lines below. Fix them and import those lines again."
	}
	return c.render(w, r, "import", v)
}
