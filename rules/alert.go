package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// State is where an alert is in its life: inactive → pending → firing →
// resolved. A resolved alert is listed for a while, then inactive again; if
// its condition returns first it goes back to pending.
type State uint8

// Alert states.
const (
	Inactive State = iota
	Pending
	Firing
	Resolved
)

// String returns inactive, pending, firing or resolved.
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Firing:
		return "firing"
	case Resolved:
		return "resolved"
	}
	return "inactive"
}

// ParseState parses what String returns.
func ParseState(s string) (State, error) {
	for st := Inactive; st <= Resolved; st++ {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown alert state %q: use inactive, pending, firing or resolved", s)
}

// Alert is the current state of one rule on one device (or gateway).
type Alert struct {
	// Fingerprint identifies the alert: rule, subject and rule labels.
	Fingerprint string
	Rule        string
	Group       string
	Kind        Kind
	// Device is the device the alert is about; empty for a gateway alert.
	Device   string
	Gateway  string
	Type     string
	Location string
	Severity Severity
	State    State
	// ActiveAt is when the condition started to hold, FiredAt when the
	// alert fired and ResolvedAt when it resolved (zero until then).
	ActiveAt   time.Time
	FiredAt    time.Time
	ResolvedAt time.Time
	// Value is the alert's value when it last changed state (NaN if none).
	Value float64
	// Labels identify the alert for silences and inhibit rules: rule,
	// device, type, gateway, severity, the device's tags and the rule's labels.
	Labels      map[string]string
	Annotations map[string]string
	Ticket      *TicketSpec
	// Values are the device's point values when the alert last changed state.
	Values map[string]any
	// Flapping is set while the alert fires and resolves too often; it then
	// resolves only after its condition stayed false for the flap window.
	Flapping bool
	// SilencedBy lists the silences and maintenance windows that mute the
	// alert; InhibitedBy is the fingerprint of the alert inhibiting it.
	SilencedBy  []string
	InhibitedBy string
}

// Subject names what the alert is about: the device, or "gateway ADDRESS".
func (a *Alert) Subject() string {
	if a.Device != "" {
		return a.Device
	}
	return "gateway " + a.Gateway
}

// Suppressed reports whether a silence or an inhibit rule mutes the alert.
func (a *Alert) Suppressed() bool { return len(a.SilencedBy) > 0 || a.InhibitedBy != "" }

// Transition is a change of an alert's state, or (From == To == Firing) a
// firing alert that receivers must now hear of: its silence ended, its
// inhibitor resolved, or it was restored after a restart.
type Transition struct {
	Alert    Alert
	From, To State
	At       time.Time
	// Notify tells receivers (tickets, notifiers) to act on the transition:
	// set for a firing alert that is not silenced or inhibited, and for the
	// resolution of an alert they were told of. Alerts are recorded either way.
	Notify bool
	// Restored marks a firing alert announced again after a restart.
	Restored bool
	// Removed marks the resolution of a firing alert whose rule or device
	// the new config no longer has (see Restore): Alert then holds only
	// the fingerprint, rule and subject, and no ticket spec.
	Removed bool
}

// Resolved reports whether the transition is a firing alert resolving.
func (t Transition) Resolved() bool { return t.To == Resolved }

// Fingerprint identifies an alert by rule, subject and labels — never by value.
func Fingerprint(rule, subject string, labels map[string]string) string {
	var b strings.Builder
	b.WriteString(rule)
	b.WriteByte(0)
	b.WriteString(subject)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(labels[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// alertLabels returns the labels of an alert of r on d (nil d: on gateway).
func alertLabels(r *Rule, d *Device, gateway string) map[string]string {
	out := map[string]string{}
	if d != nil {
		maps.Copy(out, d.Tags)
	}
	maps.Copy(out, r.Labels)
	out["rule"] = r.Name
	out["severity"] = string(r.Severity)
	if d != nil {
		out["device"] = d.ID
		out["type"] = d.Type
		gateway = d.Gateway
	}
	if gateway != "" {
		out["gateway"] = gateway
	}
	return out
}
