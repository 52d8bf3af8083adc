package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/facilityd/facilityd/app"
	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/inspections"
	"github.com/facilityd/facilityd/inspections/report"
	"github.com/facilityd/facilityd/store"
	"github.com/facilityd/facilityd/tickets"
)

const inspectionsUsage = `facilityd inspections SUBCOMMAND -c FILE [options]

  list     [--due-within 30d] [--overdue] [--device ID]   plan × device pairs, soonest due first
  show     PLAN DEVICE                                     one pair with its history
  done     PLAN DEVICE [--at T] [--reading point=value]... -m NOTE
                                  work done outside facilityd (the paper log, a contractor's visit);
                                  without --reading the counters' latest values are read from InfluxDB
  skip     PLAN DEVICE -m REASON  skip this cycle (device out of service…)
  history  [--plan P] [--device ID] [--from T] [--to T]   every record, never deleted
  report   --from T --to T --format csv|html [-o FILE]    the regulator's record: due, done, who,
                                  on time or late, checklist answers; on-time rate per plan and category

Times are RFC 3339, YYYY-MM-DD (midnight in the config's timezone) or a duration before now such
as -7d. Every subcommand takes --json; changes are recorded as --actor (default $USER, else the OS user).
`

// inspectionEngine builds the plans' engine over st and makes it st's
// advancer, so that completions (and closing an inspection ticket) advance
// the plans as the daemon would.
func inspectionEngine(cfg *config.Config, st *tickets.Store) (*inspections.Engine, error) {
	if len(cfg.Inspections) == 0 {
		return nil, nil
	}
	e, err := inspections.New(cfg.Inspections, cfg.InspectionDevices(), st, nil)
	if err != nil {
		return nil, err
	}
	st.SetInspectionAdvancer(e.Advance)
	return e, nil
}

// readingsFlag collects repeated --reading point=value options.
type readingsFlag map[string]float64

func (r readingsFlag) String() string { return fmt.Sprint(map[string]float64(r)) }

func (r readingsFlag) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
	if !ok || name == "" || err != nil {
		return fmt.Errorf("want point=value, such as run_hours=2012.5, got %q", s)
	}
	r[strings.TrimSpace(name)] = v
	return nil
}

