package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/facilityd/facilityd/energy/baseline"
	"github.com/facilityd/facilityd/energy/quality"
)

// BaselinesFile is the energy baselines' store in the state dir.
//
// A JSON file rather than a table of the ticket database: a baseline is a
// few kilobytes per meter that only this daemon reads and writes, rewritten
// whole at each refit; it is derived from InfluxDB and can always be fitted
// again; baseline.Model already round-trips through JSON (Predict works on a
// decoded one); and the ticket database is moving to PostgreSQL, where a
// cache of models has no business. It is written to a temporary file and
// renamed, so a crash leaves the old one or the new one.
const BaselinesFile = "energy-baselines.json"

// storedBaseline is one meter's baseline with what the detectors need
// besides the model (quality.Monitor's σ and still quarters), and what it
// was fitted for, so that a changed config refits it.
type storedBaseline struct {
	// Format is the baselineFormat the baseline was fitted under; an
	// older one is fitted again.
	Format   int           `json:"format,omitempty"`
	Meter    string        `json:"meter"`
	Device   string        `json:"device"`
	Point    string        `json:"point"`
	Kind     baseline.Kind `json:"kind"`
	Window   string        `json:"window"`
	FittedAt time.Time     `json:"fitted_at"`
	// Calendar is energy.calendar when it was fitted: a changed one refits.
	Calendar *baseline.Calendar `json:"calendar,omitempty"`
	// From and To are the training window asked for; the model has its own.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Model is the model the detectors alarm on: the kind configured, or
	// a daily fallback (Model.Fallback) when that one failed its gate.
	Model *baseline.Model `json:"model,omitempty"`
	// Interval is the hourly or time-of-week model a daily fallback
	// replaced. It raises no alarm of its own, but the leak checks use it
	// (with Still): flow where the meter is still needs no fit model.
	Interval *baseline.Model `json:"interval_model,omitempty"`
	Error    string          `json:"error,omitempty"`
	// SigmaHour, SigmaBlock and Still are quality.Monitor's, for an
	// hourly model.
	SigmaHour  []float64 `json:"sigma_hour,omitempty"`
	SigmaBlock []float64 `json:"sigma_block,omitempty"`
	Still      []int     `json:"still_quarters,omitempty"` // quarters of the week, Monday 00:00 = 0
}

// baselineFormat is the format baselines are fitted under now: 2 since an
// hourly or time-of-week model that fails its gate gets a daily fallback.
const baselineFormat = 2

// intervalModel is the baseline's hourly or time-of-week model, fit for
// alarms or not, or nil.
func (b *storedBaseline) intervalModel() *baseline.Model {
	switch {
	case b == nil:
		return nil
	case b.Interval != nil:
		return b.Interval
	case b.Model != nil && b.Model.Kind != baseline.KindDaily:
		return b.Model
	}
	return nil
}

// fitOn fits the baseline of b.Kind on a meter's readings over [b.From,
// b.To): for an hourly model the detectors' σ and still quarters too
// (quality.Monitor). An hourly or time-of-week model that fails the
// Guideline 14 hourly gate (its data sufficient) is replaced by the daily
// fallback when that one passes the monthly gate, so that the residual
// and CUSUM checks watch the meter by the day; it is kept as Interval for
// the leak checks. When the fallback fails too, the interval model stays,
// unfit, with the fallback's reasons added to its own.
//
// The calendar (b.Calendar: holidays, make-up working days) is the day-of-
// week terms' of every model but CalTRACK's daily one, which has none.
func (b *storedBaseline) fitOn(readings []baseline.Reading, temps []baseline.TempReading, fuel baseline.Fuel, loc *time.Location) error {
	opts := baseline.DailyOptions{Fuel: fuel, TempUnit: baseline.Celsius, Calendar: b.Calendar}
	var err error
	switch b.Kind {
	case baseline.KindDaily:
		b.Model, err = baseline.FitDaily(readings, temps, loc, b.From, b.To, opts)
		return err
	case baseline.KindTOW:
		b.Model, err = baseline.FitTOW(readings, fuel, loc, b.From, b.To, b.Calendar)
		temps = nil // a time-of-week meter has no weather
	default:
		var mon *quality.Monitor
		mon, err = quality.NewMonitor(readings, temps, fuel, loc, b.From, b.To, b.Calendar, quality.DefaultDetectOptions)
		if err == nil {
			b.fromMonitor(mon)
		}
	}
	if err != nil || b.Model.FitForAlarms || b.Model.Sufficiency != nil && !b.Model.Sufficiency.Sufficient {
		return err
	}
	daily, err := baseline.FitDailyFallback(b.Model, readings, temps, loc, b.From, b.To, opts)
	if err != nil {
		b.Model.Reasons = append(b.Model.Reasons, "no daily fallback: "+err.Error())
		return nil
	}
	if !daily.FitForAlarms {
		for _, why := range daily.Reasons {
			b.Model.Reasons = append(b.Model.Reasons, "daily fallback ("+daily.Model+") unfit too: "+why)
		}
		return nil
	}
	b.Interval, b.Model = b.Model, daily
	return nil
}

// monitor rebuilds the hourly detectors of a stored hourly baseline with
// the options o, on its interval model.
func (b *storedBaseline) monitor(o quality.DetectOptions) *quality.Monitor {
	im := b.intervalModel()
	m := &quality.Monitor{Model: im, Fuel: im.Fuel, Opts: o}
	copy(m.SigmaHour[:], b.SigmaHour)
	copy(m.SigmaBlock[:], b.SigmaBlock)
	for _, q := range b.Still {
		if q >= 0 && q < len(m.Still) {
			m.Still[q] = true
		}
	}
	return m
}

// fromMonitor keeps what a monitor learned besides its model.
func (b *storedBaseline) fromMonitor(m *quality.Monitor) {
	b.Model = m.Model
	b.SigmaHour = append([]float64(nil), m.SigmaHour[:]...)
	b.SigmaBlock = append([]float64(nil), m.SigmaBlock[:]...)
	b.Still = nil
	for q, still := range m.Still {
		if still {
			b.Still = append(b.Still, q)
		}
	}
}

// baselineStore holds the baselines in memory and in the file.
type baselineStore struct {
	path string
	mu   sync.RWMutex
	all  map[string]*storedBaseline // by meter id
}

// openBaselines reads the store; a missing file is an empty store, an
// unreadable one is set aside (the baselines are fitted again).
func openBaselines(dir string) (*baselineStore, error) {
	s := &baselineStore{path: filepath.Join(dir, BaselinesFile), all: map[string]*storedBaseline{}}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	var file struct {
		Baselines []*storedBaseline `json:"baselines"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		os.Rename(s.path, s.path+".unreadable")
		return s, fmt.Errorf("%s: %w (set aside as .unreadable; the baselines are fitted again)", s.path, err)
	}
	for _, b := range file.Baselines {
		if b != nil && b.Meter != "" {
			s.all[b.Meter] = b
		}
	}
	return s, nil
}

func (s *baselineStore) get(meter string) *storedBaseline {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.all[meter]
}

// put stores baselines and writes the file.
func (s *baselineStore) put(bs ...*storedBaseline) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bs {
		s.all[b.Meter] = b
	}
	list := make([]*storedBaseline, 0, len(s.all))
	for _, b := range s.all {
		list = append(list, b)
	}
	data, err := json.MarshalIndent(map[string]any{"baselines": sortedBaselines(list)}, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

func sortedBaselines(list []*storedBaseline) []*storedBaseline {
	slices.SortFunc(list, func(x, y *storedBaseline) int { return strings.Compare(x.Meter, y.Meter) })
	return list
}
