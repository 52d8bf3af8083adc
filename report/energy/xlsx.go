package energy

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/facilityd/facilityd/energy/usage"
)

// sheet writes rows to one worksheet of a workbook.
type sheet struct {
	f    *excelize.File
	name string
	row  int
	err  error
	date int // style ids
	num  int
	head int
}

func (s *sheet) cell(col, row int) string {
	c, _ := excelize.CoordinatesToCellName(col, row)
	return c
}

// put writes a row of values: numbers stay numbers (NaN is an empty
// cell), times become Excel dates.
func (s *sheet) put(vals ...any) {
	s.row++
	for i, v := range vals {
		if s.err != nil {
			return
		}
		c := s.cell(i+1, s.row)
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			s.err = s.f.SetCellFloat(s.name, c, x, -1, 64)
			if s.err == nil {
				s.err = s.f.SetCellStyle(s.name, c, c, s.num)
			}
		case time.Time:
			if x.IsZero() {
				continue
			}
			// Excel has no zones: write the local wall time.
			s.err = s.f.SetCellValue(s.name, c, time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), 0, 0, time.UTC))
			if s.err == nil {
				s.err = s.f.SetCellStyle(s.name, c, c, s.date)
			}
		case formula:
			s.err = s.f.SetCellFormula(s.name, c, string(x))
			if s.err == nil {
				s.err = s.f.SetCellStyle(s.name, c, c, s.num)
			}
		default:
			s.err = s.f.SetCellValue(s.name, c, v)
		}
	}
}

// header writes a bold header row.
func (s *sheet) header(vals ...string) {
	s.row++
	for i, v := range vals {
		if s.err == nil {
			c := s.cell(i+1, s.row)
			s.err = s.f.SetCellValue(s.name, c, v)
			if s.err == nil {
				s.err = s.f.SetCellStyle(s.name, c, c, s.head)
			}
		}
	}
	if s.err == nil {
		last, _ := excelize.ColumnNumberToName(max(len(vals), 1))
		s.err = s.f.SetColWidth(s.name, "A", last, 16)
	}
}

// sum is a SUM formula over column col from row from to the row before.
func (s *sheet) sum(col, from int) formula {
	return formula(fmt.Sprintf("SUM(%s:%s)", s.cell(col, from), s.cell(col, s.row)))
}

// formula is a cell formula, without the leading =.
type formula string

