package config

import (
	"net"
	"strings"

	"github.com/facilityd/facilityd/drivers/mqtt"
	"github.com/facilityd/facilityd/drivers/mqtt/broker"
)

// MQTT is the top-level mqtt section: the connection to the broker shared
// by MQTT devices and outbound events (see package drivers/mqtt), and the
// optional embedded broker.
type MQTT struct {
	mqtt.Config `yaml:",inline"`
	// Embedded, when set, runs a broker inside facilityd (small sites, the
	// demo). Without a broker URL, facilityd connects to it itself.
	Embedded *broker.Config `yaml:"embedded"`
}

// MQTTDevice is the mqtt section of a device.
type MQTTDevice = mqtt.DeviceConfig

// MQTTDevices returns the config's MQTT devices for the driver.
func (c *Config) MQTTDevices() []mqtt.Device {
	var out []mqtt.Device
	for _, d := range c.Devices {
		if d.MQTT != nil {
			out = append(out, mqtt.Device{ID: d.ID, Profile: c.Profiles[d.Profile], Config: *d.MQTT})
		}
	}
	return out
}

// applyMQTTDefaults fills in the mqtt sections; without a broker URL the
// embedded broker's listener is used.
func (c *Config) applyMQTTDefaults() {
	for _, d := range c.Devices {
		if d.MQTT != nil {
			*d.MQTT = d.MQTT.WithDefaults()
		}
	}
	if c.MQTT == nil {
		return
	}
	if c.MQTT.Embedded != nil {
		*c.MQTT.Embedded = c.MQTT.Embedded.WithDefaults()
		if c.MQTT.Broker == "" {
			c.MQTT.Broker = embeddedURL(c.MQTT.Embedded)
		}
	}
	c.MQTT.Config = c.MQTT.Config.WithDefaults(c.Site)
}

// embeddedURL is how facilityd reaches its own embedded broker.
func embeddedURL(b *broker.Config) string {
	host, port, err := net.SplitHostPort(b.Listen)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "tcp://"
	if b.TLS.CertFile != "" {
		scheme = "ssl://"
	}
	return scheme + net.JoinHostPort(host, port)
}

// usedByModbus reports whether a Modbus device reads the profile, whose
// points then need registers.
func (c *Config) usedByModbus(profile string) bool {
	for _, d := range c.Devices {
		if d.Modbus != nil && d.Profile == profile {
			return true
		}
	}
	return false
}

// validateMQTT checks the mqtt section, the embedded broker and every MQTT
// device as the driver would at start, without connecting.
func (c *Config) validateMQTT() []error {
	var errs []error
	hasDevices := false
	for _, d := range c.Devices {
		if d.MQTT != nil {
			hasDevices = true
			if c.MQTT == nil {
				errs = append(errs, c.errAt(d, "mqtt", "device %q: an mqtt device needs the top-level mqtt section (broker: tcp://host:1883, or embedded)", d.ID))
			}
		}
	}
	if c.MQTT == nil {
		return errs
	}
	m := c.MQTT
	for _, err := range m.Check() {
		errs = append(errs, c.mqttErr(err, "mqtt: "))
	}
	if e := m.Embedded; e != nil {
		for _, err := range e.Check() {
			errs = append(errs, c.errAt(m, "embedded", "mqtt: embedded: %v", err))
		}
		if m.Broker == embeddedURL(e) {
			if e.TLS.CertFile != "" && m.TLS.CAFile == "" {
				errs = append(errs, c.errAt(m, "embedded", "mqtt: embedded: with tls, set tls.ca_file (and a client certificate if client_ca_file is set) for facilityd's own connection"))
			}
			if m.Username == "" {
				errs = append(errs, c.errAt(m, "embedded", "mqtt: set username and password (or password_file) to one of embedded.users: facilityd connects to its embedded broker as that user"))
			}
		}
	}
	if !hasDevices {
		return errs
	}
	// The driver reports problems device by device; place each at its device.
	if _, err := mqtt.New(m.Config, c.MQTTDevices(), nil); err != nil {
		for _, e := range unjoin(err) {
			msg := e.Error()
			if strings.HasPrefix(msg, "device ") {
				if d := c.deviceNamed(msg); d != nil {
					errs = append(errs, c.errAt(d, "mqtt", "%s", strings.Replace(msg, ": ", ": mqtt: ", 1)))
				}
			}
		}
	}
	return errs
}

// mqttErr places an error of mqtt.Config.Check at the key it names.
func (c *Config) mqttErr(err error, prefix string) error {
	msg := err.Error()
	key, _, _ := strings.Cut(msg, " ")
	key = strings.TrimSuffix(key, ":")
	if top, sub, ok := strings.Cut(key, "."); ok && top == "publish" {
		if p := c.At(&c.MQTT.Publish, sub); p.Line > 1 || p.File != c.Path {
			return &Error{Pos: p, Msg: prefix + msg}
		}
		key = top
	}
	return c.errAt(c.MQTT, key, "%s%s", prefix, msg)
}

// deviceNamed finds the device whose id opens a message: device "id": ...
func (c *Config) deviceNamed(msg string) *Device {
	for _, d := range c.Devices {
		if strings.HasPrefix(msg, "device \""+d.ID+"\":") {
			return d
		}
	}
	return nil
}

// unjoin flattens errors.Join trees into their leaves.
func unjoin(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, unjoin(e)...)
	}
	return out
}
