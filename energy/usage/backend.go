package usage

import (
	"errors"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// Backend is the query language the engine aggregates in.
type Backend string

// Backends. Both compute the same window aggregates in InfluxDB and give the
// same consumption.
const (
	// InfluxQLBackend aggregates with InfluxQL's GROUP BY time() on /query:
	// 1.8 natively, 2.x and Cloud through their v1-compatible /query (the
	// bucket needs a DBRP mapping). It is the default: on 1.8 it is some
	// tens of times faster than Flux 0.65, which cannot push windows down
	// to storage.
	InfluxQLBackend Backend = "influxql"
	// FluxBackend aggregates with Flux: for a 2.x whose bucket has no DBRP
	// mapping, where Flux also pushes its window aggregates down.
	FluxBackend Backend = "flux"
)

// UnmarshalYAML accepts influxql or flux.
func (b *Backend) UnmarshalYAML(n *yaml.Node) error {
	v, err := yamlstrict.Enum(n, "query", InfluxQLBackend, FluxBackend)
	*b = v
	return err
}

// ErrBadQuery is what Consumption's errors wrap when the query is at fault
// (an unknown meter, an empty range, too many slots), not InfluxDB: an API
// answers them 400.
var ErrBadQuery = errors.New("bad consumption query")

// ErrSource is what Consumption's errors wrap when InfluxDB failed or
// answered what the engine cannot read: an API answers them 502.
var ErrSource = errors.New("influxdb failed")

// badQuery marks err as the query's fault.
func badQuery(err error) error { return tagged{err, ErrBadQuery} }

// sourceError marks err as InfluxDB's.
func sourceError(err error) error { return tagged{err, ErrSource} }

// tagged is an error that also is one of the sentinels, without changing
// its text.
type tagged struct {
	err  error
	kind error
}

func (t tagged) Error() string   { return t.err.Error() }
func (t tagged) Unwrap() []error { return []error{t.err, t.kind} }
