package energy

import (
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/facilityd/facilityd/energy/usage"
)

// WriteHTML writes the report as one self-contained HTML page (inline CSS
// and SVG, no external asset) laid out for A4 print.
func (r *Report) WriteHTML(w io.Writer) error {
	t, err := pageTmpl.Clone()
	if err != nil {
		return err
	}
	t.Funcs(template.FuncMap{
		"t":    r.T,
		"tf":   r.Tf,
		"num":  r.Num,
		"pct":  r.Pct,
		"day":  r.Day,
		"at":   r.Stamp,
		"warn": r.WarningText,
		"unit": Unit,
		"cat":  func(c usage.Category) string { return r.T(string(c)) },
		"money": func(v float64) string {
			return r.Num(v, 2)
		},
		"share": func(v float64) string { return r.Num(v, 1) + " %" },
		"fitpct": func(v float64) string {
			return r.Num(100*v, 1) + " %"
		},
		"hours": func(h float64) string { return strconv.FormatFloat(h, 'f', 1, 64) + " h" },
	})
	return t.Execute(w, map[string]any{
		"R": r, "DailyChart": r.dailyChart(), "CUSUMCharts": r.cusumCharts(), "ProfileChart": r.profileChart(),
	})
}

// dailyChart is the billed use per day of the report's first category
// (electricity unless the report has none), with its baseline.
func (r *Report) dailyChart() *categoryChart {
	if len(r.Categories) == 0 {
		return nil
	}
	c := r.Categories[0]
	ci := slices.Index(usage.Categories, c.Category)
	var labels []string
	var kwh, base []float64
	pred := map[int64]float64{}
	for _, b := range r.Baselines {
		if b.Category != c.Category {
			continue
		}
		for _, d := range b.Days {
			pred[d.Start.Unix()] += d.Predicted
		}
	}
	for _, d := range r.Days {
		labels = append(labels, d.Start.In(r.Zone).Format("01-02"))
		kwh = append(kwh, d.Quantity[ci])
		if p, ok := pred[d.Start.Unix()]; ok {
			base = append(base, p)
		} else {
			base = append(base, math.NaN())
		}
	}
	if len(labels) == 0 {
		return nil
	}
	var lines []series
	if len(pred) > 0 {
		lines = append(lines, series{Name: r.T("predicted"), Color: "#d9480f", Values: base})
	}
	return &categoryChart{c.Category, chart(720, 220, labels, &series{Name: r.T("actual"), Color: "#4c78a8", Values: kwh}, lines, Unit(c.Unit))}
}

// categoryChart is one chart of a category.
type categoryChart struct {
	Category usage.Category
	SVG      template.HTML
}

// cusumCharts are, per category, the running Σ(actual − baseline) of each
// baseline meter: one chart per unit.
func (r *Report) cusumCharts() []categoryChart {
	var labels []string
	for _, d := range r.Days {
		labels = append(labels, d.Start.In(r.Zone).Format("01-02"))
	}
	colors := []string{"#4c78a8", "#d9480f", "#2f9e44", "#ae3ec9", "#e67700"}
	var out []categoryChart
	for _, c := range usage.Categories {
		var lines []series
		unit := ""
		for _, b := range r.Baselines {
			if b.Category != c {
				continue
			}
			vals := make([]float64, len(r.Days))
			for j := range vals {
				vals[j] = math.NaN()
			}
			for _, d := range b.Days {
				if j := slices.IndexFunc(r.Days, func(x DayFigures) bool { return x.Start.Equal(d.Start) }); j >= 0 {
					vals[j] = d.CUSUM
				}
			}
			lines = append(lines, series{Name: b.Meter, Color: colors[len(lines)%len(colors)], Values: vals})
			unit = Unit(b.Unit)
		}
		if len(lines) > 0 {
			out = append(out, categoryChart{c, chart(720, 170, labels, nil, lines, unit)})
		}
	}
	return out
}

// profileChart is the typical weekday and weekend day.
func (r *Report) profileChart() template.HTML {
	if r.Profile == nil {
		return ""
	}
	labels := make([]string, 24)
	for i := range labels {
		labels[i] = strconv.Itoa(i)
	}
	return chart(720, 200, labels, nil, []series{
		{Name: r.T("weekday"), Color: "#4c78a8", Values: r.Profile.Weekday[:]},
		{Name: r.T("weekend"), Color: "#2f9e44", Values: r.Profile.Weekend[:]},
	}, "kW")
}

