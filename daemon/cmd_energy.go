package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/quality"
)

const energyUsage = `facilityd energy SUBCOMMAND
  baseline  --csv METER.csv --temperature-csv TEMP.csv --from DATE --to DATE
            [--model daily|hourly|tow] [--temperature-unit F|C] [--tz ZONE]
            [--fuel electricity|gas|water] [--json]
            fit a CalTRACK baseline on [from, to) and print it with its fit statistics
  anomalies --csv METER.csv --temperature-csv TEMP.csv --baseline-from D --baseline-to D
            --from D --to D [--model ...] [--k 3 --n 3] [--cusum-k 0.5 --cusum-h 5] [--json]
            fit on the baseline window, then list the anomalies of [from, to)
  Files are in the eemeter format (start,value and dt,tempF). DATE is YYYY-MM-DD in
  --tz (or RFC 3339); the end is exclusive. --tz defaults to the offset the meter
  file carries, when it carries one only.
  Instead of files, -c FILE --device ID [--point P] [--temperature DEVICE.POINT]
  reads a configured meter and the outdoor temperature (°C) from InfluxDB, in the
  config's timezone (the energy section's temperature when --temperature is not given).
  anomalies without --csv or --device lists the running daemon's anomalies
  (GET /api/v1/energy/anomalies) [--active] [--json].
`

// cmdEnergy runs `facilityd energy baseline|anomalies`.
func cmdEnergy(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("energy: want a subcommand: baseline or anomalies")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, energyUsage)
		return nil
	case "baseline":
		return cmdEnergyBaseline(rest, stdout, stderr)
	case "anomalies":
		return cmdEnergyAnomalies(rest, stdout, stderr)
	default:
		return fmt.Errorf("energy: unknown subcommand %q: use baseline or anomalies", sub)
	}
}

// energyFlags are the options both subcommands share.
type energyFlags struct {
	fs                  *flag.FlagSet
	meterCSV, tempCSV   string
	tempUnit, tz, model string
	fuel                string
	json                bool
	device, point       string
	temperature         string
	holidays, workdays  string
}

func newEnergyFlags(name string, out io.Writer) *energyFlags {
	f := &energyFlags{}
	f.fs, _ = flags("energy "+name, out)
	f.fs.Lookup("c").DefValue = ""
	f.fs.StringVar(&f.meterCSV, "csv", "", "meter CSV (start,value)")
	f.fs.StringVar(&f.tempCSV, "temperature-csv", "", "temperature CSV (dt,tempF or dt,tempC)")
	f.fs.StringVar(&f.tempUnit, "temperature-unit", "", "F or C (default: from the CSV header)")
	f.fs.StringVar(&f.tz, "tz", "", "time zone of the calendar days, e.g. America/Chicago")
	f.fs.StringVar(&f.model, "model", "daily", "daily, hourly or tow")
	f.fs.StringVar(&f.fuel, "fuel", "electricity", "electricity, gas or water")
	f.fs.BoolVar(&f.json, "json", false, "print JSON")
	f.fs.StringVar(&f.device, "device", "", "read this device's meter from InfluxDB (with -c)")
	f.fs.StringVar(&f.point, "point", "", "the device's counter point (default: its configured meter, or its only counter)")
	f.fs.StringVar(&f.temperature, "temperature", "", "outdoor temperature DEVICE.POINT (InfluxDB mode; default: the energy section's)")
	f.fs.StringVar(&f.holidays, "holidays", "", "public holidays, kept as a Sunday: dates and ranges, e.g. 2026-01-01,2026-10-01..2026-10-07 (InfluxDB mode: default energy.calendar)")
	f.fs.StringVar(&f.workdays, "workdays", "", "make-up working days (调休), kept as a working day: dates and ranges")
	return f
}

// energyData is what the files hold.
type energyData struct {
	meter []baseline.Reading
	temps []baseline.TempReading
	unit  baseline.TempUnit
	loc   *time.Location
	fuel  baseline.Fuel
	kind  baseline.Kind
	cal   *baseline.Calendar // holidays and make-up working days, or nil
	// fetch, in InfluxDB mode, reads the meter and temperature of a span.
	fetch func(from, to time.Time) error
}

