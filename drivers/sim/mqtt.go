package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/mqtt"
)

// MQTTDevice is a simulated device that publishes its readings over MQTT,
// as the daemon's config reads them: its mqtt section says the topic and
// format, its profile the points and JSON paths.
type MQTTDevice struct {
	ID      string
	Profile *drivers.Profile
	Config  mqtt.DeviceConfig
}

// MQTTConfig is a simulated MQTT publisher.
type MQTTConfig struct {
	// Broker, Username and Password reach the broker (tcp://host:port).
	Broker, Username, Password string
	// ClientID is the publisher's (facilityd-simulator when empty); it must
	// differ from the daemon's.
	ClientID string
	Devices  []MQTTDevice
	// Interval between publications of each device (1 s when 0).
	Interval time.Duration
	Seed     int64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// State holds starting point values by device id, as in Config.State.
	State map[string]map[string]float64
}

// MQTTMessage is one publication.
type MQTTMessage struct {
	Topic   string
	Payload []byte
}

// MQTTPublisher plays devices that publish over MQTT, with the same models
// and faults as the Modbus simulator; an offline device stops publishing.
type MQTTPublisher struct {
	cfg     MQTTConfig
	logger  *slog.Logger
	devices []*mqttDevice
	mu      sync.Mutex
	start   time.Time
}

type mqttDevice struct {
	MQTTDevice
	model  model
	faults []Fault
	active map[string]bool
	last   time.Time
}

// NewMQTTPublisher checks the devices and faults; it does no I/O. Topics
// must name one device: +device is replaced by the device's topic_id (or
// id), +point by each point's name; other wildcards are refused.
func NewMQTTPublisher(cfg MQTTConfig, faults []Fault, logger *slog.Logger) (*MQTTPublisher, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "facilityd-simulator"
	}
	p := &MQTTPublisher{cfg: cfg, logger: logger}
	var errs []error
	byID := map[string]*mqttDevice{}
	for _, dc := range cfg.Devices {
		if dc.Profile == nil {
			errs = append(errs, fmt.Errorf("device %q: missing profile", dc.ID))
			continue
		}
		m := deviceModel(dc.Profile.Type, cfg.Seed, dc.ID)
		if m == nil {
			errs = append(errs, fmt.Errorf("device %q: no model for equipment type %q: use one of %s", dc.ID, dc.Profile.Type, strings.Join(Models(), ", ")))
			continue
		}
		m.restore(cfg.State[dc.ID])
		dc.Config = dc.Config.WithDefaults()
		if strings.ContainsAny(strings.NewReplacer("+device", "", "+point", "").Replace(dc.Config.Topic), "+#") {
			errs = append(errs, fmt.Errorf("device %q: topic %q: only +device and +point can be filled in to publish", dc.ID, dc.Config.Topic))
			continue
		}
		if dc.Config.Format == mqtt.Influx || dc.Config.Records != "" {
			errs = append(errs, fmt.Errorf("device %q: the simulator publishes json and value payloads, one record each", dc.ID))
			continue
		}
		d := &mqttDevice{MQTTDevice: dc, model: m, active: map[string]bool{}}
		byID[dc.ID] = d
		p.devices = append(p.devices, d)
	}
	for _, f := range faults {
		d := byID[f.Device]
		if d == nil {
			continue // a fault for a Modbus device, or one that failed above
		}
		if f.Kind == FaultException {
			errs = append(errs, fmt.Errorf("device %q: fault %s: MQTT devices have no exceptions", d.ID, f))
			continue
		}
		if err := checkFault(f, d.Profile.Type, true); err != nil {
			errs = append(errs, fmt.Errorf("device %q: %w", d.ID, err))
			continue
		}
		d.faults = append(d.faults, f)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Messages advances every model to now and returns what the devices
// publish; offline devices publish nothing.
func (p *MQTTPublisher) Messages(now time.Time) []MQTTMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start.IsZero() {
		p.start = now
	}
	var out []MQTTMessage
	for _, d := range p.devices {
		var dt time.Duration
		if !d.last.IsZero() {
			dt = now.Sub(d.last)
		}
		if d.last.IsZero() {
			startFaults(d.model, d.ID, d.faults, p.start, p.logger)
		}
		d.last = now
		for _, f := range d.faults {
			if !d.active[f.Kind] && !IsEnergyFault(f.Kind) && now.Sub(p.start) >= f.After {
				d.active[f.Kind] = true
				p.logger.Info("fault injected", "device", d.ID, "kind", f.Kind, "after", f.After)
			}
		}
		d.model.step(now, dt, d.active)
		if d.active[FaultOffline] {
			continue
		}
		out = append(out, d.messages(now)...)
	}
	return out
}

