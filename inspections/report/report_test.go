package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/tickets"
)

func sample(t *testing.T) *Report {
	t.Helper()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	d := func(m time.Month, day, h int) time.Time { return time.Date(2026, m, day, h, 0, 0, 0, sh) }
	v := 0.42
	return &Report{
		From: d(11, 1, 0), To: d(12, 1, 0), Site: "华府小区", Zone: sh, Generated: d(12, 2, 9),
		Plans: map[string]Plan{
			"elevator_half_monthly": {Title: "电梯半月保养 / half-monthly maintenance", Category: "lifts"},
			"elevator_quarterly":    {Title: "电梯季度保养 / quarterly maintenance", Category: "lifts"},
			"fire_monthly":          {Title: "消防设施月度检查 / monthly fire check", Category: "fire"},
		},
		Records: []tickets.InspectionRecord{
			{Plan: "elevator_half_monthly", Device: "elevator-1", Kind: tickets.RecordOpened, At: d(11, 2, 8)},
			{Plan: "elevator_half_monthly", Device: "elevator-1", Kind: tickets.RecordDone, At: d(11, 3, 10), DueAt: d(11, 5, 0),
				OnTime: true, Actor: "王工", TicketID: 7, Checklist: []tickets.ChecklistItem{
					{Text: "制动器间隙 / brake gap", Evidence: tickets.EvidenceReading, Unit: "mm", Value: &v, Answer: "0.42"},
					{Text: "应急照明 / emergency light", Evidence: tickets.EvidenceYesNo, Answer: "no", Failed: true, Note: "灯管损坏", Corrective: 9},
				}},
			// Late by 3.5 days, done through the quarterly visit.
			{Plan: "elevator_half_monthly", Device: "elevator-2", Kind: tickets.RecordDone, At: d(11, 20, 12), DueAt: d(11, 17, 0),
				Actor: "li", Via: "elevator_quarterly"},
			{Plan: "elevator_quarterly", Device: "elevator-2", Kind: tickets.RecordDone, At: d(11, 20, 12), DueAt: d(11, 25, 0),
				OnTime: true, Actor: "li"},
			{Plan: "fire_monthly", Device: "fire-panel-1", Kind: tickets.RecordSkipped, At: d(11, 10, 9), Actor: "zhang",
				Note: "panel out of service <replaced>"},
			{Plan: "fire_monthly", Device: "fire-panel-1", Kind: tickets.RecordRebased, At: d(11, 11, 9)},
			// Outside the period.
			{Plan: "fire_monthly", Device: "fire-panel-1", Kind: tickets.RecordDone, At: d(12, 1, 0), OnTime: true},
			{Plan: "old_plan", Device: "pump-1", Kind: tickets.RecordDone, At: d(11, 30, 23), OnTime: false, DueAt: d(11, 30, 0)},
		},
	}
}

func TestRowsAndRates(t *testing.T) {
	r := sample(t)
	rows := r.Rows()
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5 (openings, rebases and December left out): %+v", len(rows), rows)
	}
	if rows[0].Device != "elevator-1" || rows[len(rows)-1].Plan != "old_plan" || rows[len(rows)-1].Title != "old_plan" {
		t.Errorf("order or titles: first %+v last %+v", rows[0], rows[len(rows)-1])
	}
	if got := rows[2].Late; got != 84*time.Hour {
		t.Errorf("late = %v, want 84h", got)
	}
	plans, cats := Rates(rows)
	want := map[string]Rate{
		"elevator_half_monthly": {Name: "elevator_half_monthly", Done: 2, OnTime: 1, Late: 1},
		"elevator_quarterly":    {Name: "elevator_quarterly", Done: 1, OnTime: 1},
		"fire_monthly":          {Name: "fire_monthly", Skip: 1},
		"old_plan":              {Name: "old_plan", Done: 1, Late: 1},
	}
	if len(plans) != len(want) {
		t.Fatalf("plans = %+v", plans)
	}
	for _, p := range plans {
		if p != want[p.Name] {
			t.Errorf("rate %s = %+v, want %+v", p.Name, p, want[p.Name])
		}
	}
	if p := plans[0].Percent(); p != 50 {
		t.Errorf("half-monthly on-time = %v %%", p)
	}
	if p := plans[2].Percent(); p != -1 {
		t.Errorf("a plan with only skips has no rate: %v", p)
	}
	if len(cats) != 3 || cats[1].Name != "fire" || cats[2] != (Rate{Name: "lifts", Done: 3, OnTime: 2, Late: 1}) {
		t.Errorf("categories = %+v", cats)
	}
}

func TestCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := sample(t).WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		t.Fatal("no byte-order mark: Excel would misread the Chinese text")
	}
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 || strings.Join(recs[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("rows: %q", recs)
	}
	first := recs[1]
	col := func(name string) int {
		for i, h := range CSVHeader {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	if first[col("due")] != "2026-11-05" || first[col("done")] != "2026-11-03 10:00" || first[col("actor")] != "王工" ||
		first[col("on_time")] != "yes" || first[col("ticket")] != "7" {
		t.Errorf("first row = %q", first)
	}
	if got := first[col("checklist")]; got != "制动器间隙 / brake gap: 0.42 mm; 应急照明 / emergency light: no FAILED 不合格 (#9) (灯管损坏)" {
		t.Errorf("checklist = %q", got)
	}
	if late := recs[3]; late[col("on_time")] != "no" || late[col("late_days")] != "3.5" || late[col("via")] != "elevator_quarterly" {
		t.Errorf("late row = %q", late)
	}
	if skip := recs[2]; skip[col("on_time")] != "skipped" || skip[col("note")] != "panel out of service <replaced>" {
		t.Errorf("skip row = %q", skip)
	}
}

func TestHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := sample(t).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	h := buf.String()
	for _, want := range []string{
		"Period 期间: 2026-11-01 – 2026-11-30", "Site 项目: 华府小区", "On-time rate 按时率: <b>50.0 %</b>",
		"<td>elevator_half_monthly</td><td class=\"n\">2</td><td class=\"n\">1</td><td class=\"n\">1</td><td class=\"n\">0</td><td class=\"n\">50.0 %</td>",
		"late 逾期 3.5 d", "(via elevator_quarterly)", "panel out of service &lt;replaced&gt;", "@page { size: A4",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, external := range []string{"http://", "https://", "<script", "<link"} {
		if strings.Contains(h, external) {
			t.Errorf("HTML is not self-contained: has %q", external)
		}
	}
	empty := sample(t)
	empty.Records = nil
	buf.Reset()
	if err := empty.WriteHTML(&buf); err != nil || !strings.Contains(buf.String(), "本期无巡检记录") {
		t.Errorf("empty period: %v", err)
	}
}