var pageTmpl = template.Must(template.New("energy").Funcs(template.FuncMap{
	"t": func(string) string { return "" }, "tf": func(string, ...any) string { return "" },
	"num": func(float64, int) string { return "" }, "pct": func(float64) string { return "" },
	"day": func(any) string { return "" }, "at": func(any) string { return "" }, "warn": func(string) string { return "" },
	"unit": Unit, "cat": func(usage.Category) string { return "" }, "money": func(float64) string { return "" },
	"share": func(float64) string { return "" }, "fitpct": func(float64) string { return "" }, "hours": func(float64) string { return "" },
}).Parse(pageHTML))

const pageHTML = `<!doctype html>
<html lang="{{.R.Lang}}">
<head>
<meta charset="utf-8">
<title>{{t "title"}} {{.R.Period.Name}}</title>
<style>
@page { size: A4; margin: 14mm 12mm 16mm; }
* { box-sizing: border-box; }
body { font: 9.5pt/1.35 "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", sans-serif; color: #111; margin: 0 auto; max-width: 186mm; }
h1 { font-size: 16pt; margin: 0 0 1mm; }
h2 { font-size: 11.5pt; margin: 5mm 0 1.5mm; border-bottom: 1.5px solid #4c78a8; padding-bottom: .5mm; page-break-after: avoid; }
.meta { color: #444; margin-bottom: 3mm; }
.partial { background: #fff3bf; border: 1px solid #e67700; padding: 1.5mm 2mm; margin: 2mm 0; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1mm; }
th, td { border: 1px solid #c8c8c8; padding: .6mm 1.4mm; text-align: left; vertical-align: top; }
th { background: #edf2f7; font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; background: #f6f6f6; }
tr { page-break-inside: avoid; }
.neg { color: #a61e1e; }
.pos { color: #2b7a0b; }
.muted { color: #666; }
.chart { page-break-inside: avoid; margin: 1mm 0 2mm; }
.warn li { color: #8a4b00; }
.small { font-size: 8pt; margin: 0 0 2mm; }
section { page-break-inside: auto; }
</style>
</head>
<body>
{{$r := .R}}
<h1>{{t "title"}} · {{$r.Period.Name}}</h1>
<div class="meta">{{if $r.Sites}}{{t "site"}}: {{t "all_sites"}} · {{else if $r.Site}}{{t "site"}}: {{$r.Site}} · {{end}}{{t "building"}}: {{if $r.Building}}{{$r.Building}}{{else}}{{t "all_buildings"}}{{end}}{{if $r.Category}} · {{t "category"}}: {{cat $r.Category}}{{end}}
 · {{t "period"}}: {{day $r.Period.From}} – {{day $r.End}} ({{$r.Zone}}) · {{t "currency"}}: {{$r.Currency}}{{if not $r.Generated.IsZero}} · {{t "generated"}}: {{at $r.Generated}}{{end}}</div>
{{if $r.Partial}}<div class="partial">{{tf "partial" (at $r.End)}}</div>{{end}}

<h2>{{t "summary"}}</h2>
<table><thead><tr><th>{{t "category"}}</th><th class="n">{{t "quantity"}}</th><th>{{t "unit"}}</th><th class="n">{{t "energy_cost"}}</th><th class="n">{{t "fixed_cost"}}</th><th class="n">{{t "demand_cost"}}</th><th class="n">{{t "cost"}} ({{$r.Currency}})</th><th class="n">{{t "kgco2e"}}</th><th class="n">{{t "kgce"}}</th></tr></thead>
{{range $r.Categories}}<tr><td>{{cat .Category}}</td><td class="n">{{num .Quantity 1}}</td><td>{{unit .Unit}}</td><td class="n">{{money .EnergyCost}}</td><td class="n">{{money .FixedCost}}</td><td class="n">{{money .DemandCost}}</td><td class="n">{{money .Cost}}</td><td class="n">{{num .KgCO2e 0}}</td><td class="n">{{num .Kgce 0}}</td></tr>
{{end}}</table>

{{if $r.Sites}}<h2>{{t "sites"}}</h2>
<table><thead><tr><th>{{t "site"}}</th><th>{{t "category"}}</th><th class="n">{{t "meters"}}</th><th class="n">{{t "quantity"}}</th><th>{{t "unit"}}</th><th class="n">{{t "cost"}} ({{$r.Currency}})</th></tr></thead>
{{range $r.Sites}}<tr><td>{{.Site}}</td><td>{{cat .Category}}</td><td class="n">{{.Meters}}</td><td class="n">{{num .Quantity 1}}</td><td>{{unit .Unit}}</td><td class="n">{{money .Cost}}</td></tr>
{{end}}</table>{{end}}

<h2>{{t "comparison"}}</h2>
<table class="cmp"><thead><tr><th>{{t "category"}}</th><th class="n">{{t "current"}}</th><th class="n">{{t "prev_short"}}<br>{{$r.Previous.Name}}</th><th class="n">{{t "change_raw"}}</th><th class="n">{{t "norm_short"}}</th><th class="n">{{t "ly_short"}}<br>{{$r.LastYear.Name}}</th><th class="n">{{t "change_raw"}}</th><th class="n">{{t "norm_short"}}</th></tr></thead>
{{range $r.Comparisons}}<tr><td>{{cat .Category}} ({{unit .Unit}})</td><td class="n">{{num .Current 1}}</td><td class="n">{{num .Previous 1}}{{if lt .PreviousCoveragePct 99.0}}<br><span class="muted">{{t "coverage"}} {{share .PreviousCoveragePct}}</span>{{end}}</td><td class="n">{{pct .PreviousPct}}</td><td class="n">{{pct .NormPreviousPct}}</td><td class="n">{{num .LastYear 1}}{{if lt .LastYearCoveragePct 99.0}}<br><span class="muted">{{t "coverage"}} {{share .LastYearCoveragePct}}</span>{{end}}</td><td class="n">{{pct .LastYearPct}}</td><td class="n">{{pct .NormLastYearPct}}</td></tr>
{{end}}</table>
<p class="muted small">{{t "norm_note"}}</p>

{{with .DailyChart}}<h2>{{t "days"}} · {{cat .Category}}</h2>
<div class="chart">{{.SVG}}</div>{{end}}

{{if $r.Bands}}<h2>{{t "bands"}}</h2>
<table><thead><tr><th>{{t "category"}}</th><th>{{t "band"}}</th><th class="n">{{t "quantity"}}</th><th class="n">{{t "share"}}</th><th class="n">{{t "energy_cost"}} ({{$r.Currency}})</th></tr></thead>
{{range $r.Bands}}<tr><td>{{cat .Category}}</td><td>{{t (print .Band)}}</td><td class="n">{{num .Quantity 1}}</td><td class="n">{{share .SharePct}}</td><td class="n">{{money .Cost}}</td></tr>
{{end}}</table>{{end}}

{{if $r.SubItems}}<h2>{{t "sub_items"}}</h2>
<table><thead><tr><th>{{t "sub_item"}}</th><th class="n">{{t "quantity"}} (kWh)</th><th class="n">{{t "share"}}</th></tr></thead>
{{range $r.SubItems}}<tr><td>{{t (print .SubItem)}}</td><td class="n">{{num .Quantity 1}}</td><td class="n">{{share .SharePct}}</td></tr>
{{end}}</table>{{end}}

<h2>{{t "meters"}}</h2>
<table><thead><tr><th>{{t "meter"}}</th><th>{{t "category"}}</th><th>{{t "sub_item"}}</th><th>{{t "building"}}</th><th class="n">{{t "quantity"}}</th><th>{{t "unit"}}</th><th class="n">{{t "energy_cost"}}</th><th class="n">{{t "fixed_cost"}}</th><th class="n">{{t "demand_cost"}}</th><th class="n">{{t "cost"}} ({{$r.Currency}})</th></tr></thead>
{{range $r.Meters}}<tr><td>{{.Meter}}{{if not .Billed}}<br><span class="muted">{{tf "sub_meter" .Parent}}</span>{{end}}</td><td>{{cat .Category}}</td><td>{{if .SubItem}}{{t (print .SubItem)}}{{end}}</td><td>{{.Building}}</td><td class="n">{{num .Quantity 1}}</td><td>{{unit .Unit}}</td><td class="n">{{money .EnergyCost}}</td><td class="n">{{money .FixedCost}}</td><td class="n">{{money .DemandCost}}</td><td class="n">{{money .Cost}}</td></tr>
{{end}}</table>

{{if $r.Baselines}}<h2>{{t "baseline"}}</h2>
<table><thead><tr><th>{{t "meter"}}</th><th>{{t "model"}}</th><th class="n">{{t "fit"}}</th><th class="n">{{t "actual"}}</th><th class="n">{{t "predicted"}}</th><th class="n">{{t "savings"}}</th><th class="n">{{t "cost"}} ({{$r.Currency}})</th></tr></thead>
{{range $r.Baselines}}<tr><td>{{.Meter}}</td><td>{{.Model}}<br><span class="muted">{{if .FitForAlarms}}{{t "fit_ok"}}{{else}}{{t "fit_not"}}{{range .Reasons}}<br>{{.}}{{end}}{{end}}</span></td><td class="n">{{fitpct .CVRMSE}} / {{fitpct .NMBE}}</td><td class="n">{{num .Actual 1}} {{unit .Unit}}</td><td class="n">{{num .Predicted 1}} {{unit .Unit}}</td><td class="n {{if lt .Savings 0.0}}neg{{else}}pos{{end}}">{{num .Savings 1}} {{unit .Unit}}</td><td class="n {{if lt .SavingsCost 0.0}}neg{{else}}pos{{end}}">{{money .SavingsCost}}</td></tr>
{{end}}</table>
{{range .CUSUMCharts}}<div class="chart"><b>{{t "cusum"}} · {{cat .Category}}</b>{{.SVG}}</div>{{end}}{{end}}

{{if $r.Demand}}<h2>{{t "demand"}}</h2>
<table><thead><tr><th>{{t "meter"}}</th><th class="n">{{t "peak_kw"}} (kW)</th><th>{{t "peak_at"}}</th><th class="n">{{t "base_load"}} (kW)</th><th>{{t "month"}}: {{t "peak_kw"}} → {{t "demand_cost"}}</th></tr></thead>
{{range $r.Demand}}<tr><td>{{.Meter}}</td><td class="n">{{num .PeakKW 1}}</td><td>{{at .PeakAt}}</td><td class="n">{{num .BaseLoadKW 1}}</td><td>{{range .Months}}{{day .Month}}: {{num .PeakKW 1}} kW → {{money .Charge}}<br>{{end}}</td></tr>
{{end}}</table>{{end}}

{{if $r.Profile}}<h2>{{t "profile"}}</h2>
<div class="chart">{{.ProfileChart}}</div>{{end}}

{{if $r.EnPIs}}<h2>{{t "enpis"}}</h2>
<table><thead><tr><th>{{t "building"}}</th><th>{{t "enpi"}}</th><th class="n">{{t "value"}}</th><th>{{t "unit"}}</th></tr></thead>
{{range $r.EnPIs}}<tr><td>{{.Building}}</td><td>{{t .Key}}</td><td class="n">{{num .Value 3}}</td><td>{{.Unit}}</td></tr>
{{end}}</table>{{end}}

<h2>{{t "anomalies"}}</h2>
<table><thead><tr><th>{{t "meter"}}</th><th>{{t "kind"}}</th><th>{{t "start"}}</th><th>{{t "end"}}</th><th class="n">{{t "excess"}}</th><th class="n">{{t "cost"}} ({{$r.Currency}})</th></tr></thead>
{{range $r.Anomalies}}<tr><td>{{.Meter}}</td><td>{{t .Kind}}</td><td>{{at .Start}}</td><td>{{if .Open}}{{t "open"}}{{else}}{{at .End}}{{end}}</td><td class="n">{{num .Excess 1}} {{unit .Unit}}</td><td class="n">{{money .Cost}}</td></tr>
{{else}}<tr><td colspan="6">{{t "none"}}</td></tr>{{end}}</table>

<h2>{{t "tickets"}}</h2>
<table><thead><tr><th>{{t "ticket"}}</th><th>{{t "title_col"}}</th><th>{{t "device"}}</th><th>{{t "priority"}}</th><th>{{t "status"}}</th><th>{{t "created"}}</th><th>{{t "resolved"}}</th></tr></thead>
{{range $r.Tickets}}<tr><td>#{{.ID}}</td><td>{{.Title}}</td><td>{{if and $r.Sites .Site}}{{.Site}} · {{end}}{{.Device}}</td><td>{{.Priority}}</td><td>{{$r.Status .Status}}</td><td>{{at .Created}}</td><td>{{at .Resolved}}</td></tr>
{{else}}<tr><td colspan="7">{{t "none"}}</td></tr>{{end}}</table>

<h2>{{t "quality"}}</h2>
<table><thead><tr><th>{{t "meter"}}</th><th class="n">{{t "coverage"}}</th><th class="n">{{t "hours_read"}}</th><th class="n">{{t "gaps"}}</th><th class="n">{{t "longest_gap"}}</th><th class="n">{{t "resets"}}</th><th class="n">{{t "rollovers"}}</th><th class="n">{{t "swaps"}}</th><th>{{t "first_data"}}</th><th>{{t "last_data"}}</th></tr></thead>
{{range $r.Quality}}<tr><td>{{.Meter}}</td><td class="n">{{share .CoveragePct}}</td><td class="n">{{share .HoursReadPct}}</td><td class="n">{{.Gaps}}</td><td class="n">{{hours .LongestGap.Hours}}</td><td class="n">{{.Resets}}</td><td class="n">{{.Rollovers}}</td><td class="n">{{.Swaps}}</td><td>{{at .FirstData}}</td><td>{{at .LastData}}</td></tr>
{{end}}</table>
{{if $r.Warnings}}<h2>{{t "warnings"}}</h2><ul class="warn">{{range $r.Warnings}}<li>{{warn .}}</li>{{end}}</ul>{{end}}
</body>
</html>
`
