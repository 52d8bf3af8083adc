package mqtt

import (
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// healthMessages is the point of drivers.HealthMeasurement that counts the
// messages routed to the device. The driver writes the health samples once
// per device every health interval, as the Modbus poller does:
// drivers.HealthUp (a message within stale_after), drivers.HealthLatency
// (arrival minus the payload's own timestamp, when it has one),
// drivers.HealthErrors (malformed and oversize messages),
// drivers.HealthSkipped (values that map to no profile point) and
// healthMessages, all cumulative since start.
const healthMessages = "messages"

// DeviceState is the health of one MQTT device, for the API.
type DeviceState struct {
	// Status is unknown until a message arrives or stale_after has passed
	// since the driver started; online with a message within stale_after
	// and the last one read without problems; degraded when the last one was
	// malformed, oversize, or had values that did not convert; offline when
	// the device went stale, with no message for stale_after.
	Status drivers.Status
	// LastMessage is when the last message for the device arrived.
	LastMessage time.Time
	// LastError is the problem of the last message, or why the device is
	// offline; empty if none.
	LastError string
	// Latency is arrival minus the payload's timestamp of the last sample
	// accepted, for payloads that carry one. It saturates and is never
	// negative: samples stamped up to max_future ahead count as 0.
	Latency time.Duration
	// Messages, Errors and Skipped are cumulative: messages routed to the
	// device, messages that were malformed or oversize, and values that
	// map to no profile point.
	Messages int64
	Errors   int64
	Skipped  int64
}

// health is a device's running account; the driver's mutex guards it.
type health struct {
	last     time.Time
	lastErr  string
	bad      bool // the last message had a problem
	latency  time.Duration
	messages int64
	errors   int64
	skipped  int64
	reported drivers.Status // last status logged
}

// observe accounts one message that was read into n samples.
func (h *health) observe(now time.Time, res parsed) {
	h.last = now
	h.messages++
	h.skipped += int64(res.skipped)
	h.bad = res.err != nil
	if res.err != nil {
		h.errors++
		h.lastErr = res.err.Error()
	} else {
		h.lastErr = ""
	}
	if !res.stamp.IsZero() { // only accepted samples, within max_age and max_future
		h.latency = max(now.Sub(res.stamp), 0) // Sub saturates: no overflow
	}
}

// state computes the device's status at now.
func (h *health) state(now, started time.Time, staleAfter time.Duration) DeviceState {
	st := DeviceState{LastMessage: h.last, LastError: h.lastErr, Latency: h.latency, Messages: h.messages, Errors: h.errors, Skipped: h.skipped}
	switch {
	case h.last.IsZero() && now.Sub(started) < staleAfter:
		st.Status = drivers.StatusUnknown
	case h.last.IsZero():
		st.Status = drivers.StatusOffline
		st.LastError = "no message since start (" + now.Sub(started).Round(time.Second).String() + ")"
	case now.Sub(h.last) >= staleAfter:
		st.Status = drivers.StatusOffline
		st.LastError = "no message for " + now.Sub(h.last).Round(time.Second).String()
	case h.bad:
		st.Status = drivers.StatusDegraded
	default:
		st.Status = drivers.StatusOnline
	}
	return st
}

// healthSamples appends the device's health samples at now.
func (d *device) healthSamples(st DeviceState, now time.Time, out []drivers.Sample) []drivers.Sample {
	s := func(name string, v drivers.Value) drivers.Sample {
		return drivers.Sample{Time: now, Device: d.ID, Measurement: drivers.HealthMeasurement, Point: name, Value: v, Quality: drivers.Good}
	}
	up := st.Status == drivers.StatusOnline || st.Status == drivers.StatusDegraded
	out = append(out, s(drivers.HealthUp, drivers.Bool(up)))
	if up && st.Latency > 0 {
		out = append(out, s(drivers.HealthLatency, drivers.Float(float64(st.Latency)/float64(time.Millisecond))))
	}
	return append(out,
		s(drivers.HealthErrors, drivers.Int(st.Errors)),
		s(drivers.HealthSkipped, drivers.Int(st.Skipped)),
		s(healthMessages, drivers.Int(st.Messages)))
}
