package usage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Flux is what the engine needs of InfluxDB: a bucket and a way to run a
// query and read its rows. *store.Querier has both.
type Flux interface {
	Bucket() string
	QueryRows(ctx context.Context, query string, fn func(row map[string]any) error) error
}

// Query selects meters and a range. Empty filters select every meter.
type Query struct {
	// Meters are meter ids; a meter's sub-meters are read too, for its
	// remainder, but listed only when selected.
	Meters   []string
	Category Category
	Building string
	Site     string
	// From and To bound the range; they are moved out to whole slots.
	From, To time.Time
	Interval Interval
	// Zone holds the slots' calendar: days and months start at local
	// midnight. Nil means UTC.
	Zone *time.Location
}

// Report is the consumption of the selected meters, and their groups.
type Report struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Interval Interval  `json:"interval"`
	Zone     string    `json:"zone"`
	Meters   []Usage   `json:"meters"`
	Groups   []Group   `json:"groups"`
	// Warnings say what the figures cannot be trusted for: negative
	// remainders.
	Warnings []string `json:"warnings"`
	// FromRollup is true when the whole range was read from the rollup's
	// rows (see rollup.go), none of it from the readings.
	FromRollup bool `json:"from_rollup"`
	// ReadsRollup is true when the engine reads the rollup (UseRollup).
	ReadsRollup bool `json:"-"`
}

// Engine computes consumption in InfluxDB. It is safe for concurrent use.
type Engine struct {
	src    Flux
	ql     InfluxQL // nil with the Flux backend
	err    error    // the backend cannot run: every Consumption fails with it
	meters []*Meter
	rollup bool // read the rollup's rows where they cover a range (UseRollup)
}

// fluxBatch and influxQLBatch bound the meters of one query (Flux 0.65 takes
// ~0.1 s a meter for a month of days, and the store's client gives up after
// 10 s; InfluxQL takes a few ms a meter, and a batch's text grows with its
// devices), and parallel the queries run at once: two keep both cores of a
// small box busy without starving ingest.
const (
	fluxBatch     = 25
	influxQLBatch = 50
	parallel      = 2
)

// NewEngine returns an engine over the meters of cfg, which Resolve has
// checked, querying src in cfg.Query's language: with InfluxQL (the
// default), src must also be an InfluxQL, as *store.Querier is, or every
// Consumption fails saying so.
func NewEngine(src Flux, cfg *Config) *Engine {
	e := &Engine{src: src, meters: slices.Clone(cfg.Meters)}
	switch cfg.Query {
	case "", InfluxQLBackend:
		if ql, ok := src.(InfluxQL); ok {
			e.ql = ql
		} else {
			e.err = fmt.Errorf("energy: query influxql: the source %T cannot run InfluxQL; write query: flux", src)
		}
	case FluxBackend:
	default:
		e.err = fmt.Errorf("energy: unknown query %q: write influxql or flux", cfg.Query)
	}
	return e
}

// Backend returns the language the engine queries in.
func (e *Engine) Backend() Backend {
	if e.ql != nil {
		return InfluxQLBackend
	}
	return FluxBackend
}

// Meters returns the engine's meters.
func (e *Engine) Meters() []*Meter { return slices.Clone(e.meters) }

// Consumption computes the consumption of the meters q selects over q's
// range, slot by slot, with their events, remainders and groups.
func (e *Engine) Consumption(ctx context.Context, q Query) (*Report, error) {
	if e.err != nil {
		return nil, e.err
	}
	loc := q.Zone
	if loc == nil {
		loc = time.UTC
	}
	g, err := newGrid(q.From, q.To, q.Interval, loc)
	if err != nil {
		return nil, badQuery(err)
	}
	selected, read, err := e.selectMeters(q)
	if err != nil {
		return nil, badQuery(err)
	}
	byMeter, rolled, err := e.run(ctx, g, read)
	if err != nil {
		return nil, err
	}
	all := make([]Usage, len(read))
	for i, m := range read {
		all[i] = byMeter[m.ID]
	}
	rep := &Report{From: g.start(), To: g.stop(), Interval: q.Interval, Zone: loc.String(), Meters: []Usage{}, Warnings: []string{}, FromRollup: rolled, ReadsRollup: e.rollup}
	rep.Warnings = append(rep.Warnings, remainders(all)...)
	for _, u := range all {
		if selected[u.Meter] {
			rep.Meters = append(rep.Meters, u)
		}
	}
	rep.Groups = groups(rep.Meters)
	return rep, nil
}