func (f *energyFlags) load() (*energyData, error) {
	d := &energyData{}
	var err error
	if d.cal, err = f.calendar(); err != nil {
		return nil, err
	}
	if f.meterCSV == "" {
		if f.device == "" {
			return nil, errors.New("energy: want --csv METER.csv, or -c FILE --device ID to read a configured meter from InfluxDB")
		}
		return d, f.fromInflux(d)
	}
	if d.fuel, err = baseline.ParseFuel(f.fuel); err != nil {
		return nil, fmt.Errorf("--fuel: %w", err)
	}
	switch k := baseline.Kind(f.model); k {
	case baseline.KindDaily, baseline.KindHourly, baseline.KindTOW:
		d.kind = k
	default:
		return nil, fmt.Errorf("--model %q: write daily, hourly or tow", f.model)
	}
	if f.tempUnit != "" {
		if d.unit, err = baseline.ParseTempUnit(f.tempUnit); err != nil {
			return nil, fmt.Errorf("--temperature-unit: %w", err)
		}
	}
	parseLoc := time.UTC // only for timestamps without offset, when no --tz
	if f.tz != "" {
		if d.loc, err = time.LoadLocation(f.tz); err != nil {
			return nil, fmt.Errorf("--tz %q: %w (write an IANA zone such as America/Chicago)", f.tz, err)
		}
		parseLoc = d.loc
	}
	mf, err := os.Open(f.meterCSV)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	if d.meter, err = baseline.LoadMeterCSV(mf, f.meterCSV, parseLoc); err != nil {
		return nil, err
	}
	if d.loc == nil {
		if d.loc, err = zoneOf(d.meter, f.meterCSV); err != nil {
			return nil, err
		}
	}
	if f.tempCSV == "" {
		if d.kind != baseline.KindTOW {
			return nil, fmt.Errorf("--model %s needs --temperature-csv (or use --model tow)", d.kind)
		}
		return d, nil
	}
	tf, err := os.Open(f.tempCSV)
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	if d.temps, d.unit, err = baseline.LoadTemperatureCSV(tf, f.tempCSV, parseLoc, d.unit); err != nil {
		return nil, err
	}
	return d, nil
}

// calendar is --holidays and --workdays, nil when neither is given.
func (f *energyFlags) calendar() (*baseline.Calendar, error) {
	if f.holidays == "" && f.workdays == "" {
		return nil, nil
	}
	h, err := baseline.ParseDays(strings.Split(f.holidays, ","))
	if err != nil {
		return nil, fmt.Errorf("--holidays: %w", err)
	}
	w, err := baseline.ParseDays(strings.Split(f.workdays, ","))
	if err != nil {
		return nil, fmt.Errorf("--workdays: %w", err)
	}
	cal, err := baseline.NewCalendar(h, w)
	if err != nil {
		return nil, fmt.Errorf("--holidays, --workdays: %w", err)
	}
	return cal, nil
}

// zoneOf is the one UTC offset all the meter's timestamps carry, as a
// fixed zone; several offsets (daylight saving time) need --tz.
func zoneOf(meter []baseline.Reading, file string) (*time.Location, error) {
	_, off := meter[0].Start.Zone()
	for _, r := range meter {
		if _, o := r.Start.Zone(); o != off {
			return nil, fmt.Errorf("%s: timestamps carry offsets %s and %s: give the zone with --tz (e.g. America/Chicago)",
				file, meter[0].Start.Format("-07:00"), r.Start.Format("-07:00"))
		}
	}
	return time.FixedZone(meter[0].Start.Format("-07:00"), off), nil
}

// parseDay reads a DATE flag in loc.
func parseDay(name, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("want --%s DATE (YYYY-MM-DD)", name)
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: write a date, YYYY-MM-DD, or RFC 3339", name, s)
}

