// Package drivers defines what every device driver produces — the Sample — and the
// contract drivers fulfil. Drivers (drivers/modbus, drivers/mqtt) only ever emit
// Samples into a Sink; they never talk to rules, storage or tickets.
package drivers

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/facilityd/facilityd/internal/retry"
)

// Kind tells which field of a Value holds the reading.
type Kind uint8

// Value kinds.
const (
	KindFloat Kind = iota
	KindInt
	KindBool
	KindString
)

// Value is a reading: a small tagged union so that a Sample needs no allocation
// for numeric and boolean points.
type Value struct {
	Kind Kind
	F    float64
	I    int64
	B    bool
	S    string
}

// Float returns a floating-point Value.
func Float(f float64) Value { return Value{Kind: KindFloat, F: f} }

// Int returns an integer Value.
func Int(i int64) Value { return Value{Kind: KindInt, I: i} }

// Bool returns a boolean Value.
func Bool(b bool) Value { return Value{Kind: KindBool, B: b} }

// String returns a text Value.
func String(s string) Value { return Value{Kind: KindString, S: s} }

// Float64 returns the value as a number: booleans are 0 or 1, text is NaN.
func (v Value) Float64() float64 {
	switch v.Kind {
	case KindFloat:
		return v.F
	case KindInt:
		return float64(v.I)
	case KindBool:
		if v.B {
			return 1
		}
		return 0
	}
	return math.NaN()
}

// Any returns the value as float64, int64, bool or string, for expression
// environments and JSON.
func (v Value) Any() any {
	switch v.Kind {
	case KindFloat:
		return v.F
	case KindInt:
		return v.I
	case KindBool:
		return v.B
	}
	return v.S
}

// JSON returns the value for JSON output: Any, except that NaN and ±Inf,
// which JSON cannot hold, are nil (null). The sample's quality says why.
func (v Value) JSON() any {
	if v.Kind == KindFloat && !IsFinite(v.F) {
		return nil
	}
	return v.Any()
}

// IsFinite reports whether f is neither NaN nor ±Inf.
func IsFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// JSONSafe returns x for JSON output: a non-finite float64 (or float32)
// becomes nil, anything else is x.
func JSONSafe(x any) any {
	switch f := x.(type) {
	case float64:
		if !IsFinite(f) {
			return nil
		}
	case float32:
		if !IsFinite(float64(f)) {
			return nil
		}
	}
	return x
}

// String formats the value for logs and the CLI.
func (v Value) String() string {
	switch v.Kind {
	case KindFloat:
		return strconv.FormatFloat(v.F, 'g', -1, 64)
	case KindInt:
		return strconv.FormatInt(v.I, 10)
	case KindBool:
		return strconv.FormatBool(v.B)
	}
	return v.S
}

// Quality says how far a Sample can be trusted.
type Quality uint8

// Qualities, after OPC's good/uncertain/bad.
const (
	Good Quality = iota
	Uncertain
	Bad
)

// String returns good, uncertain or bad.
func (q Quality) String() string {
	switch q {
	case Good:
		return "good"
	case Uncertain:
		return "uncertain"
	}
	return "bad"
}

// Sample is one reading of one point of one device at one time. It is the only
// thing drivers produce.
type Sample struct {
	Time        time.Time
	Device      string // device id from the config
	Measurement string // equipment type: pump, energy_meter, device_health, ...
	Point       string // point name from the profile
	Value       Value
	Quality     Quality
}

// Sink receives the samples of one poll or message. Put must not keep the
// slice after it returns: drivers reuse it.
type Sink interface {
	Put(ctx context.Context, samples []Sample)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, samples []Sample)

// Put calls f.
func (f SinkFunc) Put(ctx context.Context, samples []Sample) { f(ctx, samples) }

// Sleep waits d or until ctx is done, and reports whether it waited the whole
// d: the pause of drivers' retry and back-off loops.
func Sleep(ctx context.Context, d time.Duration) bool { return retry.Sleep(ctx, d) }
