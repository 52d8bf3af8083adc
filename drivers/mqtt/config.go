// Package mqtt is the MQTT input driver: it ingests readings that devices
// publish over MQTT. Its connection (internal/mqttconn, one fixed client id)
// also carries facilityd's own outbound events, which package events/mqtt
// publishes.
//
// It is built to keep going where MQTT consumers are known to stop: a
// malformed or oversize payload is counted and logged (rate-limited) and
// never stops the consumer; every (re)connect subscribes again, whatever the
// broker remembered of the session; reconnects back off up to a cap and never
// give up.
package mqtt

import (
	"time"

	"gopkg.in/yaml.v3"

	events "github.com/facilityd/facilityd/events/mqtt"
	"github.com/facilityd/facilityd/internal/mqttconn"
	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Persistent and Clean are the sessions of mqttconn, named here too for
// the config package, which reads the mqtt section through this one.
const (
	Persistent = mqttconn.Persistent
	Clean      = mqttconn.Clean
)

// Format is how a device's payloads are written.
type Format string

// Payload formats.
const (
	// JSON: an object (points at paths), an array, or a bare scalar.
	JSON Format = "json"
	// Value: the payload is the value itself: 21.5, true, ON, running.
	Value Format = "value"
	// Influx: InfluxDB line protocol; field keys are point names.
	Influx Format = "influx"
)

// UnmarshalYAML accepts json, value or influx.
func (f *Format) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "format", JSON, Value, Influx)
	*f = v
	return err
}

// Config is the top-level mqtt section of the config file without its
// embedded-broker part: the connection to the broker, shared by this driver
// and the outbound events (events/mqtt), the driver's own settings, and
// the publish section of the outbound events. The section is read through
// this one type because config inlines it.
type Config struct {
	mqttconn.Config `yaml:",inline"`
	// MaxPayload is the largest payload parsed, in bytes; larger ones are
	// counted as oversize and dropped.
	MaxPayload int `yaml:"max_payload"`
	// HealthInterval is how often device_health samples are emitted for MQTT
	// devices.
	HealthInterval time.Duration `yaml:"health_interval"`
	// Publish says where facilityd's own events go (events/mqtt).
	Publish events.Config `yaml:"publish"`
}

// Defaults used when a Config or DeviceConfig leaves a field empty.
const (
	DefaultMaxPayload     = 64 << 10
	DefaultHealthInterval = 10 * time.Second
	DefaultStaleAfter     = time.Minute
	DefaultMaxFuture      = 5 * time.Minute
	DefaultMaxAge         = 7 * 24 * time.Hour
)

// WithDefaults returns c with empty fields filled in. The client id and
// availability topic default from site.
func (c Config) WithDefaults(site string) Config {
	c.Config = c.Config.WithDefaults(site)
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	c.Publish = c.Publish.WithDefaults()
	return c
}

// DeviceConfig is the mqtt section of one device: where its messages arrive
// and how to read them.
type DeviceConfig struct {
	// Topic is an MQTT topic filter. Besides + and #, a level may be
	// +device (the level names the device: it must equal TopicID) or +point
	// (the level names the profile point the payload carries), for example
	// site/+device/+point.
	Topic string `yaml:"topic"`
	// TopicID is what the +device level holds for this device; the device
	// id by default.
	TopicID string `yaml:"topic_id"`
	// Format of the payload: json (default), value or influx.
	Format Format `yaml:"format"`
	// ValuePath is the JSON path of the value for points without a path of
	// their own (for example "value" for {"value": 21.5}).
	ValuePath string `yaml:"value_path"`
	// Records is the JSON path of an array of records, each read like a
	// payload of its own (buffered readings with their own timestamps).
	Records   string          `yaml:"records"`
	Timestamp TimestampConfig `yaml:"timestamp"`
	// StaleAfter is how long the device may stay silent before it counts as
	// offline.
	StaleAfter time.Duration `yaml:"stale_after"`
}

// TimestampConfig says where a payload carries its time. Without it, a
// sample is stamped with the time the message arrived.
type TimestampConfig struct {
	// Path is the JSON path of the timestamp (json format only).
	Path string `yaml:"path"`
	// Format: unix, unix_ms, unix_us, unix_ns (numbers, or numeric strings),
	// rfc3339, or a Go layout such as "2006-01-02 15:04:05". For the influx
	// format it is the precision of the line's timestamp (unix_ns by default).
	Format string `yaml:"format"`
	// Timezone applies to layouts without a zone (UTC by default), as an
	// IANA name such as Europe/Berlin.
	Timezone string `yaml:"timezone"`
	// MaxFuture and MaxAge bound a payload's timestamp around the message's
	// arrival: a sample stamped later than arrival+MaxFuture or earlier than
	// arrival-MaxAge is rejected and counted as malformed. MaxAge is long by
	// default because devices that buffer readings offline send old ones.
	// Zero means the default (DefaultMaxFuture, DefaultMaxAge).
	MaxFuture time.Duration `yaml:"max_future"`
	MaxAge    time.Duration `yaml:"max_age"`
}

// WithDefaults returns c with empty fields filled in.
func (c DeviceConfig) WithDefaults() DeviceConfig {
	if c.Format == "" {
		c.Format = JSON
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	c.Timestamp = c.Timestamp.WithDefaults()
	return c
}

// WithDefaults returns c with max_future and max_age filled in.
func (c TimestampConfig) WithDefaults() TimestampConfig {
	if c.MaxFuture == 0 {
		c.MaxFuture = DefaultMaxFuture
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	return c
}
