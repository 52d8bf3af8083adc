package rules

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// SnapshotVersion is the version of the Snapshot format.
const SnapshotVersion = 1

// Snapshot is the alert state worth keeping across a restart or reload:
// every alert that is not inactive, with its timers.
type Snapshot struct {
	Version int `json:"version"`
	// SavedAt is the engine's time when the snapshot was taken: the newest
	// time it evaluated at. Restore counts the time since as downtime.
	SavedAt time.Time    `json:"saved_at"`
	Alerts  []SavedAlert `json:"alerts"`
}

// SavedAlert is one alert in a Snapshot, keyed by fingerprint.
type SavedAlert struct {
	Fingerprint string      `json:"fingerprint"`
	Rule        string      `json:"rule"`
	Subject     string      `json:"subject"`
	State       string      `json:"state"`
	ActiveAt    time.Time   `json:"active_at"`
	ForStart    time.Time   `json:"for_start"`
	FiredAt     time.Time   `json:"fired_at,omitzero"`
	LastTrue    time.Time   `json:"last_true,omitzero"`
	ResolvedAt  time.Time   `json:"resolved_at,omitzero"`
	Fires       []time.Time `json:"fires,omitempty"`
	Flapping    bool        `json:"flapping,omitempty"`
	Notified    bool        `json:"notified"`
}

// Snapshot returns the state of every alert that is not inactive.
func (e *Engine) Snapshot() Snapshot {
	s := Snapshot{Version: SnapshotVersion, SavedAt: e.now}
	for _, idx := range slices.Sorted(maps.Keys(e.active)) {
		in := e.active[idx]
		a := e.alert(in)
		s.Alerts = append(s.Alerts, SavedAlert{
			Fingerprint: in.fp, Rule: in.rule.Name, Subject: a.Subject(), State: in.state.String(),
			ActiveAt: in.activeAt, ForStart: in.forStart, FiredAt: in.firedAt, LastTrue: in.lastTrue,
			ResolvedAt: in.resolvedAt, Fires: slices.Clone(in.fires), Flapping: in.flap, Notified: in.notified,
		})
	}
	return s
}

// Restore takes over the alerts of a snapshot at now, into an engine that
// has not evaluated yet. The time between the snapshot and now is downtime,
// and downtime does not count: pending timers and keep_firing_for resume
// where they stopped, so a `for: 10m` alert pending 4 minutes before a
// restart fires 6 minutes after it (ActiveAt keeps the real start), and the
// no-data clocks of offline rules start again at now.
// Alerts whose rule or device is gone are dropped (their count is
// returned); those that were firing, with receivers told, resolve at now
// (a transition with Removed set), so that their tickets record it.
//
// The returned transitions list the alerts that were firing (Restored set).
// Notify is set, unless the alert is muted, for those receivers never heard
// of (the announcement was lost to a crash) and, with reannounce, for all:
// receivers are idempotent by fingerprint, so a firing alert whose ticket
// is open adds an occurrence, never a second ticket. The daemon reannounces
// at start, not on reload.
func (e *Engine) Restore(s Snapshot, now time.Time, reannounce bool) (ts []Transition, dropped int) {
	e.begin(now)
	downtime := max(now.Sub(s.SavedAt), 0)
	if s.SavedAt.IsZero() {
		downtime = 0
	}
	shift := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.Add(downtime)
	}
	e.out = nil
	heard := map[string]bool{}
	var removed []Transition
	for _, sa := range s.Alerts {
		in := e.byFP[sa.Fingerprint]
		st, err := ParseState(sa.State)
		if in == nil || err != nil || st == Inactive {
			dropped++
			if in == nil && st == Firing && sa.Notified {
				removed = append(removed, removedAlert(sa, now))
			}
			continue
		}
		in.state, in.activeAt, in.firedAt, in.resolvedAt = st, sa.ActiveAt, sa.FiredAt, sa.ResolvedAt
		in.forStart, in.lastTrue = shift(sa.ForStart), shift(sa.LastTrue)
		if in.forStart.IsZero() {
			in.forStart = shift(sa.ActiveAt)
		}
		in.fires = nil
		for _, f := range sa.Fires {
			in.fires = append(in.fires, shift(f))
		}
		in.notified, in.flap = sa.Notified, sa.Flapping && st == Firing
		heard[in.fp] = sa.Notified && !reannounce
		e.active[in.index] = in
		if st == Firing {
			in.notified = false // announced again below, if not muted
			e.capture(in, now)
			e.out = append(e.out, Transition{From: Firing, To: Firing, At: now, Restored: true})
			e.out[len(e.out)-1].Alert.Fingerprint = in.fp
		}
	}
	e.finish(now, false)
	for i := range e.out {
		if t := &e.out[i]; heard[t.Alert.Fingerprint] {
			t.Notify = false
			e.byFP[t.Alert.Fingerprint].notified = true
		}
	}
	return append(e.out, removed...), dropped
}

// removedAlert is the resolution of a saved firing alert whose rule or
// device is gone.
func removedAlert(sa SavedAlert, now time.Time) Transition {
	a := Alert{Fingerprint: sa.Fingerprint, Rule: sa.Rule, State: Resolved, FiredAt: sa.FiredAt, ResolvedAt: now,
		Value: nan, Annotations: map[string]string{"summary": "rule or device removed from the config"}}
	if gw, ok := strings.CutPrefix(sa.Subject, "gateway "); ok {
		a.Gateway = gw
	} else {
		a.Device = sa.Subject
	}
	return Transition{Alert: a, From: Firing, To: Resolved, At: now, Notify: true, Removed: true}
}