// messages encodes the device's points for its topic and format.
func (d *mqttDevice) messages(now time.Time) []MQTTMessage {
	c := d.Config
	key := c.TopicID
	if key == "" {
		key = d.ID
	}
	topic := strings.ReplaceAll(c.Topic, "+device", key)
	value := func(p *drivers.Point) any {
		v, _ := d.model.value(p.Name)
		switch p.ValueKind() {
		case drivers.KindBool:
			return v != 0
		case drivers.KindString:
			if s, ok := p.Enum[int64(v)]; ok {
				return s
			}
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		if s := p.Scale; s != 0 && s != 1 || p.Offset != 0 {
			v = (v - p.Offset) / max(s, 1e-12) // the daemon applies scale and offset back
		}
		return v
	}
	var out []MQTTMessage
	if strings.Contains(topic, "+point") {
		for i := range d.Profile.Points {
			p := &d.Profile.Points[i]
			var payload []byte
			if c.Format == mqtt.Value {
				payload = fmt.Append(nil, value(p))
			} else {
				doc := map[string]any{}
				setPath(doc, firstNonEmpty(p.Path, c.ValuePath, "value"), value(p))
				d.stamp(doc, now)
				payload, _ = json.Marshal(doc)
			}
			out = append(out, MQTTMessage{Topic: strings.ReplaceAll(topic, "+point", p.Name), Payload: payload})
		}
		return out
	}
	if c.Format == mqtt.Value && len(d.Profile.Points) == 1 {
		return []MQTTMessage{{Topic: topic, Payload: fmt.Append(nil, value(&d.Profile.Points[0]))}}
	}
	doc := map[string]any{}
	for i := range d.Profile.Points {
		p := &d.Profile.Points[i]
		setPath(doc, firstNonEmpty(p.Path, p.Name), value(p))
	}
	d.stamp(doc, now)
	payload, _ := json.Marshal(doc)
	return []MQTTMessage{{Topic: topic, Payload: payload}}
}

// stamp writes the time where the device's config expects it.
func (d *mqttDevice) stamp(doc map[string]any, now time.Time) {
	ts := d.Config.Timestamp
	if ts.Path == "" {
		return
	}
	var v any
	switch ts.Format {
	case mqtt.TimeUnix:
		v = now.Unix()
	case mqtt.TimeUnixMs:
		v = now.UnixMilli()
	case mqtt.TimeUnixUs:
		v = now.UnixMicro()
	case mqtt.TimeUnixNs:
		v = now.UnixNano()
	case mqtt.TimeRFC3339:
		v = now.UTC().Format(time.RFC3339Nano)
	default:
		v = now.UTC().Format(ts.Format)
	}
	setPath(doc, ts.Path, v)
}

// setPath sets a dotted path of object keys; paths into arrays are left out.
func setPath(doc map[string]any, path string, v any) {
	if strings.ContainsAny(path, "[]") {
		return
	}
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := doc[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[k] = next
		}
		doc = next
	}
	doc[keys[len(keys)-1]] = v
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Run connects to the broker and publishes every Interval until ctx is
// done, reconnecting with paho's own back-off while the broker is away.
func (p *MQTTPublisher) Run(ctx context.Context) error {
	o := paho.NewClientOptions().AddBroker(p.cfg.Broker).SetClientID(p.cfg.ClientID).
		SetUsername(p.cfg.Username).SetPassword(p.cfg.Password).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(5 * time.Second)
	c := paho.NewClient(o)
	c.Connect()
	defer c.Disconnect(250)
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if !c.IsConnectionOpen() {
			continue
		}
		for _, m := range p.Messages(p.cfg.Now()) {
			c.Publish(m.Topic, 0, false, m.Payload)
		}
	}
}
