package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// ReadOnce connects to one device, reads all its points once and returns
// their samples, for commissioning. Points that failed are in the result
// with Quality Bad and their errors are joined into the error; a device that
// does not answer gives no samples.
func ReadOnce(ctx context.Context, dev Device) ([]drivers.Sample, error) {
	return readOnceWith(ctx, dev, newConn)
}

func readOnceWith(ctx context.Context, dev Device, open connFactory) ([]drivers.Sample, error) {
	readings, err := inspectWith(ctx, dev, open)
	if readings == nil {
		return nil, err
	}
	samples := make([]drivers.Sample, len(readings))
	for i := range readings {
		samples[i] = readings[i].Sample
	}
	return samples, err
}

// PointReading is one point of a commissioning read.
type PointReading struct {
	// Point is the profile's point, its Address the wire address.
	Point drivers.Point
	// Raw holds the registers the value was decoded from, as they arrived
	// (coils and discrete inputs: one register, 0 or 1); nil if the point
	// was not read.
	Raw []uint16
	// Sample is the decoded value; Quality Bad if it could not be read.
	Sample drivers.Sample
}

// Inspect reads every point of one device once, like ReadOnce, and returns
// them in profile order with the raw registers behind each value, so that
// an integrator can check byte order, scale and addresses against the
// device's own display. A device that does not answer gives no readings.
func Inspect(ctx context.Context, dev Device) ([]PointReading, error) {
	return inspectWith(ctx, dev, newConn)
}

func inspectWith(ctx context.Context, dev Device, open connFactory) ([]PointReading, error) {
	d, err := newDevice(dev)
	if err != nil {
		return nil, err
	}
	d.raw = map[string][]uint16{}
	c := open(d.Config)
	defer c.Close()
	res := d.poll(ctx, c, time.Now())
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	errs := make([]error, len(res.problems))
	for i, pr := range res.problems {
		errs[i] = fmt.Errorf("device %q: %w", d.ID, pr.err)
	}
	if !res.answered {
		return nil, errors.Join(errs...)
	}
	byName := map[string]drivers.Sample{}
	for _, s := range d.samples {
		byName[s.Point] = s
	}
	out := make([]PointReading, 0, len(d.Profile.Points))
	for i := range d.Profile.Points {
		p := d.Profile.Points[i]
		if a, err := WireAddress(d.Profile, &p); err == nil {
			p.Address = uint32(a)
		}
		s, ok := byName[p.Name]
		if !ok {
			continue
		}
		out = append(out, PointReading{Point: p, Raw: d.raw[p.Name], Sample: s})
	}
	return out, errors.Join(errs...)
}

// ReadRange reads count registers (or coils, or discrete inputs) of one
// table from wire address start, in as many requests as the limits of
// cfg's workarounds need, for commissioning. Bits come back as registers
// holding 0 or 1.
func ReadRange(ctx context.Context, cfg Config, kind drivers.RegisterKind, start uint16, count int) ([]uint16, error) {
	return readRangeWith(ctx, cfg, kind, start, count, newConn)
}

func readRangeWith(ctx context.Context, cfg Config, kind drivers.RegisterKind, start uint16, count int, open connFactory) ([]uint16, error) {
	cfg = cfg.WithDefaults()
	if errs := cfg.Check(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	limit := cfg.Workarounds.MaxRegisters
	switch kind {
	case drivers.Coil, drivers.Discrete:
		limit = cfg.Workarounds.MaxBits
	case drivers.Holding, drivers.Input:
	default:
		return nil, fmt.Errorf("unknown register %q: use %s", kind, strings.Join(drivers.RegisterKinds, ", "))
	}
	if count < 1 || int(start)+count > 1<<16 {
		return nil, fmt.Errorf("%d registers from %d: want 1 or more, ending at 65535 at most", count, start)
	}
	c := open(cfg)
	defer c.Close()
	c.SetUnit(cfg.UnitID, cfg.Timeout)
	out := make([]uint16, 0, count)
	for len(out) < count {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := Request{Register: kind, Address: start + uint16(len(out)), Quantity: uint16(min(limit, count-len(out)))}
		var res pollResult
		data, err := read(ctx, c, &r, &res)
		if err != nil {
			return out, fmt.Errorf("%s (unit %d): %w", &r, cfg.UnitID, err)
		}
		n := int(r.Quantity)
		if kind.IsBit() {
			if len(data) < (n+7)/8 {
				return out, fmt.Errorf("%s: %w: %d bytes for %d bits", &r, errShortResponse, len(data), n)
			}
			for i := range n {
				out = append(out, uint16(data[i/8]>>(i%8)&1))
			}
			continue
		}
		if len(data) < 2*n {
			return out, fmt.Errorf("%s: %w: %d bytes for %d registers", &r, errShortResponse, len(data), n)
		}
		for i := range n {
			out = append(out, binary.BigEndian.Uint16(data[2*i:]))
		}
	}
	return slices.Clip(out), nil
}
