package rules

// Inherit takes over, from the engine of the previous config, what it
// learnt of the devices both watch: point values, the windows' samples,
// when data last came and whether the driver said the device answers. It
// is called on reload, before Restore, into an engine that has not
// evaluated yet, so that `avg(x, "5m")` still averages five minutes and
// `changes(x, "1h") == 0` does not fire because a reload emptied the
// window. Alert timers carry over through Restore, by fingerprint.
func (e *Engine) Inherit(old *Engine) {
	if old == nil || old.started.IsZero() {
		return
	}
	e.started, e.now = old.started, old.now
	for id, ds := range e.devices {
		prev := old.devices[id]
		if prev == nil {
			ds.lastData = old.now // watched from now on: the no-data clock starts here
			continue
		}
		ds.lastData, ds.up, ds.upKnown = prev.lastData, prev.up, prev.upKnown
		for k, v := range prev.env {
			if _, isPoint := ds.dev.Points[k]; isPoint {
				ds.env[k] = v // window variables are computed again at the next evaluation
			}
		}
		for point, s := range ds.series {
			if ps := prev.series[point]; ps != nil {
				s.inherit(ps)
			}
		}
	}
}

// inherit copies the samples of prev, keeping its own window length.
func (s *series) inherit(prev *series) {
	s.from, s.last, s.lastV = prev.from, prev.last, prev.lastV
	if s.keep <= 0 {
		return
	}
	if prev.keep <= 0 || prev.n == 0 {
		s.from = 0 // no samples were kept: the window starts now
		if prev.keep > 0 {
			s.from = prev.from // kept, and nothing came since then
		}
		return
	}
	s.ring = make([]point, max(8, 2*prev.n))
	for i := range prev.n {
		s.ring[i] = prev.at(i)
	}
	s.head, s.n = 0, prev.n
	if prev.keep < s.keep {
		// The old window kept less than this one needs: what it evicted is
		// gone, so the longer window has been seen only since its oldest.
		s.from = max(s.from, s.ring[0].t)
	}
}