// WriteXLSX writes the report as a workbook: one sheet per section, real
// numbers with units in the headers, totals as formulas and a chart of the
// daily consumption.
func (r *Report) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm")})
	if err != nil {
		return err
	}
	dayStyle, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd")})
	numStyle, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("#,##0.00")})
	headStyle, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EDF2F7"}}})
	first := true
	newSheet := func(key string) *sheet {
		name := r.T(key)
		if len([]rune(name)) > 31 {
			name = string([]rune(name)[:31])
		}
		if first {
			f.SetSheetName("Sheet1", name)
			first = false
		} else if _, err := f.NewSheet(name); err != nil {
			return &sheet{err: err}
		}
		return &sheet{f: f, name: name, date: dateStyle, num: numStyle, head: headStyle}
	}
	cur := r.Currency
	var sheets []*sheet

	// Summary, with totals of the costs as formulas.
	s := newSheet("summary")
	sheets = append(sheets, s)
	s.put(r.T("title"), r.Period.Name)
	s.put(r.T("period"), r.Period.From.In(r.Zone), r.End.In(r.Zone))
	if r.Partial {
		s.put(r.Tf("partial", r.Stamp(r.End)))
	}
	s.put()
	s.header(r.T("category"), r.T("unit"), r.T("quantity"), r.T("energy_cost")+" ("+cur+")", r.T("fixed_cost")+" ("+cur+")",
		r.T("demand_cost")+" ("+cur+")", r.T("cost")+" ("+cur+")", r.T("kgco2e"), r.T("kgce"))
	top := s.row + 1
	for _, c := range r.Categories {
		s.put(r.T(string(c.Category)), Unit(c.Unit), c.Quantity, c.EnergyCost, c.FixedCost, c.DemandCost,
			formula(fmt.Sprintf("%s+%s+%s", s.cell(4, s.row+1), s.cell(5, s.row+1), s.cell(6, s.row+1))), c.KgCO2e, c.Kgce)
	}
	s.put(r.T("total"), "", "", s.sum(4, top), s.sum(5, top), s.sum(6, top), s.sum(7, top), s.sum(8, top), s.sum(9, top))

	// Sites, in a report of every site.
	if len(r.Sites) > 0 {
		s = newSheet("sites")
		sheets = append(sheets, s)
		s.header(r.T("site"), r.T("category"), r.T("unit"), r.T("meters"), r.T("quantity"), r.T("cost")+" ("+cur+")")
		for _, x := range r.Sites {
			s.put(x.Site, r.T(string(x.Category)), Unit(x.Unit), float64(x.Meters), x.Quantity, x.Cost)
		}
	}

	// Meters: the total counts billed meters only (SUMIF), as the summary does.
	s = newSheet("meters")
	sheets = append(sheets, s)
	s.header(r.T("meter"), r.T("category"), r.T("sub_item"), r.T("building"), r.T("billed"), r.T("unit"), r.T("quantity"),
		r.T("energy_cost")+" ("+cur+")", r.T("fixed_cost")+" ("+cur+")", r.T("demand_cost")+" ("+cur+")", r.T("cost")+" ("+cur+")")
	top = s.row + 1
	for _, m := range r.Meters {
		billed := "no"
		if m.Billed {
			billed = "yes"
		}
		sub := ""
		if m.SubItem != "" {
			sub = r.T(string(m.SubItem))
		}
		s.put(m.Meter, r.T(string(m.Category)), sub, m.Building, billed, Unit(m.Unit), m.Quantity, m.EnergyCost, m.FixedCost, m.DemandCost, m.Cost)
	}
	end := s.row
	sumif := func(col int) formula {
		return formula(fmt.Sprintf(`SUMIF(%s:%s,"yes",%s:%s)`, s.cell(5, top), s.cell(5, end), s.cell(col, top), s.cell(col, end)))
	}
	s.put(r.T("total")+" ("+r.T("billed")+")", "", "", "", "", "", "", sumif(8), sumif(9), sumif(10), sumif(11))

	// Daily, with a chart.
	s = newSheet("days")
	sheets = append(sheets, s)
	s.date = dayStyle
	hdr := []string{r.T("date")}
	var cats []int
	for ci, c := range usage.Categories {
		if hasCategory(r.Categories, c) {
			cats = append(cats, ci)
			hdr = append(hdr, r.T(string(c))+" ("+Unit(unitFor(r, c))+")")
		}
	}
	for _, ci := range cats {
		hdr = append(hdr, r.T(string(usage.Categories[ci]))+" "+r.T("energy_cost")+" ("+cur+")")
	}
	s.header(hdr...)
	top = s.row + 1
	for _, d := range r.Days {
		row := []any{d.Start.In(r.Zone)}
		for _, ci := range cats {
			row = append(row, d.Quantity[ci])
		}
		for _, ci := range cats {
			row = append(row, d.Cost[ci])
		}
		s.put(row...)
	}
	end = s.row
	totals := []any{r.T("total")}
	for i := range 2 * len(cats) {
		totals = append(totals, s.sum(i+2, top))
	}
	s.put(totals...)
	if len(r.Days) > 0 && len(cats) > 0 && s.err == nil {
		s.err = f.AddChart(s.name, s.cell(2*len(cats)+3, 2), &excelize.Chart{
			Type: excelize.Col,
			Series: []excelize.ChartSeries{{
				Name:       fmt.Sprintf("'%s'!$B$1", s.name),
				Categories: fmt.Sprintf("'%s'!$A$%d:$A$%d", s.name, top, end),
				Values:     fmt.Sprintf("'%s'!$B$%d:$B$%d", s.name, top, end),
			}},
			Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: r.T("days")}}},
			Legend: excelize.ChartLegend{Position: "bottom"},
			Format: excelize.GraphicOptions{ScaleX: 1.6, ScaleY: 1.2},
		})
	}

	if len(r.Bands) > 0 {
		s = newSheet("bands")
		sheets = append(sheets, s)
		s.header(r.T("category"), r.T("band"), r.T("quantity"), r.T("share")+" (%)", r.T("energy_cost")+" ("+cur+")")
		for _, b := range r.Bands {
			s.put(r.T(string(b.Category)), r.T(string(b.Band)), b.Quantity, b.SharePct, b.Cost)
		}
	}
	if len(r.SubItems) > 0 {
		s = newSheet("sub_items")
		sheets = append(sheets, s)
		s.header(r.T("sub_item"), r.T("quantity")+" (kWh)", r.T("share")+" (%)")
		top = s.row + 1
		for _, si := range r.SubItems {
			s.put(r.T(string(si.SubItem)), si.Quantity, si.SharePct)
		}
		s.put(r.T("total"), s.sum(2, top), s.sum(3, top))
	}

	s = newSheet("comparison")
	sheets = append(sheets, s)
	s.header(r.T("category"), r.T("unit"), r.T("current"), r.T("previous")+" "+r.Previous.Name, r.T("change_raw")+" (%)", r.T("change_norm")+" (%)",
		r.T("last_year")+" "+r.LastYear.Name, r.T("change_raw")+" (%)", r.T("change_norm")+" (%)",
		r.T("previous")+" "+r.T("coverage")+" (%)", r.T("last_year")+" "+r.T("coverage")+" (%)")
	for _, c := range r.Comparisons {
		s.put(r.T(string(c.Category)), Unit(c.Unit), c.Current, c.Previous, c.PreviousPct, c.NormPreviousPct, c.LastYear, c.LastYearPct, c.NormLastYearPct,
			c.PreviousCoveragePct, c.LastYearCoveragePct)
	}

	if len(r.Baselines) > 0 {
		s = newSheet("baseline")
		sheets = append(sheets, s)
		s.date = dayStyle
		s.header(r.T("meter"), r.T("date"), r.T("unit"), r.T("actual"), r.T("predicted"), r.T("cusum"))
		for _, b := range r.Baselines {
			for _, d := range b.Days {
				s.put(b.Meter, d.Start.In(r.Zone), Unit(b.Unit), d.Actual, d.Predicted, d.CUSUM)
			}
		}
		s.put()
		s.header(r.T("meter"), r.T("model"), "CV(RMSE) (%)", "NMBE (%)", r.T("actual"), r.T("predicted"), r.T("savings"), r.T("cost")+" ("+cur+")")
		for _, b := range r.Baselines {
			s.put(b.Meter, b.Model, 100*b.CVRMSE, 100*b.NMBE, b.Actual, b.Predicted, b.Savings, b.SavingsCost)
		}
	}

	if len(r.Demand) > 0 || r.Profile != nil {
		s = newSheet("demand")
		sheets = append(sheets, s)
		s.header(r.T("meter"), r.T("peak_kw")+" (kW)", r.T("peak_at"), r.T("base_load")+" (kW)")
		for _, d := range r.Demand {
			s.put(d.Meter, d.PeakKW, d.PeakAt.In(r.Zone), d.BaseLoadKW)
		}
		s.put()
		s.header(r.T("meter"), r.T("month"), r.T("peak_kw")+" (kW)", r.T("peak_at"), r.T("demand_cost")+" ("+cur+")")
		for _, d := range r.Demand {
			for _, m := range d.Months {
				s.put(d.Meter, m.Month.In(r.Zone), m.PeakKW, m.At.In(r.Zone), m.Charge)
			}
		}
		if r.Profile != nil {
			s.put()
			s.header(r.T("hour"), r.T("weekday")+" (kW)", r.T("weekend")+" (kW)")
			for h := range 24 {
				s.put(float64(h), r.Profile.Weekday[h], r.Profile.Weekend[h])
			}
		}
	}

	s = newSheet("enpis")
	sheets = append(sheets, s)
	s.header(r.T("building"), r.T("enpi"), r.T("value"), r.T("unit"))
	for _, e := range r.EnPIs {
		s.put(e.Building, r.T(e.Key), e.Value, e.Unit)
	}

	s = newSheet("anomalies")
	sheets = append(sheets, s)
	s.header(r.T("meter"), r.T("kind"), r.T("start"), r.T("end"), r.T("excess"), r.T("unit"), r.T("cost")+" ("+cur+")")
	for _, a := range r.Anomalies {
		s.put(a.Meter, r.T(a.Kind), a.Start.In(r.Zone), a.End.In(r.Zone), a.Excess, Unit(a.Unit), a.Cost)
	}
	s.put()
	s.header(r.T("ticket"), r.T("title_col"), r.T("device"), r.T("priority"), r.T("status"), r.T("created"), r.T("resolved"))
	for _, t := range r.Tickets {
		s.put(float64(t.ID), t.Title, t.Device, t.Priority, r.Status(t.Status), t.Created.In(r.Zone), t.Resolved.In(r.Zone))
	}

	s = newSheet("quality")
	sheets = append(sheets, s)
	s.header(r.T("meter"), r.T("coverage")+" (%)", r.T("hours_read")+" (%)", r.T("gaps"), r.T("longest_gap")+" (h)", r.T("resets"), r.T("rollovers"), r.T("swaps"), r.T("first_data"), r.T("last_data"))
	for _, q := range r.Quality {
		s.put(q.Meter, q.CoveragePct, q.HoursReadPct, float64(q.Gaps), q.LongestGap.Hours(), float64(q.Resets), float64(q.Rollovers), float64(q.Swaps), q.FirstData.In(r.Zone), q.LastData.In(r.Zone))
	}
	for _, w := range r.Warnings {
		s.put(r.WarningText(w))
	}
	for _, s := range sheets {
		if s.err != nil {
			return fmt.Errorf("xlsx sheet %q: %w", s.name, s.err)
		}
	}
	return f.Write(w)
}

func ptr[T any](v T) *T { return &v }

func hasCategory(cs []CategoryFigures, c usage.Category) bool {
	for _, x := range cs {
		if x.Category == c {
			return true
		}
	}
	return false
}

func unitFor(r *Report, c usage.Category) string {
	for _, x := range r.Categories {
		if x.Category == c {
			return x.Unit
		}
	}
	return ""
}
