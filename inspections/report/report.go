// Package report writes the inspection record for the regulator and the
// property manager: every inspection of a period with its due date,
// completion, who did it, on time or late, and the checklist answers, with
// the on-time rate per plan and per category. The history it reads is never
// deleted (see tickets.InspectionRecord).
package report

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

// Plan is what the report needs to know of a plan.
type Plan struct {
	Title    string
	Category string
}

// Report is the inspection record of [From, To).
type Report struct {
	From, To time.Time
	Site     string
	Zone     *time.Location
	// Plans by name; a record of a plan no longer configured keeps its name.
	Plans   map[string]Plan
	Records []tickets.InspectionRecord
	// Generated is when the report was made.
	Generated time.Time
}

// Row is one inspection in the report: a completion or a skip.
type Row struct {
	Plan, Title, Category, Device string
	Kind                          string
	Due, Done                     time.Time
	Actor, Note, Via              string
	OnTime                        bool
	// Late is how long after the due date the work was done (0 on time).
	Late      time.Duration
	TicketID  int64
	Checklist []tickets.ChecklistItem
}

// Rate is the on-time rate of a plan or a category.
type Rate struct {
	Name   string
	Done   int
	OnTime int
	Late   int
	Skip   int
}

// Percent is the share of completions done on time, or -1 with none.
func (r Rate) Percent() float64 {
	if r.Done == 0 {
		return -1
	}
	return 100 * float64(r.OnTime) / float64(r.Done)
}

// Rows returns the completions and skips of the period, by completion time.
// Openings and rebases are not inspections and stay out.
func (r *Report) Rows() []Row {
	var rows []Row
	for _, rec := range r.Records {
		if rec.Kind != tickets.RecordDone && rec.Kind != tickets.RecordSkipped {
			continue
		}
		if rec.At.Before(r.From) || !rec.At.Before(r.To) {
			continue
		}
		p := r.Plans[rec.Plan]
		row := Row{Plan: rec.Plan, Title: p.Title, Category: p.Category, Device: rec.Device, Kind: rec.Kind,
			Due: rec.DueAt, Done: rec.At, Actor: rec.Actor, Note: rec.Note, Via: rec.Via, OnTime: rec.OnTime,
			TicketID: rec.TicketID, Checklist: rec.Checklist}
		if row.Title == "" {
			row.Title = rec.Plan
		}
		if rec.Kind == tickets.RecordDone && !rec.OnTime && !rec.DueAt.IsZero() && rec.At.After(rec.DueAt) {
			row.Late = rec.At.Sub(rec.DueAt)
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b Row) int { return a.Done.Compare(b.Done) })
	return rows
}

// Rates returns the on-time rates per plan and per category, by name.
func Rates(rows []Row) (plans, categories []Rate) {
	add := func(m map[string]*Rate, name string, row Row) {
		r := m[name]
		if r == nil {
			r = &Rate{Name: name}
			m[name] = r
		}
		switch {
		case row.Kind == tickets.RecordSkipped:
			r.Skip++
		case row.OnTime:
			r.Done++
			r.OnTime++
		default:
			r.Done++
			r.Late++
		}
	}
	byPlan, byCat := map[string]*Rate{}, map[string]*Rate{}
	for _, row := range rows {
		add(byPlan, row.Plan, row)
		cat := row.Category
		if cat == "" {
			cat = "-"
		}
		add(byCat, cat, row)
	}
	flat := func(m map[string]*Rate) []Rate {
		out := make([]Rate, 0, len(m))
		for _, r := range m {
			out = append(out, *r)
		}
		slices.SortFunc(out, func(a, b Rate) int { return strings.Compare(a.Name, b.Name) })
		return out
	}
	return flat(byPlan), flat(byCat)
}

func (r *Report) zone() *time.Location {
	if r.Zone == nil {
		return time.Local
	}
	return r.Zone
}

func (r *Report) day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(r.zone()).Format("2006-01-02")
}

func (r *Report) stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(r.zone()).Format("2006-01-02 15:04")
}

// Answers is a checklist's answers on one line: "text: answer; …", with
// a failed item marked and its note.
func Answers(items []tickets.ChecklistItem) string {
	var parts []string
	for _, it := range items {
		a := it.Answer
		if it.Value != nil {
			a = strconv.FormatFloat(*it.Value, 'f', -1, 64)
			if it.Unit != "" {
				a += " " + it.Unit
			}
		}
		if a == "" {
			a = "—"
		}
		if it.Failed {
			a += " FAILED 不合格"
			if it.Corrective != 0 {
				a += fmt.Sprintf(" (#%d)", it.Corrective)
			}
		}
		if it.Note != "" {
			a += " (" + it.Note + ")"
		}
		parts = append(parts, it.Text+": "+a)
	}
	return strings.Join(parts, "; ")
}

// CSVHeader is the first row of the CSV report.
var CSVHeader = []string{"plan", "title", "category", "device", "kind", "due", "done", "on_time", "late_days",
	"actor", "ticket", "via", "note", "checklist"}

