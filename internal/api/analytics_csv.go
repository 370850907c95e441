package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"time"

	"affiliated/internal/analytics"
	"affiliated/internal/money"
)

// The analytics reports as CSV, for spreadsheets: one row per point,
// affiliate or value; amounts in major units ("12.50") with a column per
// currency; text that anyone could have typed (names, referrer hosts,
// landing paths) defused against formula injection.

// writeCSV sends rows as an attachment named after the report and its range.
func writeCSV(w http.ResponseWriter, report string, from, to time.Time, rows [][]string) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	name := report + "-" + from.UTC().Format("20060102") + "-" + to.UTC().Format("20060102") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(buf.Bytes())
	return err
}

// cell defuses a spreadsheet formula in text from outside: a cell that
// starts with = + - @ or a tab or carriage return is read as a formula by
// Excel, LibreOffice and Google Sheets, so it gets a leading apostrophe.
func cell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func rate(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

// currencies returns the currencies of ms, sorted.
func currencies(ms ...map[string]*analytics.Money) []string {
	var out []string
	for _, m := range ms {
		for c := range m {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

var statsHeader = []string{"clicks", "unique_visitors", "bot_clicks", "conversions", "renewals", "conversion_rate"}

func moneyHeader(curs []string) []string {
	var h []string
	for _, c := range curs {
		h = append(h, "gross_"+c, "net_"+c, "commission_"+c, "epc_"+c)
	}
	return h
}

func statsCells(s *analytics.Stats, curs []string) []string {
	row := []string{i64(s.Clicks), i64(s.Uniques), i64(s.Bots), i64(s.Conversions), i64(s.Renewals), rate(s.ConversionRate)}
	for _, c := range curs {
		m := s.Money[c]
		if m == nil {
			m = &analytics.Money{EPC: analytics.EPC(0, s.Clicks, c)}
		}
		row = append(row, money.FormatMajor(m.Gross, c), money.FormatMajor(m.Net, c), money.FormatMajor(m.Commission, c), m.EPC)
	}
	return row
}

func overviewCSV(o *analytics.Overview) [][]string {
	curs := currencies(o.Totals.Money)
	rows := [][]string{append(append([]string{"start"}, statsHeader...), moneyHeader(curs)...)}
	for i := range o.Points {
		p := &o.Points[i]
		rows = append(rows, append([]string{p.Start.Format(time.RFC3339)}, statsCells(&p.Stats, curs)...))
	}
	return rows
}

func topAffiliatesCSV(t *analytics.TopAffiliates) [][]string {
	var ms []map[string]*analytics.Money
	for i := range t.Data {
		ms = append(ms, t.Data[i].Money)
	}
	curs := currencies(ms...)
	head := append([]string{"affiliate_id", "name", "email", "code", "status"}, statsHeader...)
	rows := [][]string{append(head, moneyHeader(curs)...)}
	for i := range t.Data {
		a := &t.Data[i]
		row := []string{i64(a.AffiliateID), cell(a.Name), cell(a.Email), cell(a.Code), a.Status}
		rows = append(rows, append(row, statsCells(&a.Stats, curs)...))
	}
	return rows
}

func breakdownCSV(d *analytics.DimReport) [][]string {
	rows := [][]string{{d.Dim, "clicks", "share"}}
	for _, r := range d.Data {
		rows = append(rows, []string{cell(r.Value), i64(r.Clicks), rate(r.Share)})
	}
	return rows
}
