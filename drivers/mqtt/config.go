// Package mqtt ingests readings that devices publish over MQTT and publishes
// facilityd's own events (alerts, tickets, device status, Home Assistant
// discovery) back to the broker, over one connection with a fixed client id.
//
// It is built to keep going where MQTT consumers are known to stop: a
// malformed or oversize payload is counted and logged (rate-limited) and
// never stops the consumer; every (re)connect subscribes again, whatever the
// broker remembered of the session; reconnects back off up to a cap and never
// give up.
package mqtt

import (
	"log/slog"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/redact"
	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Session says whether the broker keeps the client's subscriptions and
// queued QoS 1 messages while it is away.
type Session string

// Sessions.
const (
	// Persistent asks the broker to keep the session (clean session off), so
	// QoS 1 messages published while facilityd reconnects are delivered.
	Persistent Session = "persistent"
	// Clean starts every connection afresh.
	Clean Session = "clean"
)

// UnmarshalYAML accepts persistent or clean.
func (s *Session) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "session", Persistent, Clean)
	*s = v
	return err
}

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

// Config is the connection to the broker shared by ingestion and outbound
// events: the top-level mqtt section of the config file without its
// embedded-broker part.
type Config struct {
	// Broker is the broker's URL: tcp://host:1883 (or mqtt://), ssl://host:8883
	// (or mqtts://, tls://), ws:// or wss://.
	Broker string `yaml:"broker"`
	// ClientID is fixed so that the broker can keep a persistent session.
	ClientID string `yaml:"client_id"`
	// Username and Password authenticate; PasswordFile, when set, is read
	// at every connect instead, so the secret stays out of the config file.
	Username     string    `yaml:"username"`
	Password     string    `yaml:"password"`
	PasswordFile string    `yaml:"password_file"`
	TLS          TLSConfig `yaml:"tls"`
	// QoS of the subscriptions and outbound messages: 0 or 1 (1 when unset).
	QoS     *int    `yaml:"qos"`
	Session Session `yaml:"session"`
	// KeepAlive is the MQTT keep-alive; ConnectTimeout bounds one attempt.
	KeepAlive      time.Duration `yaml:"keep_alive"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// ReconnectMin is the first wait after a failed or lost connection; the
	// wait doubles up to ReconnectMax and stays there, for ever.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// AvailabilityTopic carries "online" while facilityd is connected and
	// "offline" (the last will) otherwise, retained.
	AvailabilityTopic string `yaml:"availability_topic"`
	// MaxPayload is the largest payload parsed, in bytes; larger ones are
	// counted as oversize and dropped.
	MaxPayload int `yaml:"max_payload"`
	// HealthInterval is how often device_health samples are emitted for MQTT
	// devices.
	HealthInterval time.Duration `yaml:"health_interval"`
	// Publish says where facilityd's own events go.
	Publish PublishConfig `yaml:"publish"`
}

// TLSConfig names the files of a TLS connection. Files are read at each
// connect, so renewed certificates are picked up without a restart.
type TLSConfig struct {
	// CAFile verifies the broker (system roots when empty).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate, for brokers that
	// require one.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked against the broker's certificate.
	ServerName string `yaml:"server_name"`
}

// Enabled reports whether any TLS file is set.
func (t TLSConfig) Enabled() bool { return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

// PublishConfig lists the topics of outbound events; an empty topic is not
// published. Alert topics may contain {device}, {rule} and {severity};
// ticket topics {device} and {id}; device topics {device}.
type PublishConfig struct {
	// Alerts receives alert transitions (pending, firing, resolved) as JSON.
	Alerts string `yaml:"alerts"`
	// Tickets receives ticket events as JSON.
	Tickets string `yaml:"tickets"`
	// DeviceStatus receives each device's status, retained; it must
	// contain {device}.
	DeviceStatus string `yaml:"device_status"`
	// DeviceState receives each device's latest point values as one JSON
	// object, retained, at most every StateInterval; it must contain
	// {device}. Home Assistant discovery points its sensors here.
	DeviceState   string        `yaml:"device_state"`
	StateInterval time.Duration `yaml:"state_interval"`
	// HomeAssistant is the discovery prefix (usually homeassistant); when set,
	// every device point is announced to Home Assistant. It needs DeviceState.
	HomeAssistant string `yaml:"homeassistant"`
	// Queue is how many events wait while the broker is unreachable; beyond
	// it the oldest are dropped and counted.
	Queue int `yaml:"queue"`
}

// Defaults used when a Config leaves a field empty.
const (
	DefaultQoS            = 1
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultReconnectMin   = time.Second
	DefaultReconnectMax   = time.Minute
	DefaultMaxPayload     = 64 << 10
	DefaultHealthInterval = 10 * time.Second
	DefaultStaleAfter     = time.Minute
	DefaultMaxFuture      = 5 * time.Minute
	DefaultMaxAge         = 7 * 24 * time.Hour
	DefaultStateInterval  = 10 * time.Second
	DefaultQueue          = 1000
)

// WithDefaults returns c with empty fields filled in. The client id and
// availability topic default from site.
func (c Config) WithDefaults(site string) Config {
	if site == "" {
		site = "default"
	}
	if c.ClientID == "" {
		c.ClientID = "facilityd-" + site
	}
	if c.QoS == nil {
		q := DefaultQoS
		c.QoS = &q
	}
	if c.Session == "" {
		c.Session = Persistent
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = max(DefaultReconnectMax, c.ReconnectMin)
	}
	if c.AvailabilityTopic == "" {
		c.AvailabilityTopic = "facilityd/" + site + "/status"
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	if c.Publish.StateInterval == 0 {
		c.Publish.StateInterval = DefaultStateInterval
	}
	if c.Publish.Queue == 0 {
		c.Publish.Queue = DefaultQueue
	}
	return c
}

// qos returns the configured QoS as a byte.
func (c *Config) qos() byte {
	if c.QoS == nil {
		return DefaultQoS
	}
	return byte(*c.QoS)
}

// LogValue keeps the password out of logs: a Config handed to slog shows
// whether a password is set, never the password.
func (c Config) LogValue() slog.Value {
	pw := "unset"
	if c.Password != "" {
		pw = "set"
	}
	return slog.GroupValue(
		slog.String("broker", redact.URL(c.Broker)),
		slog.String("client_id", c.ClientID),
		slog.String("username", c.Username),
		slog.String("password", pw),
		slog.String("password_file", c.PasswordFile),
		slog.Bool("tls", c.TLS.Enabled()),
		slog.String("session", string(c.Session)),
	)
}

// String formats the config like LogValue, so %v cannot leak the password.
func (c Config) String() string { return c.LogValue().String() }

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
