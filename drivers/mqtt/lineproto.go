package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	protocol "github.com/influxdata/line-protocol"
)

// decodeJSON decodes one JSON document, keeping numbers as json.Number so
// that large integer counters keep every digit.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("invalid JSON: empty payload")
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the document")
	}
	return v, nil
}

// lineParser reads InfluxDB line protocol with influxdata/line-protocol.
// It is not safe for concurrent use; the driver's mutex serializes it.
type lineParser struct {
	handler *protocol.MetricHandler
	parser  *protocol.Parser
}

func newLineParser() *lineParser {
	h := protocol.NewMetricHandler()
	// A zero time marks lines without a timestamp; the caller stamps them.
	h.SetTimeFunc(func() time.Time { return time.Time{} })
	return &lineParser{handler: h, parser: protocol.NewParser(h)}
}

// parse calls field for every field of every line. Timestamps are integers
// in units of precision; a line whose timestamp does not fit int64
// nanoseconds is left out and passed to bad, and the other lines are read.
// The error returned is the payload's: it did not parse.
func (lp *lineParser) parse(payload []byte, precision time.Duration, field func(t time.Time, stamped bool, key string, v any), bad func(error)) (err error) {
	defer func() { // the parser is generated code: never let it take the consumer down
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid line protocol: parser failed: %v", r)
		}
	}()
	// The handler multiplies by the precision and wraps around on overflow:
	// take the integer as it is written, and convert it here.
	lp.handler.SetTimePrecision(time.Nanosecond)
	metrics, err := lp.parser.Parse(payload)
	if err != nil {
		return fmt.Errorf("invalid line protocol: %s", clip(err.Error()))
	}
	if len(metrics) == 0 {
		return errors.New("invalid line protocol: no line")
	}
	for _, m := range metrics {
		t := m.Time()
		stamped := !t.IsZero()
		if stamped {
			if t, err = unixTime(t.UnixNano(), precision); err != nil {
				bad(err)
				continue
			}
		}
		for _, f := range m.FieldList() {
			field(t, stamped, f.Key, f.Value)
		}
	}
	return nil
}
