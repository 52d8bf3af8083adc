package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/yamlstrict"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
)

// history is what a replay reads: one field of every device of an
// equipment type over a time range, of any kind (text included).
// *store.Querier provides it.
type history interface {
	SeriesAny(ctx context.Context, sel store.Selector, start, stop time.Time) ([]store.AnySeries, error)
}

var _ history = (*store.Querier)(nil)

// cmdRulesReplay evaluates the rules of a config over InfluxDB history and
// prints what would have fired and when: for tuning thresholds before going
// live. Silences do not apply, and no ticket is touched.
func cmdRulesReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("rules replay", stderr)
	from := fs.String("from", "-24h", "start: RFC 3339 time, a date, or a duration before now such as -24h or -7d")
	to := fs.String("to", "now", "end: RFC 3339 time, a date, now, or a duration before now")
	step := fs.Duration("step", 10*time.Second, "how often timers are evaluated, as the daemon does every second")
	chunk := fs.Duration("chunk", time.Hour, "history is read this much at a time")
	all := fs.Bool("all", false, "print pending alerts too, not only firing and resolved")
	var only stringList
	fs.Var(&only, "rule", "print only this rule; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	now := time.Now()
	start, err1 := parseWhen(*from, now)
	end, err2 := parseWhen(*to, now)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("rules replay: %w", err)
	}
	if !start.Before(end) || *step <= 0 || *chunk < *step {
		return errors.New("rules replay: --from must come before --to, and --chunk must not be shorter than a positive --step")
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	var names []string
	for _, r := range cfg.Rules {
		names = append(names, r.Name)
	}
	var unknown []error
	for _, name := range only {
		if slices.Contains(names, name) {
			continue
		}
		unknown = append(unknown, fmt.Errorf("rules replay: --rule %q: no such rule in %s%s", name, *path, yamlstrict.DidYouMean(name, names)))
	}
	if len(unknown) > 0 {
		return errors.Join(unknown...)
	}
	q, err := store.NewQuerier(cfg.InfluxDB)
	if err != nil {
		return err
	}
	defer q.Close()
	rep, err := newReplay(cfg, q, stdout)
	if err != nil {
		return err
	}
	rep.all, rep.only = *all, only
	fmt.Fprintf(stdout, "replaying %d rules over %d devices from %s to %s\n", len(cfg.Rules), len(cfg.Devices),
		start.Format(time.RFC3339), end.Format(time.RFC3339))
	for c := start; c.Before(end); c = c.Add(*chunk) {
		stop := c.Add(*chunk)
		if stop.After(end) {
			stop = end
		}
		if err := rep.chunk(ctx, c, stop, *step); err != nil {
			return err
		}
	}
	rep.summary(end)
	return nil
}

// replay holds the engine and the tally of one replay.
type replay struct {
	engine  *rules.Engine
	h       history
	kinds   map[string]map[string]drivers.Kind // type → point → kind
	fetch   map[string][]string                // type → points to read
	out     io.Writer
	format  string // of a line, with the widths of the longest rule and subject
	all     bool
	only    []string
	firing  map[string]time.Time // fingerprint → since
	fired   map[string]int       // rule → times fired
	seconds map[string]float64   // rule → seconds firing
}

func newReplay(cfg *config.Config, h history, w io.Writer) (*replay, error) {
	devices := cfg.RuleDevices()
	e, err := rules.NewEngine(cfg.RuleSet(), devices, rules.Options{})
	if err != nil {
		return nil, err
	}
	r := &replay{engine: e, h: h, kinds: map[string]map[string]drivers.Kind{}, fetch: map[string][]string{},
		out: w, firing: map[string]time.Time{}, fired: map[string]int{}, seconds: map[string]float64{}}
	ruleW, subjW := len("RULE"), len("SUBJECT")
	for _, rl := range cfg.Rules {
		ruleW = max(ruleW, len(rl.Name))
	}
	for _, d := range devices {
		r.kinds[d.Type] = d.Points
		subjW = max(subjW, len(d.ID), len("gateway ")+len(d.Gateway))
	}
	r.format = fmt.Sprintf("%%-20s  %%-%ds  %%-%ds  %%-8s  %%-8s  %%8s  %%s\n", ruleW, subjW)
	for typ, points := range e.Reads() {
		r.fetch[typ] = append(r.fetch[typ], points...)
	}
	fmt.Fprintf(r.out, r.format, "TIME", "RULE", "SUBJECT", "STATE", "SEVERITY", "VALUE", "SUMMARY")
	return r, nil
}

