// Package web serves the HTTP API, the dashboard, /metrics and /healthz.
package web

import (
	"fmt"
	"net"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Config is the http section of the config file.
type Config struct {
	Listen string `yaml:"listen"`
	// Read says whether reading (GET of /api/..., /metrics) needs a token
	// too: token or open. Unset, it is open on a loopback address and
	// token anywhere else (see EffectiveRead).
	Read ReadMode `yaml:"read"`
	// Tokens may use the API; anything that changes state needs one.
	Tokens []Token `yaml:"tokens"`
	// Pprof, when set, serves Go's profiler (net/http/pprof) on this
	// address, which must be a loopback one: off by default, and never
	// on the API's port.
	Pprof string `yaml:"pprof"`
}

// ReadMode says who may read the API and /metrics.
type ReadMode string

// Read modes. /healthz and the dashboard's static files are open in both.
const (
	// ReadDefault is an unset mode: open on loopback, token elsewhere.
	ReadDefault ReadMode = ""
	// ReadToken: every read needs a token of any role (viewer or better).
	ReadToken ReadMode = "token"
	// ReadOpen: anyone who reaches the port may read.
	ReadOpen ReadMode = "open"
)

// Validate reports a mode other than token, open or unset.
func (m ReadMode) Validate() error {
	switch m {
	case ReadDefault, ReadToken, ReadOpen:
		return nil
	}
	return fmt.Errorf("http.read: unknown value %q: use token or open", string(m))
}

// UnmarshalYAML accepts token or open.
func (m *ReadMode) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "value", ReadToken, ReadOpen)
	*m = v
	return err
}

// Validate reports what is wrong with the http section that decoding does
// not catch.
func (c Config) Validate() error {
	if err := c.Read.Validate(); err != nil {
		return err
	}
	if c.Pprof != "" {
		if _, _, err := net.SplitHostPort(c.Pprof); err != nil || !IsLoopback(c.Pprof) {
			return fmt.Errorf("http.pprof: %q: want a loopback host:port such as 127.0.0.1:6060 (the profiler shows the daemon's memory: never expose it)", c.Pprof)
		}
	}
	return nil
}

// EffectiveRead is Read, or when unset its default for Listen: open on a
// loopback address (127.0.0.0/8, ::1, localhost), token anywhere else,
// all interfaces (":8080") included.
func (c Config) EffectiveRead() ReadMode {
	if c.Read != ReadDefault {
		return c.Read
	}
	return defaultRead(c.Listen)
}

func defaultRead(listen string) ReadMode {
	if IsLoopback(listen) {
		return ReadOpen
	}
	return ReadToken
}

// IsLoopback says whether a listen address (host:port, or a bare host) is
// reachable only from this machine.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