func cmdInspections(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, inspectionsUsage)
		if len(args) == 0 {
			return errors.New("inspections: want a subcommand")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs, path := flags("inspections "+sub, stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	actor := fs.String("actor", defaultActor(), "who did the work, for the record (default: the OS user)")
	note := fs.String("m", "", "note (done) or reason (skip)")
	device := fs.String("device", "", "only this device")
	plan := fs.String("plan", "", "only this plan")
	overdue := fs.Bool("overdue", false, "only overdue pairs")
	var dueWithin durationFlag
	fs.Var(&dueWithin, "due-within", "only pairs due within this span, such as 30d")
	at := fs.String("at", "", "when the work was done (default now)")
	from, to := fs.String("from", "", "start (history, report)"), fs.String("to", "", "end, exclusive (history, report)")
	format := fs.String("format", "html", "report: csv or html")
	out := fs.String("o", "", "report: write to this file (default stdout)")
	readings := readingsFlag{}
	fs.Var(readings, "reading", "a counter reading at completion, point=value (repeatable)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	// Work done before the daemon first ran may be recorded first.
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return err
	}
	st, err := tickets.Open(ctx, app.TicketsPath(cfg), cfg.Tickets, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	e, err := inspectionEngine(cfg, st)
	if err != nil {
		return err
	}
	if e == nil {
		return fmt.Errorf("inspections: %s has no inspection plans (inspection_files:, or inspections: in a rule file)", *path)
	}
	now := time.Now()
	when := func(name, s string) (time.Time, error) {
		t, err := parseWhen(s, now)
		if err != nil {
			return t, fmt.Errorf("inspections %s: --%s: %w", sub, name, err)
		}
		if len(s) == len("2006-01-02") {
			if d, err := time.ParseInLocation("2006-01-02", s, cfg.Zone); err == nil {
				t = d
			}
		}
		return t, nil
	}
	switch sub {
	case "list":
		states, err := st.InspectionStates(ctx, *device)
		if err != nil {
			return err
		}
		var keep []tickets.InspectionState
		for _, s := range states {
			due := s.Due()
			if e.Plan(s.Plan) == nil || (*plan != "" && s.Plan != *plan) || (*overdue && s.Status != tickets.InspectionOverdue) ||
				(dueWithin > 0 && (due.IsZero() || due.After(now.Add(time.Duration(dueWithin))))) {
				continue
			}
			keep = append(keep, s)
		}
		slices.SortStableFunc(keep, func(a, b tickets.InspectionState) int { return a.Due().Compare(b.Due()) })
		if *asJSON {
			if keep == nil {
				keep = []tickets.InspectionState{}
			}
			return writeJSON(stdout, keep)
		}
		return writeStates(stdout, e, keep, cfg.Zone)
	case "history":
		f := tickets.InspectionFilter{Plan: *plan, Device: *device}
		if *from != "" {
			if f.From, err = when("from", *from); err != nil {
				return err
			}
		}
		if *to != "" {
			if f.To, err = when("to", *to); err != nil {
				return err
			}
		}
		recs, err := st.InspectionHistory(ctx, f)
		if err != nil {
			return err
		}
		if *asJSON {
			if recs == nil {
				recs = []tickets.InspectionRecord{}
			}
			return writeJSON(stdout, recs)
		}
		return writeRecords(stdout, recs, cfg.Zone)
	case "report":
		if *from == "" || *to == "" {
			return errors.New("inspections report: want --from and --to")
		}
		r := &report.Report{Site: cfg.Site, Zone: cfg.Zone, Generated: now, Plans: map[string]report.Plan{}}
		if r.From, err = when("from", *from); err != nil {
			return err
		}
		if r.To, err = when("to", *to); err != nil {
			return err
		}
		for _, p := range cfg.Inspections {
			r.Plans[p.Name] = report.Plan{Title: p.Description, Category: p.Ticket.Category}
		}
		if r.Records, err = st.InspectionHistory(ctx, tickets.InspectionFilter{From: r.From, To: r.To}); err != nil {
			return err
		}
		w := stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		switch *format {
		case "csv":
			err = r.WriteCSV(w)
		case "html":
			err = r.WriteHTML(w)
		default:
			return fmt.Errorf("inspections report: --format: want csv or html, got %q", *format)
		}
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("inspections %s: want PLAN DEVICE\n\n%s", sub, inspectionsUsage)
	}
	planName, dev := pos[0], pos[1]
	p := e.Plan(planName)
	if p == nil {
		names := make([]string, 0, len(cfg.Inspections))
		for _, q := range cfg.Inspections {
			names = append(names, q.Name)
		}
		return fmt.Errorf("inspections %s: no plan %q (plans: %s)", sub, planName, strings.Join(names, ", "))
	}
	switch sub {
	case "show":
		states, err := st.InspectionStates(ctx, dev)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(states, func(s tickets.InspectionState) bool { return s.Plan == planName })
		if i < 0 {
			return fmt.Errorf("inspections show: %s on %s: not evaluated yet (the daemon evaluates plans every minute), or the plan does not match the device", planName, dev)
		}
		hist, err := st.InspectionHistory(ctx, tickets.InspectionFilter{Plan: planName, Device: dev})
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, map[string]any{"inspection": states[i], "history": hist})
		}
		if err := writeStates(stdout, e, states[i:i+1], cfg.Zone); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%s: %s\n\n", p.Description, p.Interval())
		return writeRecords(stdout, hist, cfg.Zone)
	case "done", "skip":
		if err := needActor("inspections "+sub, *actor); err != nil {
			return err
		}
		if strings.TrimSpace(*note) == "" {
			return fmt.Errorf("inspections %s: want -m %s", sub, map[string]string{"done": "NOTE (what was done, by whom)", "skip": "REASON (device out of service…)"}[sub])
		}
		c := tickets.Completion{Plan: planName, Device: dev, At: now, Actor: *actor, Note: *note, Skip: sub == "skip", Counters: readings}
		if *at != "" {
			if c.At, err = when("at", *at); err != nil {
				return err
			}
		}
		if sub == "done" && len(readings) == 0 && len(p.Counters) > 0 {
			c.Counters = latestCounters(ctx, cfg, dev, p, stdout)
		}
		recs, err := st.CompleteInspection(ctx, c)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, recs)
		}
		return writeRecords(stdout, recs, cfg.Zone)
	}
	return fmt.Errorf("inspections: unknown subcommand %q\n\n%s", sub, inspectionsUsage)
}