// chunk reads [from, to) of history and evaluates it.
func (r *replay) chunk(ctx context.Context, from, to time.Time, step time.Duration) error {
	var samples []drivers.Sample
	add := func(measurement, field string, kind drivers.Kind) error {
		series, err := r.h.SeriesAny(ctx, store.Selector{Measurement: measurement, Field: field}, from, to)
		if err != nil {
			return err
		}
		for _, s := range series {
			for _, p := range s.Values {
				v, ok := sampleValue(p.Value, kind)
				if !ok {
					continue // a field whose kind changed with the profile
				}
				samples = append(samples, drivers.Sample{Time: p.Time, Device: s.Device, Measurement: measurement, Point: field, Value: v})
			}
		}
		return nil
	}
	for _, typ := range slices.Sorted(maps.Keys(r.fetch)) {
		for _, field := range r.fetch[typ] {
			if err := add(typ, field, r.kinds[typ][field]); err != nil {
				return err
			}
		}
	}
	if err := add(drivers.HealthMeasurement, drivers.HealthUp, drivers.KindBool); err != nil {
		return err
	}
	for _, t := range r.engine.Replay(samples, from, to, step) {
		r.record(t)
	}
	return nil
}

// sampleValue turns a value read back from InfluxDB into the kind of its
// point: text stays text, booleans may come back as 0 or 1, numbers are
// numbers. ok is false for a value that cannot be of that kind.
func sampleValue(v any, kind drivers.Kind) (drivers.Value, bool) {
	if kind == drivers.KindString {
		s, ok := v.(string)
		return drivers.String(s), ok
	}
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case int64:
		f = float64(v)
	case uint64:
		f = float64(v)
	case bool:
		if kind == drivers.KindBool {
			return drivers.Bool(v), true
		}
		if v {
			f = 1
		}
	default:
		return drivers.Value{}, false
	}
	if kind == drivers.KindBool {
		return drivers.Bool(f != 0), true
	}
	return drivers.Float(f), true
}

func (r *replay) record(t rules.Transition) {
	a := t.Alert
	switch {
	case t.To == rules.Firing && t.From != rules.Firing:
		r.fired[a.Rule]++
		r.firing[a.Fingerprint] = t.At
	case t.From == rules.Firing && t.To == rules.Resolved:
		r.seconds[a.Rule] += t.At.Sub(r.firing[a.Fingerprint]).Seconds()
		delete(r.firing, a.Fingerprint)
	}
	if t.From == t.To || len(r.only) > 0 && !slices.Contains(r.only, a.Rule) {
		return
	}
	if !r.all && t.To != rules.Firing && t.To != rules.Resolved {
		return
	}
	value := ""
	if !math.IsNaN(a.Value) {
		value = fmt.Sprintf("%.4g", a.Value)
	}
	fmt.Fprintf(r.out, r.format, t.At.Format(time.RFC3339), a.Rule, a.Subject(), t.To,
		a.Severity, value, a.Annotations["summary"])
}

// summary prints, per rule, how often it fired and how long it fired in all.
func (r *replay) summary(end time.Time) {
	for fp, since := range r.firing { // still firing at the end
		for _, a := range r.engine.Alerts() {
			if a.Fingerprint == fp {
				r.seconds[a.Rule] += end.Sub(since).Seconds()
			}
		}
	}
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "RULE\tFIRED\tFIRING FOR")
	for _, rule := range slices.Sorted(maps.Keys(r.fired)) {
		if len(r.only) > 0 && !slices.Contains(r.only, rule) {
			continue
		}
		d := time.Duration(r.seconds[rule] * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(tw, "%s\t%d\t%s\n", rule, r.fired[rule], d)
	}
	if len(r.fired) == 0 {
		fmt.Fprintln(tw, "(nothing fired)\t\t")
	}
	tw.Flush()
}
