package energy

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// series is one line of a chart.
type series struct {
	Name   string
	Color  string
	Values []float64 // NaN breaks the line
}

// chart draws bars and lines over the same x labels as inline SVG, with a
// y axis from the smallest value (or 0) to the largest, in unit.
func chart(width, height int, labels []string, bars *series, lines []series, unit string) template.HTML {
	const left, right, top, bottom = 56, 10, 18, 34
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	lo, hi := 0.0, 0.0
	all := lines
	if bars != nil {
		all = append([]series{*bars}, lines...)
	}
	for _, s := range all {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / 4)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	n := len(labels)
	if n == 0 {
		n = 1
	}
	x := func(i float64) float64 { return left + pw*(i+0.5)/float64(n) }
	y := func(v float64) float64 { return top + ph*(hi-v)/(hi-lo) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" font-size="10" font-family="sans-serif">`, width, height)
	for v := lo; v <= hi+step/2; v += step {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, left, width-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#444">%s</text>`, left-4, y(v), axisLabel(v))
	}
	fmt.Fprintf(&b, `<text x="4" y="10" fill="#444">%s</text>`, html.EscapeString(unit))
	every := max(1, (len(labels)+11)/12)
	for i, l := range labels {
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%s</text>`, x(float64(i)), height-bottom+14, html.EscapeString(l))
		}
	}
	if bars != nil {
		bw := math.Max(1, pw/float64(n)*0.7)
		for i, v := range bars.Values {
			if math.IsNaN(v) {
				continue
			}
			y0, y1 := y(math.Max(v, 0)), y(math.Min(v, 0))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x(float64(i))-bw/2, y0, bw, math.Max(y1-y0, 0.5), bars.Color)
		}
	}
	if lo < 0 {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#888"/>`, left, width-right, y(0), y(0))
	}
	for _, s := range lines {
		var d strings.Builder
		pen := "M"
		for i, v := range s.Values {
			if math.IsNaN(v) {
				pen = "M"
				continue
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", pen, x(float64(i)), y(v))
			pen = "L"
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.8"/>`, strings.TrimSpace(d.String()), s.Color)
	}
	// Legend.
	lx := float64(left + 8)
	for _, s := range all {
		if s.Name == "" {
			continue
		}
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="10" height="4" fill="%s"/><text x="%.0f" y="%d" fill="#222">%s</text>`,
			lx, height-10, s.Color, lx+14, height-6, html.EscapeString(s.Name))
		lx += 24 + 7*float64(len([]rune(s.Name)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built here from numbers and escaped labels
}

// niceStep rounds a raw axis step to 1, 2 or 5 × 10ⁿ.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func axisLabel(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
