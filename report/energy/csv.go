package energy

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"
)

// CSVHeader is the first row of the CSV report.
var CSVHeader = []string{"meter", "category", "interval_start", "interval_end", "quantity", "unit", "cost", "currency"}

// WriteCSV writes one tidy row per meter and day (times in RFC 3339 with
// the zone's offset), UTF-8 with a byte-order mark so that Excel opens it
// as UTF-8. The cost is the energy at the tariff; fixed and demand charges
// are per period, in the other formats.
func (r *Report) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, m := range r.Meters {
		for _, d := range m.Days {
			end := d.End
			if end.After(r.End) {
				end = r.End
			}
			if err := cw.Write([]string{m.Meter, string(m.Category), d.Start.In(r.Zone).Format(time.RFC3339),
				end.In(r.Zone).Format(time.RFC3339), num(d.Quantity), m.Unit, num(d.Cost), r.Currency}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