// WriteCSV writes one row per inspection, UTF-8 with a byte-order mark so
// that Excel opens the Chinese text correctly.
func (r *Report) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write(CSVHeader)
	for _, row := range r.Rows() {
		onTime, late := "yes", ""
		if row.Kind == tickets.RecordSkipped {
			onTime = "skipped"
		} else if !row.OnTime {
			onTime = "no"
			late = strconv.FormatFloat(row.Late.Hours()/24, 'f', 1, 64)
		}
		ticket := ""
		if row.TicketID != 0 {
			ticket = strconv.FormatInt(row.TicketID, 10)
		}
		cw.Write([]string{row.Plan, row.Title, row.Category, row.Device, row.Kind, r.day(row.Due), r.stamp(row.Done),
			onTime, late, row.Actor, ticket, row.Via, row.Note, Answers(row.Checklist)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteHTML writes the report as one self-contained HTML page laid out for
// A4 print, with bilingual (English / 简体中文) headings.
func (r *Report) WriteHTML(w io.Writer) error {
	rows := r.Rows()
	plans, cats := Rates(rows)
	done, onTime := 0, 0
	for _, p := range plans {
		done += p.Done
		onTime += p.OnTime
	}
	data := map[string]any{
		"R": r, "Rows": rows, "Plans": plans, "Categories": cats, "Done": done, "OnTime": onTime,
		"From": r.day(r.From), "To": r.day(r.To.Add(-time.Nanosecond)), "Generated": r.stamp(r.Generated),
	}
	return page.Execute(w, data)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(x Rate) string {
		if p := x.Percent(); p >= 0 {
			return strconv.FormatFloat(p, 'f', 1, 64) + " %"
		}
		return "—"
	},
	"rate": func(on, all int) string {
		if all == 0 {
			return "—"
		}
		return strconv.FormatFloat(100*float64(on)/float64(all), 'f', 1, 64) + " %"
	},
	"late": func(d time.Duration) string {
		return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64)
	},
	"answers": Answers,
}).Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>Inspection record 巡检保养记录 {{.From}} – {{.To}}</title>
<style>
@page { size: A4; margin: 15mm 12mm; }
body { font: 10pt/1.35 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; color: #111; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999; }
.meta { color: #444; margin-bottom: 4mm; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; vertical-align: top; text-align: left; }
th { background: #eee; }
td.n { text-align: right; white-space: nowrap; }
tr { page-break-inside: avoid; }
.late { color: #a00; font-weight: bold; }
.skip { color: #666; }
.small { font-size: 8.5pt; }
</style>
</head>
<body>
<h1>Inspection record / 巡检保养记录</h1>
<div class="meta">{{if .R.Site}}Site 项目: {{.R.Site}} · {{end}}Period 期间: {{.From}} – {{.To}} · Generated 生成: {{.Generated}}</div>
<p>Completed 完成: <b>{{.Done}}</b> · On time 按时: <b>{{.OnTime}}</b> · On-time rate 按时率: <b>{{rate .OnTime .Done}}</b></p>
<h2>On-time rate per plan / 各计划按时率</h2>
<table><tr><th>Plan 计划</th><th>Done 完成</th><th>On time 按时</th><th>Late 逾期</th><th>Skipped 跳过</th><th>Rate 按时率</th></tr>
{{range .Plans}}<tr><td>{{.Name}}</td><td class="n">{{.Done}}</td><td class="n">{{.OnTime}}</td><td class="n">{{.Late}}</td><td class="n">{{.Skip}}</td><td class="n">{{pct .}}</td></tr>
{{end}}</table>
<h2>On-time rate per category / 各专业按时率</h2>
<table><tr><th>Category 专业</th><th>Done 完成</th><th>On time 按时</th><th>Late 逾期</th><th>Skipped 跳过</th><th>Rate 按时率</th></tr>
{{range .Categories}}<tr><td>{{.Name}}</td><td class="n">{{.Done}}</td><td class="n">{{.OnTime}}</td><td class="n">{{.Late}}</td><td class="n">{{.Skip}}</td><td class="n">{{pct .}}</td></tr>
{{end}}</table>
<h2>Inspections / 巡检保养明细</h2>
<table class="small"><tr><th>Device 设备</th><th>Plan 计划</th><th>Due 应完成</th><th>Done 完成时间</th><th>On time 按时</th><th>By 执行人</th><th>Ticket 工单</th><th>Checklist 检查项</th></tr>
{{range .Rows}}<tr{{if eq .Kind "skipped"}} class="skip"{{end}}><td>{{.Device}}</td><td>{{.Title}}{{if .Via}}<br>(via {{.Via}}){{end}}</td><td>{{$.R.Day .Due}}</td><td>{{$.R.Stamp .Done}}</td>
<td>{{if eq .Kind "skipped"}}skipped 跳过{{else if .OnTime}}yes 是{{else}}<span class="late">late 逾期 {{late .Late}} d</span>{{end}}</td>
<td>{{.Actor}}</td><td>{{if .TicketID}}#{{.TicketID}}{{end}}</td><td>{{answers .Checklist}}{{if .Note}}<br><i>{{.Note}}</i>{{end}}</td></tr>
{{else}}<tr><td colspan="8">No inspections in this period / 本期无巡检记录</td></tr>
{{end}}</table>
</body>
</html>
`))

// Day formats t as a date in the report's zone (for the template).
func (r *Report) Day(t time.Time) string { return r.day(t) }

// Stamp formats t as date and time in the report's zone (for the template).
func (r *Report) Stamp(t time.Time) string { return r.stamp(t) }