// latestCounters reads the plan's counters of dev from InfluxDB (their last
// value in the last day). It says so and returns what it has when InfluxDB
// cannot answer: the completion is recorded without those readings.
func latestCounters(ctx context.Context, cfg *config.Config, dev string, p *inspections.Plan, out io.Writer) map[string]float64 {
	got := map[string]float64{}
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err == nil {
		defer q.Close()
		conds := make([]string, len(p.Counters))
		for i, c := range p.Counters {
			conds[i] = "r._field == " + store.FluxString(c.Point)
		}
		flux := fmt.Sprintf(`from(bucket: %s) |> range(start: -1d) |> filter(fn: (r) => r[%q] == %s) |> filter(fn: (r) => %s) |> last()`,
			store.FluxString(q.Bucket()), store.DeviceTag, store.FluxString(dev), strings.Join(conds, " or "))
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err = q.QueryRows(cctx, flux, func(row map[string]any) error {
			field, _ := row["_field"].(string)
			switch v := row["_value"].(type) {
			case float64:
				got[field] = v
			case int64:
				got[field] = float64(v)
			}
			return nil
		})
	}
	var missing []string
	for _, c := range p.Counters {
		if _, ok := got[c.Point]; !ok {
			missing = append(missing, c.Point)
		}
	}
	if len(missing) > 0 {
		why := "no reading in the last day"
		if err != nil {
			why = err.Error()
		}
		fmt.Fprintf(out, "note: %s not read from InfluxDB (%s): recorded without; give --reading %s=VALUE to record it\n",
			strings.Join(missing, ", "), why, missing[0])
	}
	return got
}

func day(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02")
}

func writeStates(w io.Writer, e *inspections.Engine, states []tickets.InspectionState, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN\tDEVICE\tSTATUS\tDUE\tBY\tLAST DONE\tTICKET\tCOUNTERS DUE")
	for _, s := range states {
		ticket := "-"
		if s.TicketID != 0 {
			ticket = "#" + strconv.FormatInt(s.TicketID, 10)
		}
		var cs []string
		for _, k := range slices.Sorted(maps.Keys(s.NextCounters)) {
			cs = append(cs, k+"@"+strconv.FormatFloat(s.NextCounters[k], 'f', -1, 64))
		}
		by := s.DueBy
		if by == "" {
			by = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Plan, s.Device, s.Status, day(s.Due(), loc), by,
			day(s.LastDone, loc), ticket, strings.Join(cs, " "))
	}
	return tw.Flush()
}

func writeRecords(w io.Writer, recs []tickets.InspectionRecord, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tPLAN\tDEVICE\tKIND\tDUE\tON TIME\tBY\tNOTE")
	for _, r := range recs {
		onTime := "-"
		if r.Kind == tickets.RecordDone {
			onTime = map[bool]string{true: "yes", false: "late"}[r.OnTime]
		}
		n := r.Note
		if r.Via != "" {
			n = strings.TrimSpace(n + " (via " + r.Via + ")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At.In(loc).Format("2006-01-02 15:04"), r.Plan, r.Device, r.Kind,
			day(r.DueAt, loc), onTime, r.Actor, n)
	}
	return tw.Flush()
}
