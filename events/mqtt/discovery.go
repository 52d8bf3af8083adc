package mqtt

import (
	"encoding/json"
	"strings"

	"github.com/facilityd/facilityd/drivers"
)

// DiscoveryDevice is a device to announce to Home Assistant: every point
// of its profile becomes a sensor (a binary_sensor for booleans) whose
// value is read from the device's publish.device_state topic.
type DiscoveryDevice struct {
	ID       string
	Location string
	Profile  *drivers.Profile
}

// PublishDiscovery announces devices to Home Assistant under the
// publish.homeassistant prefix, retained; the announcements are sent again
// after every reconnect and whenever Home Assistant comes online. It does
// nothing when discovery is not configured.
func (pub *Publisher) PublishDiscovery(devs []DiscoveryDevice) {
	prefix := pub.cfg.HomeAssistant
	if prefix == "" {
		return
	}
	for _, dev := range devs {
		if dev.Profile == nil {
			continue
		}
		node := haID("facilityd_" + dev.ID)
		for i := range dev.Profile.Points {
			p := &dev.Profile.Points[i]
			topic, payload := pub.discoveryConfig(prefix, node, dev, p)
			pub.out.retain(topic, payload)
		}
	}
}

// discoveryConfig builds one point's Home Assistant config message.
func (pub *Publisher) discoveryConfig(prefix, node string, dev DiscoveryDevice, p *drivers.Point) (string, []byte) {
	component := "sensor"
	key := jsonKey(p.Name)
	tmpl := "{{ value_json" + key + " }}"
	if p.ValueKind() == drivers.KindBool {
		component = "binary_sensor"
		tmpl = "{{ 'ON' if value_json" + key + " else 'OFF' }}"
	}
	cfg := map[string]any{
		"name":                  p.Name,
		"unique_id":             node + "_" + haID(p.Name),
		"object_id":             node + "_" + haID(p.Name),
		"state_topic":           expand(pub.cfg.DeviceState, "device", dev.ID),
		"value_template":        tmpl,
		"availability_topic":    pub.conn.Config().AvailabilityTopic,
		"payload_available":     "online",
		"payload_not_available": "offline",
	}
	device := map[string]any{"identifiers": []string{node}, "name": dev.ID, "model": dev.Profile.Type, "manufacturer": "facilityd"}
	if dev.Location != "" {
		device["suggested_area"] = dev.Location
	}
	cfg["device"] = device
	if component == "sensor" && p.ValueKind() == drivers.KindFloat {
		if p.Unit != "" {
			cfg["unit_of_measurement"] = p.Unit
		}
		if dc := deviceClass(p.Unit); dc != "" {
			cfg["device_class"] = dc
		}
		cfg["state_class"] = "measurement"
		if p.Counter {
			cfg["state_class"] = "total_increasing"
		}
	}
	b, _ := json.Marshal(cfg)
	return prefix + "/" + component + "/" + node + "/" + haID(p.Name) + "/config", b
}

// jsonKey writes a Jinja accessor for a key: .name or ['odd-name'].
func jsonKey(name string) string {
	if haID(name) == name && name != "" && (name[0] < '0' || name[0] > '9') {
		return "." + name
	}
	return "['" + strings.ReplaceAll(name, "'", "\\'") + "']"
}

// haID keeps the characters Home Assistant allows in ids.
func haID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, s)
}

// deviceClass guesses Home Assistant's device class from a unit.
func deviceClass(unit string) string {
	switch unit {
	case "°C", "degC", "°F", "K":
		return "temperature"
	case "W", "kW":
		return "power"
	case "Wh", "kWh", "MWh":
		return "energy"
	case "V":
		return "voltage"
	case "A", "mA":
		return "current"
	case "bar", "Pa", "kPa", "hPa", "psi", "mbar":
		return "pressure"
	case "Hz":
		return "frequency"
	case "m³", "m3", "L", "l":
		return "volume"
	}
	return ""
}
