// Package modbus polls devices over Modbus TCP, RTU over TCP and serial RTU
// with goburrow/modbus and turns their registers into drivers.Samples.
package modbus

import (
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/internal/yamlstrict"
	"gopkg.in/yaml.v3"
)

// Transport is how requests reach the device.
type Transport string

// Transports.
const (
	TCP        Transport = "tcp"          // Modbus TCP (MBAP header)
	RTUOverTCP Transport = "rtu_over_tcp" // RTU frames with CRC inside a TCP socket
	RTU        Transport = "rtu"          // serial line
)

// UnmarshalYAML accepts only the known transports.
func (t *Transport) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "transport", TCP, RTUOverTCP, RTU)
	*t = v
	return err
}

// Config is the Modbus part of one device's configuration.
type Config struct {
	// Address is host:port for tcp and rtu_over_tcp, a device path for rtu.
	Address   string    `yaml:"address"`
	Transport Transport `yaml:"transport"`
	UnitID    uint8     `yaml:"unit_id"`
	// Interval between polls; Timeout per request.
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	// Writable allows writes to this device; nothing writes by default.
	Writable bool `yaml:"writable"`
	// Serial line settings for rtu.
	BaudRate int    `yaml:"baud_rate"`
	DataBits int    `yaml:"data_bits"`
	Parity   string `yaml:"parity"`
	StopBits int    `yaml:"stop_bits"`
	// MaxGap is how many unused registers one read may span to join two
	// points (bit tables: 16 bits per register). Empty means DefaultMaxGap;
	// 0 joins only adjacent points. A device that refuses a read reaching
	// an undefined register needs no setting: the poller isolates the
	// refused registers and stops bridging them.
	MaxGap *int `yaml:"max_gap"`
	// Jitter delays each poll by a random time below it, so that devices
	// with the same interval do not all poll at once. It must be shorter
	// than Interval.
	Jitter time.Duration `yaml:"jitter"`
	// Workarounds are the device's quirks.
	Workarounds Workarounds `yaml:"workarounds"`
}

// Workarounds gathers the quirks of a device in one place, so that a
// config shows at a glance what is special about it.
type Workarounds struct {
	// MaxRegisters caps the registers of one read for devices that accept
	// fewer than the 125 the protocol allows; 0 means 125.
	MaxRegisters int `yaml:"max_registers"`
	// MaxBits caps the coils or discrete inputs of one read for devices
	// that accept fewer than 2000; 0 means 2000.
	MaxBits int `yaml:"max_bits"`
	// PauseBetweenRequests is a quiet time before every request of a poll
	// but the first, for devices and serial gateways that need time to
	// recover between requests.
	PauseBetweenRequests time.Duration `yaml:"pause_between_requests"`
	// CloseAfterPoll drops the connection after every poll, for devices
	// that accept only one connection and share it with another master.
	CloseAfterPoll bool `yaml:"close_after_poll"`
	// NoPipelining sends every request of a poll only once the one before
	// is answered. Over Modbus TCP a poll's reads otherwise go out together
	// (up to four, the replies read in order); a gateway that answers the
	// first and not the rest is found out by itself and polled one request
	// at a time from then on, so this is for devices that misbehave in
	// another way.
	NoPipelining bool `yaml:"no_pipelining"`
}

// Defaults used when a Config leaves a field empty.
const (
	DefaultInterval = time.Second
	DefaultTimeout  = time.Second
	// DefaultMaxGap is the MaxGap used when a Config leaves it empty.
	DefaultMaxGap = 10
)

// WithDefaults returns c with empty fields filled in.
func (c Config) WithDefaults() Config {
	if c.Transport == "" {
		c.Transport = TCP
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.UnitID == 0 {
		c.UnitID = 1
	}
	if c.BaudRate == 0 {
		c.BaudRate = 9600
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.Parity == "" {
		c.Parity = "N"
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	if c.MaxGap == nil {
		gap := DefaultMaxGap
		c.MaxGap = &gap
	}
	if c.Workarounds.MaxRegisters == 0 {
		c.Workarounds.MaxRegisters = MaxRegisters
	}
	if c.Workarounds.MaxBits == 0 {
		c.Workarounds.MaxBits = MaxBits
	}
	return c
}

// Device is one device to poll: its id, profile and Modbus settings.
type Device struct {
	ID      string
	Profile *drivers.Profile
	Config  Config
	// Critical names the device's critical points: those a rule of
	// severity critical reads (the app works them out from the rules; it
	// is not a config setting). A critical point the device refuses with
	// exception 2 is not isolated for forgetRefusals like other points:
	// it is read on its own, again every poll. For a device with critical
	// points every poll also carries the health point HealthUnreadable.
	Critical map[string]bool
}

// HealthUnreadable is the point of drivers.HealthMeasurement, written with
// the points of every poll of a device that has critical points, that says
// why critical points did not read: "point: reason; point: reason", empty
// when they all read (rules.UnreadablePoint, in rules.FormatUnreadable's
// format). It lets the rules engine say why in its unreadable alert.
const HealthUnreadable = "unreadable"
