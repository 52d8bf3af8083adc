package mqtt

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// AlertEvent is an alert transition as published to publish.alerts.
type AlertEvent struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	Device      string `json:"device"`
	Type        string `json:"type,omitempty"`
	Location    string `json:"location,omitempty"`
	Severity    string `json:"severity"`
	// State is the new state (pending, firing, resolved, inactive); From the
	// one before.
	State       string            `json:"state"`
	From        string            `json:"from"`
	At          time.Time         `json:"at"`
	ActiveAt    time.Time         `json:"active_at,omitzero"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Values      map[string]any    `json:"values,omitempty"`
}

// TicketEvent is something that happened to a ticket, as published to
// publish.tickets.
type TicketEvent struct {
	// Event is what happened: created, occurrence, alert_resolved,
	// transition, reopened.
	Event       string    `json:"event"`
	ID          int64     `json:"id"`
	Key         string    `json:"key,omitempty"`
	Title       string    `json:"title"`
	Device      string    `json:"device,omitempty"`
	Location    string    `json:"location,omitempty"`
	Category    string    `json:"category,omitempty"`
	Priority    string    `json:"priority,omitempty"`
	Status      string    `json:"status"`
	Occurrences int       `json:"occurrences,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	At          time.Time `json:"at"`
}

// DeviceStatus is a device's status as published, retained, to
// publish.device_status.
type DeviceStatus struct {
	Device string `json:"device"`
	// Status is unknown, online, degraded or offline.
	Status string `json:"status"`
	// Driver is modbus or mqtt.
	Driver    string    `json:"driver,omitempty"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// PublishAlert queues an alert transition for publish.alerts; it does
// nothing when that topic is not configured. It never blocks: while the
// broker is away events wait in a bounded queue.
func (p *Publisher) PublishAlert(e AlertEvent) {
	if p.cfg.Alerts == "" {
		return
	}
	p.pushJSON(expand(p.cfg.Alerts, "device", e.Device, "rule", e.Rule, "severity", e.Severity), e)
}

// PublishTicketEvent queues a ticket event for publish.tickets, like
// PublishAlert.
func (p *Publisher) PublishTicketEvent(e TicketEvent) {
	if p.cfg.Tickets == "" {
		return
	}
	p.pushJSON(expand(p.cfg.Tickets, "device", e.Device, "id", strconv.FormatInt(e.ID, 10)), e)
}

// PublishDeviceStatus sets the retained status of a device on
// publish.device_status. An unchanged status is not sent again; every
// status is sent again after a reconnect.
func (p *Publisher) PublishDeviceStatus(s DeviceStatus) {
	if p.cfg.DeviceStatus == "" {
		return
	}
	b, err := json.Marshal(s)
	if err != nil {
		return
	}
	p.out.retain(expand(p.cfg.DeviceStatus, "device", s.Device), b)
}

func (p *Publisher) pushJSON(topic string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.log.Error("mqtt event not published", "topic", topic, "err", err)
		return
	}
	if !p.out.push(topic, b) {
		p.log.Warn("mqtt outbound queue full; oldest event dropped", "queue", p.cfg.Queue)
	}
}

// ObserveSamples records the latest point values of every device for
// publish.device_state; the app passes it every sample of every driver.
// It does nothing when device_state is not configured.
func (p *Publisher) ObserveSamples(samples []drivers.Sample) {
	if p.cfg.DeviceState == "" {
		return
	}
	p.state.observe(samples)
}

// stateCache is the latest value of every device point, and which devices
// changed since they were last published.
type stateCache struct {
	mu      sync.Mutex
	devices map[string]map[string]any
	// quality holds the points whose latest reading is not good (uncertain:
	// a NaN a meter sends for "not available", published as null).
	quality map[string]map[string]string
	times   map[string]time.Time
	dirty   map[string]bool
}

func (c *stateCache) observe(samples []drivers.Sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.devices == nil {
		c.devices, c.times, c.dirty = map[string]map[string]any{}, map[string]time.Time{}, map[string]bool{}
		c.quality = map[string]map[string]string{}
	}
	for i := range samples {
		s := &samples[i]
		if s.Measurement == drivers.HealthMeasurement || s.Quality == drivers.Bad {
			continue
		}
		m := c.devices[s.Device]
		if m == nil {
			m = map[string]any{}
			c.devices[s.Device] = m
		}
		m[s.Point] = s.Value.JSON() // NaN and ±Inf: null
		if s.Quality != drivers.Good {
			if c.quality[s.Device] == nil {
				c.quality[s.Device] = map[string]string{}
			}
			c.quality[s.Device][s.Point] = s.Quality.String()
		} else {
			delete(c.quality[s.Device], s.Point)
		}
		if s.Time.After(c.times[s.Device]) {
			c.times[s.Device] = s.Time
		}
		c.dirty[s.Device] = true
	}
}

// flush hands the state of every changed device to retain.
func (c *stateCache) flush(retain func(device string, payload []byte)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, dev := range slices.Sorted(maps.Keys(c.dirty)) {
		m := maps.Clone(c.devices[dev])
		m["time"] = c.times[dev].UTC().Format(time.RFC3339Nano)
		if _, clash := m["quality"]; len(c.quality[dev]) > 0 && !clash {
			m["quality"] = maps.Clone(c.quality[dev]) // only the points that are not good
		}
		if b, err := json.Marshal(m); err == nil {
			retain(dev, b)
		}
		delete(c.dirty, dev)
	}
}
