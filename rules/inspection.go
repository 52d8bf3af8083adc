package rules

import (
	"fmt"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// Preventive maintenance that falls due is an alert like any other: it is
// listed, silenced, inhibited and published as alerts are. The inspections
// engine decides when a plan × device is due; it reports the status as a
// sample (InspectionMeasurement, point = plan, text value = status), and for
// every plan of the set the engine has two built-in alerts on each device
// the plan matches:
//
//   - inspection_due (minor) fires while the status is due or overdue;
//   - inspection_overdue (major) fires while it is overdue.
//
// Both carry the label plan and no ticket spec: the inspection's own ticket
// opened at its lead, and an overdue one escalates on that ticket.

// KindInspection is the kind of the built-in inspection alerts. Rule files
// cannot use it.
const KindInspection Kind = "inspection"

// InspectionMeasurement is the measurement of the samples in which the
// inspections engine reports a plan's status on a device.
const InspectionMeasurement = "inspection"

// InspectionPlanLabel is the label naming the plan of an inspection alert.
const InspectionPlanLabel = "plan"

// Names of the built-in inspection alerts.
const (
	InspectionDueRule     = "inspection_due"
	InspectionOverdueRule = "inspection_overdue"
)

// InspectionPlan is what the engine knows of a maintenance plan: its name,
// its title for the summary, and the devices it applies to.
type InspectionPlan struct {
	Name  string
	Title string
	Match Match
}

const inspectionCode kindCode = 101

// inspectionRules makes the two built-in rules of each plan.
func inspectionRules(plans []InspectionPlan) ([][2]*Rule, []error) {
	var out [][2]*Rule
	var errs []error
	for _, p := range plans {
		title := p.Title
		if title == "" {
			title = p.Name
		}
		mk := func(name string, sev Severity, summary, desc string) *Rule {
			r := &Rule{Name: name, Group: "inspections", Kind: KindInspection, Match: p.Match, Severity: sev,
				Labels:      map[string]string{InspectionPlanLabel: p.Name},
				Annotations: map[string]string{"summary": summary, "description": desc},
				templates:   map[string]*annotationTemplate{}}
			for k, text := range r.Annotations {
				t, err := parseTemplate(k, text)
				if err != nil {
					errs = append(errs, fmt.Errorf("inspection plan %q: %s: %w", p.Name, k, err))
					continue
				}
				r.templates[k] = t
			}
			return r
		}
		out = append(out, [2]*Rule{
			mk(InspectionDueRule, Minor, title+" is due / 已到期",
				"The inspection "+p.Name+" is due on this device: its ticket lists the checklist. Completing it (closing the ticket, or facilityd inspections done) clears this alert."),
			mk(InspectionOverdueRule, Major, title+" is overdue / 已逾期",
				"The inspection "+p.Name+" is past its due date and grace on this device; the ticket is escalated."),
		})
	}
	return out, errs
}

// addInspections adds the built-in inspection alerts of the plans that match
// a device.
func (e *Engine) addInspections(ds *deviceState, plans [][2]*Rule) {
	for _, pair := range plans {
		if !pair[0].Match.Matches(ds.dev) {
			continue
		}
		for _, r := range pair {
			in := &instance{rule: r, dev: ds, expr: &program{}}
			e.add(in)
			in.kind = inspectionCode
		}
	}
}

// observeInspection records a plan's status from the inspections engine.
func (ds *deviceState) observeInspection(s *drivers.Sample) {
	if s.Value.Kind != drivers.KindString {
		return
	}
	if ds.inspection == nil {
		ds.inspection = map[string]string{}
	}
	ds.inspection[s.Point] = s.Value.S
	ds.inspected = true
}

// stepInspections evaluates a device's inspection alerts after a status
// sample. They do not depend on the device answering: a lift out of
// reach is still due for its service.
func (e *Engine) stepInspections(ds *deviceState, ts time.Time) {
	if !ds.inspected {
		return
	}
	ds.inspected = false
	for _, in := range ds.instances {
		if in.kind != inspectionCode {
			continue
		}
		st, ok := ds.inspection[in.rule.Labels[InspectionPlanLabel]]
		if !ok {
			continue
		}
		cond := st == "overdue"
		if in.rule.Name == InspectionDueRule {
			cond = cond || st == "due"
		}
		e.advance(in, ts, cond, true)
	}
}
