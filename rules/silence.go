package rules

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

// SilenceKind tells a silence made on the spot from a planned maintenance
// window. Both mute the same way; the kind is for people.
type SilenceKind string

// Silence kinds.
const (
	KindSilence     SilenceKind = "silence"
	KindMaintenance SilenceKind = "maintenance"
)

// Silence mutes the alerts its matchers select between StartsAt and EndsAt:
// they are still evaluated, recorded and listed, but receivers (tickets,
// notifiers) do not hear of them. A maintenance window is a silence planned
// ahead.
type Silence struct {
	ID        string      `json:"id"`
	Kind      SilenceKind `json:"kind"`
	Matchers  Matchers    `json:"matchers"`
	StartsAt  time.Time   `json:"starts_at"`
	EndsAt    time.Time   `json:"ends_at"`
	CreatedBy string      `json:"created_by"`
	CreatedAt time.Time   `json:"created_at"`
	Comment   string      `json:"comment"`
}

// Active reports whether the silence is in force at t.
func (s *Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// Validate checks a silence before it is stored.
func (s *Silence) Validate() error {
	var errs []error
	if len(s.Matchers) == 0 {
		errs = append(errs, errors.New("at least one matcher is required, e.g. device=\"pump-1\""))
	}
	if s.Kind != KindSilence && s.Kind != KindMaintenance {
		errs = append(errs, fmt.Errorf("kind %q: use silence or maintenance", s.Kind))
	}
	if s.StartsAt.IsZero() || s.EndsAt.IsZero() || !s.EndsAt.After(s.StartsAt) {
		errs = append(errs, errors.New("the end must come after the start"))
	}
	if s.Comment == "" {
		errs = append(errs, errors.New("a comment is required: say why, for the people who see muted alerts"))
	}
	return errors.Join(errs...)
}

// NewSilenceID returns a random identifier.
func NewSilenceID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// suppress works out, at ts, which silences and inhibit rules mute the
// given instances (all active ones on a tick). A source alert must be firing
// to inhibit; an alert never inhibits itself.
func (e *Engine) suppress(ts time.Time, targets []*instance) {
	if len(targets) == 0 {
		return
	}
	var sources [][]*instance // per inhibit rule, the firing alerts that match its source
	for _, ir := range e.inhibit {
		var src []*instance
		for _, in := range e.active {
			if in.state == Firing && ir.Source.Matches(in.labelSet()) {
				src = append(src, in)
			}
		}
		sources = append(sources, src)
	}
	var windows []*MaintenanceWindow // in force at ts
	for _, w := range e.windows {
		if w.Active(ts) {
			windows = append(windows, w)
		}
	}
	for _, in := range targets {
		in.silencedBy = nil
		for _, w := range windows {
			if w.Matchers.Matches(in.labelSet()) {
				in.silencedBy = append(in.silencedBy, w.ID())
			}
		}
		for i := range e.silences {
			s := &e.silences[i]
			if s.Active(ts) && s.Matchers.Matches(in.labelSet()) {
				in.silencedBy = append(in.silencedBy, s.ID)
			}
		}
		slices.Sort(in.silencedBy)
		in.inhibitor = ""
		for i, ir := range e.inhibit {
			if len(sources[i]) == 0 || !ir.Target.Matches(in.labelSet()) {
				continue
			}
			for _, src := range sources[i] {
				if src != in && equalLabels(ir.Equal, src.labelSet(), in.labelSet()) && (in.inhibitor == "" || src.fp < in.inhibitor) {
					in.inhibitor = src.fp
				}
			}
		}
	}
}

func equalLabels(names []string, a, b map[string]string) bool {
	for _, n := range names {
		if a[n] != b[n] {
			return false
		}
	}
	return true
}