func (d *energyData) fit(from, to time.Time) (*baseline.Model, error) {
	switch d.kind {
	case baseline.KindHourly:
		return baseline.FitHourly(d.meter, d.temps, d.loc, from, to, baseline.HourlyOptions{Fuel: d.fuel, TempUnit: d.unit, Calendar: d.cal})
	case baseline.KindTOW:
		return baseline.FitTOW(d.meter, d.fuel, d.loc, from, to, d.cal)
	}
	return baseline.FitDaily(d.meter, d.temps, d.loc, from, to, baseline.DailyOptions{Fuel: d.fuel, TempUnit: d.unit, Calendar: d.cal})
}

// fallback is, as the daemon does, the daily fallback of an hourly or
// time-of-week model that fails the hourly gate on sufficient data, when
// that one passes the monthly gate; else m.
func (d *energyData) fallback(m *baseline.Model, from, to time.Time) *baseline.Model {
	if m.Kind == baseline.KindDaily || m.FitForAlarms || m.Sufficiency != nil && !m.Sufficiency.Sufficient {
		return m
	}
	temps := d.temps
	if m.Kind == baseline.KindTOW {
		temps = nil
	}
	daily, err := baseline.FitDailyFallback(m, d.meter, temps, d.loc, from, to, baseline.DailyOptions{TempUnit: d.unit, Calendar: d.cal})
	if err != nil || !daily.FitForAlarms {
		return m
	}
	return daily
}

func cmdEnergyBaseline(args []string, stdout, stderr io.Writer) error {
	f := newEnergyFlags("baseline", stderr)
	from, to := f.fs.String("from", "", "start of the training window (DATE)"), f.fs.String("to", "", "end of the training window, exclusive (DATE)")
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	d, err := f.load()
	if err != nil {
		return err
	}
	start, err := parseDay("from", *from, d.loc)
	if err != nil {
		return err
	}
	end, err := parseDay("to", *to, d.loc)
	if err != nil {
		return err
	}
	if !end.After(start) {
		return errors.New("--to must be after --from")
	}
	if err := d.read(start, end); err != nil {
		return err
	}
	m, err := d.fit(start, end)
	if err != nil {
		return fmt.Errorf("energy baseline: %w", err)
	}
	m = d.fallback(m, start, end)
	if f.json {
		return writeJSON(stdout, m)
	}
	printModel(stdout, m)
	return nil
}

