package ui

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
)

// Chart is a bar-and-line chart drawn as SVG on the server, so it needs no
// script. Each bar and point carries a <title> (a native tooltip), and the
// "chart" partial adds a legend and the same numbers as a table for screen
// readers and for copying.
type Chart struct {
	ID     string   // unique on the page, for aria references
	Title  string   // the chart's accessible name and caption
	Labels []string // one per point, e.g. "23 Nov"
	Bars   *Series  // drawn as bars; may be nil
	Lines  []Series // drawn as lines over the bars
	// Format writes a value on the axis, in tooltips and in the table;
	// plain numbers when nil.
	Format func(int64) string
	// Height in SVG units for a width of 720; 220 when 0. The SVG scales
	// with its container, keeping this ratio.
	Height int
}

// Series is one named row of values, coloured by its Class (s1…s4 in ui.css).
type Series struct {
	Name   string
	Class  string
	Values []int64
}

// Chart geometry, in SVG user units; the SVG scales to its container.
const (
	chartW, defaultChartH       = 720, 220
	padL, padR, padTop, padBott = 56, 8, 10, 26
)

func (c Chart) format(v int64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return strconv.FormatInt(v, 10)
}

// All returns every series, bars first.
func (c Chart) All() []Series {
	var out []Series
	if c.Bars != nil {
		out = append(out, *c.Bars)
	}
	return append(out, c.Lines...)
}

// TableRow is one point of the chart as text.
type TableRow struct {
	Label  string
	Values []string
}

// Table returns the chart's numbers, one row per point.
func (c Chart) Table() []TableRow {
	all := c.All()
	rows := make([]TableRow, len(c.Labels))
	for i, l := range c.Labels {
		rows[i].Label = l
		for _, s := range all {
			v := int64(0)
			if i < len(s.Values) {
				v = s.Values[i]
			}
			rows[i].Values = append(rows[i].Values, c.format(v))
		}
	}
	return rows
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, for axis ticks.
func niceCeil(v int64) int64 {
	if v <= 0 {
		return 1
	}
	p := int64(1)
	for p <= v/10 {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

// SVG draws the chart.
func (c Chart) SVG() template.HTML {
	n := len(c.Labels)
	esc := template.HTMLEscapeString
	var top int64
	for _, s := range c.All() {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	top = niceCeil(top)
	chartH := defaultChartH
	if c.Height > padTop+padBott+20 {
		chartH = c.Height
	}
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padTop-padBott)
	y := func(v int64) float64 { return padTop + plotH - float64(v)/float64(top)*plotH }
	slot := plotW / float64(max(n, 1))
	xc := func(i int) float64 { return padL + slot*(float64(i)+0.5) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t" focusable="false">`, chartW, chartH, esc(c.ID))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title>`, esc(c.ID), esc(c.Title))
	// Grid and y axis: 0, half (when it is a whole number apart), top.
	ticks := []int64{0, top}
	if top >= 2 {
		ticks = []int64{0, top / 2, top}
	}
	for _, v := range ticks {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, padL, chartW-padR, f1(y(v)), f1(y(v)))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%s" text-anchor="end">%s</text>`, padL-6, f1(y(v)+4), esc(c.format(v)))
	}
	// x labels: at most 7, evenly spread, the first and the last among
	// them, those two aligned on the plot's edges so they are never cut.
	for _, i := range labelIndexes(n, 7) {
		x, anchor := xc(i), "middle"
		switch {
		case n > 1 && i == 0:
			x, anchor = padL, "start"
		case n > 1 && i == n-1:
			x, anchor = chartW-padR, "end"
		}
		fmt.Fprintf(&b, `<text class="axis x" x="%s" y="%d" text-anchor="%s">%s</text>`, f1(x), chartH-8, anchor, esc(c.Labels[i]))
	}
	if s := c.Bars; s != nil {
		w := slot * 0.7
		for i, v := range s.Values {
			if i >= n || v <= 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect class="bar %s" x="%s" y="%s" width="%s" height="%s"><title>%s: %s %s</title></rect>`,
				esc(s.Class), f1(xc(i)-w/2), f1(y(v)), f1(w), f1(y(0)-y(v)), esc(c.Labels[i]), esc(c.format(v)), esc(strings.ToLower(s.Name)))
		}
	}
	for _, s := range c.Lines {
		var pts []string
		for i, v := range s.Values {
			if i < n {
				pts = append(pts, f1(xc(i))+","+f1(y(v)))
			}
		}
		fmt.Fprintf(&b, `<polyline class="line %s" points="%s"/>`, esc(s.Class), strings.Join(pts, " "))
		for i, v := range s.Values {
			if i < n {
				fmt.Fprintf(&b, `<circle class="dot %s" cx="%s" cy="%s" r="3"><title>%s: %s %s</title></circle>`,
					esc(s.Class), f1(xc(i)), f1(y(v)), esc(c.Labels[i]), esc(c.format(v)), esc(strings.ToLower(s.Name)))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every interpolated string above is escaped
}

// labelIndexes picks at most k of n points to label, spread evenly from
// the first to the last.
func labelIndexes(n, k int) []int {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, k)
	for j := range out {
		out[j] = (j*(n-1) + (k-1)/2) / (k - 1)
	}
	return out
}
