package web

import (
	"regexp"
	"strconv"
)

// Threshold is a constant a rule compares a point with, drawn on the point's
// chart: "discharge_pressure < 1.5" in pump_low_pressure's expr is
// {Point: discharge_pressure, Op: "<", Value: 1.5}. Clear marks one from the
// rule's clear: condition.
type Threshold struct {
	Point    string  `json:"point"`
	Rule     string  `json:"rule"`
	Op       string  `json:"op"`
	Value    float64 `json:"value"`
	Severity string  `json:"severity,omitempty"`
	Clear    bool    `json:"clear,omitempty"`
}

// A point name compared with a number, either way round. A call such as
// age(x) > 900 does not match: the name must stand right next to the
// operator.
var (
	cmpPointFirst = regexp.MustCompile(`(?:^|[^\w.)])([A-Za-z_]\w*)\s*(<=|>=|<|>|==)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\b`)
	cmpNumFirst   = regexp.MustCompile(`(?:^|[^\w.])(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(<=|>=|<|>|==)\s*([A-Za-z_]\w*)(?:$|[^\w(.])`)
)

// flip turns "1.5 < x" into "x > 1.5".
var flip = map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "=="}

// ParseThresholds finds, best effort, the comparisons of a point with a
// constant in a rule expression. It does not understand the expression:
// a comparison under a negation is reported as written.
func ParseThresholds(expr string) []Threshold {
	var out []Threshold
	for _, m := range cmpPointFirst.FindAllStringSubmatch(expr, -1) {
		if v, err := strconv.ParseFloat(m[3], 64); err == nil {
			out = append(out, Threshold{Point: m[1], Op: m[2], Value: v})
		}
	}
	for _, m := range cmpNumFirst.FindAllStringSubmatch(expr, -1) {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil {
			out = append(out, Threshold{Point: m[3], Op: flip[m[2]], Value: v})
		}
	}
	return out
}