func printModel(w io.Writer, m *baseline.Model) {
	fmt.Fprintf(w, "model %s (%s), trained %s – %s (%s)\n", m.Model, m.Kind, m.TrainingFrom.Format(time.DateOnly), m.TrainingTo.Format(time.DateOnly), m.TimeZone)
	if f := m.Fallback; f != nil {
		fmt.Fprintf(w, "  in place of the %s model (%s), which is not fit for alarms: %s\n", f.Model, f.Kind, strings.Join(f.Reasons, "; "))
	}
	if m.Kind == baseline.KindDaily {
		if len(m.DayProfile) == 7 {
			fmt.Fprintf(w, "  usage/day = by day (Mon–Sun) %.4g", m.DayProfile)
		} else {
			fmt.Fprintf(w, "  usage/day = %.4g", m.Intercept)
		}
		if m.HeatingBalancePoint != nil {
			fmt.Fprintf(w, " + %.4g × HDD(%g °%s)", m.BetaHDD, *m.HeatingBalancePoint, m.TempUnit)
		}
		if m.CoolingBalancePoint != nil {
			fmt.Fprintf(w, " + %.4g × CDD(%g °%s)", m.BetaCDD, *m.CoolingBalancePoint, m.TempUnit)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  n %d, p %d, adjusted R² %.4f, RMSE %.4g, CV(RMSE) %.1f %%, NMBE %.2f %%\n", m.N, m.P, m.RSquaredAdj, m.RMSE, 100*m.CVRMSE, 100*m.NMBE)
	if mo := m.Monthly; mo != nil {
		fmt.Fprintf(w, "  by calendar month: n %d, RMSE %.4g, CV(RMSE) %.1f %%, NMBE %.2f %%\n", mo.N, mo.RMSE, 100*mo.CVRMSE, 100*mo.NMBE)
	}
	fmt.Fprintf(w, "  chosen by %s\n", m.Selection)
	if m.FitForAlarms {
		fmt.Fprintf(w, "  fit for alarms (%s)\n", m.Gate.Name)
	} else {
		fmt.Fprintln(w, "  NOT fit for alarms:")
		for _, r := range m.Reasons {
			fmt.Fprintf(w, "    - %s\n", r)
		}
	}
	for _, x := range m.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", x)
	}
}

func cmdEnergyAnomalies(args []string, stdout, stderr io.Writer) error {
	f := newEnergyFlags("anomalies", stderr)
	bFrom, bTo := f.fs.String("baseline-from", "", "start of the baseline (DATE)"), f.fs.String("baseline-to", "", "end of the baseline, exclusive (DATE)")
	from, to := f.fs.String("from", "", "start of the period checked (DATE)"), f.fs.String("to", "", "end of the period checked, exclusive (DATE)")
	k := f.fs.Float64("k", 3, "residual threshold, in σ")
	n := f.fs.Int("n", 3, "intervals beyond k·σ in a row")
	ck := f.fs.Float64("cusum-k", 0.5, "CUSUM allowance, in σ")
	ch := f.fs.Float64("cusum-h", 5, "CUSUM decision interval, in σ")
	force := f.fs.Bool("force", false, "list anomalies even when the baseline is not fit for alarms")
	active := f.fs.Bool("active", false, "the daemon's anomalies: only the active ones")
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.meterCSV == "" && f.device == "" {
		return daemonAnomalies(f.fs.Lookup("c").Value.String(), *active, f.json, stdout)
	}
	d, err := f.load()
	if err != nil {
		return err
	}
	var t [4]time.Time
	for i, p := range []struct{ name, v string }{{"baseline-from", *bFrom}, {"baseline-to", *bTo}, {"from", *from}, {"to", *to}} {
		if t[i], err = parseDay(p.name, p.v, d.loc); err != nil {
			return err
		}
	}
	if err := d.read(t[0], t[3]); err != nil {
		return err
	}
	opts := quality.DetectOptions{ResidualK: *k, ResidualN: *n, CUSUM: baseline.CUSUMOptions{K: *ck, H: *ch, Recover: 5},
		StillQuarters: quality.DefaultDetectOptions.StillQuarters, HourlyCUSUM: quality.DefaultDetectOptions.HourlyCUSUM}
	var m *baseline.Model
	var found []baseline.Anomaly
	var sigmaHour []float64
	if d.kind == baseline.KindHourly {
		// The daemon's recipe (energy/quality): σ per hour of the day,
		// CUSUM over daily sums that ends once the meter is back on its
		// baseline, the water leak checks.
		mon, err := quality.NewMonitor(d.meter, d.temps, d.fuel, d.loc, t[0], t[1], d.cal, opts)
		if err != nil {
			return fmt.Errorf("energy anomalies: baseline: %w", err)
		}
		m, sigmaHour = mon.Model, mon.SigmaHour[:]
		var quarters []baseline.Reading
		for _, r := range d.meter {
			if !r.Start.Before(t[2]) && r.Start.Before(t[3]) {
				quarters = append(quarters, r)
			}
		}
		hours := baseline.HourlyTable(d.meter, d.temps, d.fuel, d.loc, t[2], t[3])
		all := mon.Detect(hours, quarters)
		var pts []baseline.Point
		for _, h := range hours {
			pts = append(pts, baseline.Point{Start: h.Start, Actual: h.Usage, Predicted: m.Predict(h.Start, h.Temp), Sigma: mon.SigmaHour[h.Start.In(d.loc).Hour()]})
		}
		all = append(all, baseline.BaseLoad(pts, baseline.BaseLoadOptions{Location: d.loc, Weekends: true})...)
		for _, a := range all {
			// A leak is a leak: the water checks need no fit model.
			if m.FitForAlarms || *force || a.Kind == baseline.KindLeak || a.Kind == baseline.KindBurst {
				found = append(found, a)
			}
		}
	} else {
		if m, err = d.fit(t[0], t[1]); err != nil {
			return fmt.Errorf("energy anomalies: baseline: %w", err)
		}
		pts, heating := d.points(m, t[2], t[3])
		if m.FitForAlarms || *force {
			found = append(found, baseline.Residual(pts, *k, *n)...)
			found = append(found, baseline.CUSUM(pts, opts.CUSUM)...)
			if m.Kind != baseline.KindDaily {
				found = append(found, baseline.BaseLoad(pts, baseline.BaseLoadOptions{Location: d.loc, Weekends: true})...)
			}
			if d.fuel == baseline.Gas && m.Kind == baseline.KindDaily {
				found = append(found, baseline.GasOffSeason(pts, heating, *k, *n)...)
			}
		}
		if d.fuel == baseline.Water && m.Kind != baseline.KindDaily {
			found = append(found, baseline.WaterLeak(pts, baseline.LeakOptions{})...)
		}
	}
	// As in the daemon, an interval model unfit on sufficient data is
	// watched by the day through its daily fallback when that one passes
	// the monthly gate; the water leak checks stay on the hours.
	var interval *baseline.Model
	if fb := d.fallback(m, t[0], t[1]); fb != m {
		interval, m, sigmaHour = m, fb, nil
		found = slices.DeleteFunc(found, func(a baseline.Anomaly) bool { return a.Kind != baseline.KindLeak && a.Kind != baseline.KindBurst })
		days := *n
		if !flagSet(f.fs, "n") {
			days = 2 // the daemon's default for a daily model: two days in a row
		}
		pts, heating := d.points(m, t[2], t[3])
		found = append(found, baseline.Residual(pts, *k, days)...)
		found = append(found, baseline.CUSUM(pts, opts.CUSUM)...)
		if d.fuel == baseline.Gas {
			found = append(found, baseline.GasOffSeason(pts, heating, *k, days)...)
		}
	}
	if found == nil {
		found = []baseline.Anomaly{}
	}
	out := struct {
		Baseline  *baseline.Model    `json:"baseline"`
		Interval  *baseline.Model    `json:"interval_model,omitempty"`
		Checked   [2]time.Time       `json:"checked"`
		Sigma     float64            `json:"sigma"`
		SigmaHour []float64          `json:"sigma_hour,omitempty"`
		Anomalies []baseline.Anomaly `json:"anomalies"`
	}{m, interval, [2]time.Time{t[2], t[3]}, m.RMSE, sigmaHour, found}
	if f.json {
		return writeJSON(stdout, out)
	}
	printModel(stdout, m)
	if !m.FitForAlarms && !*force {
		fmt.Fprintln(stdout, "no anomalies are raised on a baseline not fit for alarms but the water leak checks (--force lists them anyway)")
	}
	for _, a := range found {
		fmt.Fprintf(stdout, "%-15s %s – %s  %4d intervals  excess %+.4g\n", a.Kind, a.Start.Format("2006-01-02 15:04"), a.End.Format("2006-01-02 15:04"), a.Intervals, a.Excess)
	}
	return nil
}

// points are the intervals of [from, to) with the model's predictions and
// its RMSE as σ, and for a daily model whether heating is expected.
func (d *energyData) points(m *baseline.Model, from, to time.Time) ([]baseline.Point, []bool) {
	var pts []baseline.Point
	var heating []bool
	if m.Kind == baseline.KindDaily {
		for _, day := range baseline.DailyTable(d.meter, d.temps, d.fuel, d.loc, from, to) {
			pts = append(pts, baseline.Point{Start: day.Date, Actual: day.Usage, Predicted: m.Predict(day.Date, day.Temp), Sigma: m.RMSE})
			heating = append(heating, !math.IsNaN(day.Temp) && m.HeatingExpected(day.Temp))
		}
		return pts, heating
	}
	for _, h := range baseline.HourlyTable(d.meter, d.temps, d.fuel, d.loc, from, to) {
		pts = append(pts, baseline.Point{Start: h.Start, Actual: h.Usage, Predicted: m.Predict(h.Start, h.Temp), Sigma: m.RMSE})
	}
	return pts, nil
}