// selectMeters returns the ids q selects and the meters to read: those and
// their sub-meters.
func (e *Engine) selectMeters(q Query) (map[string]bool, []*Meter, error) {
	selected := map[string]bool{}
	known := map[string]bool{}
	for _, m := range e.meters {
		known[m.ID] = true
		if (len(q.Meters) == 0 || slices.Contains(q.Meters, m.ID)) &&
			(q.Category == "" || q.Category == m.Category) &&
			(q.Building == "" || q.Building == m.Building) &&
			(q.Site == "" || q.Site == m.Site) {
			selected[m.ID] = true
		}
	}
	for _, id := range q.Meters {
		if !known[id] {
			return nil, nil, fmt.Errorf("unknown meter %q", id)
		}
	}
	var read []*Meter
	for _, m := range e.meters {
		if selected[m.ID] || selected[m.Parent] {
			read = append(read, m)
		}
	}
	return selected, read, nil
}

// run queries InfluxDB for the meters, a batch per measurement, point and
// kind, and assembles their usage; rolled reports whether the rollup held
// all of it.
func (e *Engine) run(ctx context.Context, g *grid, meters []*Meter) (out map[string]Usage, rolled bool, err error) {
	out = make(map[string]Usage, len(meters))
	rolled = e.rollup && len(meters) > 0
	var mu sync.Mutex
	err = e.eachBatch(ctx, meters, func(b batch) error {
		var got map[string]series
		var err error
		whole := false
		if e.rollup && quarterAligned(g.start()) && quarterAligned(g.stop()) {
			got, whole, err = e.seriesWithRollup(ctx, b, g)
		} else {
			got, err = e.query(ctx, b, g)
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		rolled = rolled && whole
		for _, m := range b.meters {
			out[m.ID] = assemble(m, g, got[m.Device])
		}
		return nil
	})
	return out, rolled, err
}

// eachBatch runs fn for the batches of meters, parallel at once, and joins
// their errors, each named by its measurement and point.
func (e *Engine) eachBatch(ctx context.Context, meters []*Meter, fn func(b batch) error) error {
	size := fluxBatch
	if e.ql != nil {
		size = influxQLBatch
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, parallel)
	)
	for _, b := range makeBatches(meters, size) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := fn(b); err != nil {
				mu.Lock()
				errs = append(errs, sourceError(fmt.Errorf("consumption of %s.%s: %w", b.measurement, b.point, err)))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// query reads the series of the batch's devices over g from the readings.
func (e *Engine) query(ctx context.Context, b batch, g *grid) (map[string]series, error) {
	if e.ql != nil {
		return b.queryInfluxQL(ctx, e.ql, g)
	}
	rs := newRows(b)
	if err := e.src.QueryRows(ctx, b.query(e.src.Bucket(), g), rs.add); err != nil {
		return nil, err
	}
	return rs.series(), nil
}

// makeBatches groups meters that one query can read: same site,
// measurement, point, kind, max gap and poll interval (InfluxQL's count
// leaves out the windows of the expected count), each device once, at most
// size. A meter with a site reads only its site's series: on a bucket that
// many sites share, each site has its own meter-1.
func makeBatches(meters []*Meter, size int) []batch {
	type key struct {
		site, measurement, point string
		power                    bool
		maxGap, poll             time.Duration
	}
	sorted := slices.Clone(meters)
	slices.SortStableFunc(sorted, func(a, b *Meter) int {
		return cmp.Or(cmp.Compare(a.Site, b.Site), cmp.Compare(a.Measurement, b.Measurement), cmp.Compare(a.Point(), b.Point()),
			cmp.Compare(a.Power, b.Power), cmp.Compare(a.maxGap(), b.maxGap()), cmp.Compare(a.PollInterval, b.PollInterval))
	})
	var out []batch
	var cur key
	devices := map[string]bool{}
	for _, m := range sorted {
		k := key{m.Site, m.Measurement, m.Point(), m.Power != "", m.maxGap(), max(m.PollInterval, 0)}
		if len(out) == 0 || k != cur || devices[m.Device] || len(out[len(out)-1].meters) == size {
			out = append(out, batch{site: k.site, measurement: k.measurement, point: k.point, power: k.power, maxGap: k.maxGap, poll: k.poll})
			cur, devices = k, map[string]bool{}
		}
		devices[m.Device] = true
		out[len(out)-1].meters = append(out[len(out)-1].meters, m)
	}
	return out
}
