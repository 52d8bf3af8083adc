package rules

import (
	"math"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Energy anomalies are rules of kind energy in rule files, with match,
// severity, annotations and ticket like any rule, and a detector with its
// thresholds:
//
//	- name: electricity_overuse
//	  kind: energy
//	  match: {tags: {category: electricity}}
//	  detector: residual        # residual, cusum, baseload, leak or gas_off_season
//	  k: 3                      # σ (residual, cusum's allowance, baseload)
//	  n: 3                      # intervals in a row (residual)
//	  h: 5                      # cusum's decision interval, in σ
//	  ticket: {priority: P3, category: energy}
//
// The engine does not detect anything itself: the daemon runs the detector
// on each meter the rule matches against the meter's baseline, once an hour,
// and reports the outcome as two samples of EnergyMeasurement on the meter's
// device: point <rule> with the text "anomaly" or "normal" (or "unfit": a
// baseline that fails the Guideline 14 gate, which raises nothing), and
// point <rule>_excess with the excess so far, in the meter's unit. The alert
// fires while the status is anomaly, carries the excess as its value (and
// in annotations as {{ .Value }}), is announced again as the excess grows —
// its ticket counts an occurrence each time — and resolves when the meter
// is back on its baseline.

// KindEnergy is the kind of energy anomaly rules.
const KindEnergy Kind = "energy"

// EnergyMeasurement is the measurement of the samples in which the daemon
// reports an energy rule's outcome on a meter's device.
const EnergyMeasurement = "energy_anomaly"

// EnergyExcessSuffix ends the point of the excess sample: <rule>_excess.
const EnergyExcessSuffix = "_excess"

// Energy rule statuses, the text of the status sample.
const (
	EnergyAnomaly = "anomaly"
	EnergyNormal  = "normal"
	EnergyUnfit   = "unfit" // the baseline is not fit for alarms
)

// Detector is what an energy rule looks for.
type Detector string

// Detectors.
const (
	// DetectResidual: hourly residuals beyond k·σ (σ per hour of day) for n
	// hours in a row, above the baseline.
	DetectResidual Detector = "residual"
	// DetectCUSUM: Page's tabular CUSUM on standardized daily residual
	// sums (allowance k, decision interval h), for slow drift upwards.
	DetectCUSUM Detector = "cusum"
	// DetectBaseLoad: the night and weekend minimum above the baseline's.
	DetectBaseLoad Detector = "baseload"
	// DetectLeak: water flow in hours the baseline year was always still,
	// or no still hour in 24 h. It needs no fit model: a leak is a leak.
	DetectLeak Detector = "leak"
	// DetectGasOffSeason: gas above the baseline while a daily model
	// expects no heating.
	DetectGasOffSeason Detector = "gas_off_season"
)

var detectors = []Detector{DetectResidual, DetectCUSUM, DetectBaseLoad, DetectLeak, DetectGasOffSeason}

// Detectors lists the detectors an energy rule may name.
var Detectors = names(detectors)

// EnergySpec is an energy rule's detector and thresholds; zero thresholds
// take the detector's defaults (k 3 for residual, 0.5 for cusum; n 3; h 5).
type EnergySpec struct {
	Detector Detector
	K        float64
	N        int
	H        float64
}

const energyCode kindCode = 102

var energyFields = []string{"detector", "k", "n", "h"}

// energyField parses one of energyFields into r.Energy.
func (p *parser) energyField(key string, v *yaml.Node, r *Rule) {
	if r.Energy == nil {
		r.Energy = &EnergySpec{}
	}
	switch key {
	case "detector":
		r.Energy.Detector = enum(p, v, "detector", detectors...)
	case "k":
		r.Energy.K = p.positive(v, "k")
	case "h":
		r.Energy.H = p.positive(v, "h")
	case "n":
		r.Energy.N = p.integer(v, "n")
	}
}

func (p *parser) positive(n *yaml.Node, what string) float64 {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0
	}
	var f float64
	if err := n.Decode(&f); err != nil || !(f > 0) || math.IsInf(f, 0) {
		p.BadValue(n, what, s, "a number above 0")
		return 0
	}
	return f
}

// energySemantics checks an energy rule: a detector, and no expressions;
// and that other kinds do not name a detector.
func (p *parser) energySemantics(r *Rule, malformed bool, add func(field, format string, args ...any)) {
	if r.Kind != KindEnergy {
		for _, f := range energyFields {
			if _, ok := r.pos[f]; ok {
				add(f, "%s is for energy rules (kind: energy)", f)
			}
		}
		return
	}
	for _, f := range []string{"expr", "clear", "value", "after"} {
		if _, ok := r.pos[f]; ok {
			add(f, "energy rules take no %s: the detector decides, and the value is the excess", f)
		}
	}
	if (r.Energy == nil || r.Energy.Detector == "") && !malformed {
		add("", "detector is required for kind energy (%s)", yamlstrict.OrList(Detectors))
	}
}

// addEnergy adds the energy rules that match a device.
func (e *Engine) addEnergy(ds *deviceState, rules []*Rule) {
	for _, r := range rules {
		if r.Kind != KindEnergy || r.malformed || !r.Match.Matches(ds.dev) {
			continue
		}
		in := &instance{rule: r, dev: ds, expr: &program{}}
		e.add(in)
		in.kind = energyCode
	}
}

// energyStatus is an energy rule's last outcome on a device.
type energyStatus struct {
	status string
	excess float64
}

// observeEnergy records an energy rule's outcome from the daemon.
func (ds *deviceState) observeEnergy(s *drivers.Sample) {
	if ds.energy == nil {
		ds.energy = map[string]*energyStatus{}
	}
	name, excess := s.Point, false
	if n := len(s.Point) - len(EnergyExcessSuffix); n > 0 && s.Point[n:] == EnergyExcessSuffix && s.Value.Kind != drivers.KindString {
		name, excess = s.Point[:n], true
	}
	st := ds.energy[name]
	if st == nil {
		st = &energyStatus{excess: math.NaN()}
		ds.energy[name] = st
	}
	switch {
	case excess:
		st.excess = s.Value.Float64()
	case s.Value.Kind == drivers.KindString:
		st.status = s.Value.S
	}
	ds.energized = true
}

// stepEnergy evaluates a device's energy alerts after a status sample. A
// firing alert whose excess changed is announced again (Firing → Firing),
// so that its ticket records the excess so far as an occurrence.
func (e *Engine) stepEnergy(ds *deviceState, ts time.Time) {
	if !ds.energized {
		return
	}
	ds.energized = false
	for _, in := range ds.instances {
		if in.kind != energyCode {
			continue
		}
		st, ok := ds.energy[in.rule.Name]
		if !ok || st.status == "" {
			continue
		}
		before, was := in.value0, in.state
		e.advance(in, ts, st.status == EnergyAnomaly, true)
		if was == Firing && in.state == Firing && st.excess != before && !(math.IsNaN(before) && math.IsNaN(st.excess)) {
			e.capture(in, ts)
			if in.notified {
				e.out = append(e.out, Transition{From: Firing, To: Firing, At: ts, Notify: true})
				e.out[len(e.out)-1].Alert.Fingerprint = in.fp
			}
		}
	}
}
