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
	Meter    string        `json:"meter"`
	Device   string        `json:"device"`
	Point    string        `json:"point"`
	Kind     baseline.Kind `json:"kind"`
	Window   string        `json:"window"`
	FittedAt time.Time     `json:"fitted_at"`
	// From and To are the training window asked for; the model has its own.
	From  time.Time       `json:"from"`
	To    time.Time       `json:"to"`
	Model *baseline.Model `json:"model,omitempty"`
	Error string          `json:"error,omitempty"`
	// SigmaHour, SigmaBlock and Still are quality.Monitor's, for an
	// hourly model.
	SigmaHour  []float64 `json:"sigma_hour,omitempty"`
	SigmaBlock []float64 `json:"sigma_block,omitempty"`
	Still      []int     `json:"still_quarters,omitempty"` // quarters of the week, Monday 00:00 = 0
}

// monitor rebuilds the hourly detectors of a stored hourly baseline with
// the options o.
func (b *storedBaseline) monitor(o quality.DetectOptions) *quality.Monitor {
	m := &quality.Monitor{Model: b.Model, Fuel: b.Model.Fuel, Opts: o}
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
