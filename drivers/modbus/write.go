package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/facilityd/facilityd/drivers"
	"github.com/goburrow/modbus"
)

// errNotRunning is returned by Write when no Run serves the gateways.
var errNotRunning = errors.New("modbus: the poller is not running")

// writeReq is a write waiting for its gateway's goroutine, which owns the
// connection; run sends it and done (buffered) receives the outcome.
type writeReq struct {
	run  func(c conn) error
	done chan error
}

// Write sets a point of a device to the engineering value v (scale and
// offset undone; an enumeration point takes the code; a bool 0 or 1). It
// refuses unless the device's Config has Writable set, and refuses points
// of read-only tables, bit points (writing one bit would overwrite the rest
// of the register) and strings. The write goes over the device's gateway
// between two polls. Coils use FC05, single registers FC06, wider values
// FC16.
func (p *Poller) Write(ctx context.Context, deviceID, point string, v float64) error {
	d := p.byID[deviceID]
	if d == nil {
		return fmt.Errorf("modbus: unknown device %q", deviceID)
	}
	if !d.Config.Writable {
		return fmt.Errorf("device %q is not writable: set writable: true in its modbus config to allow writes", deviceID)
	}
	pt := d.Profile.Point(point)
	if pt == nil {
		return fmt.Errorf("device %q: no point %q in profile %s", deviceID, point, d.Profile.Type)
	}
	send, err := writeOp(d.Profile, pt, v)
	if err != nil {
		return fmt.Errorf("device %q: %w", deviceID, err)
	}
	var g *gateway
	for _, gw := range p.gateways {
		for _, e := range gw.devices {
			if e == d {
				g = gw
			}
		}
	}
	if !p.running.Load() {
		return errNotRunning
	}
	unit, timeout := d.Config.UnitID, d.Config.Timeout
	w := &writeReq{done: make(chan error, 1), run: func(c conn) error {
		c.SetUnit(unit, timeout)
		err := send(c)
		var me *modbus.ModbusError
		if err != nil && !errors.As(err, &me) {
			_ = c.Close() // as after a failed read: a late reply must not answer the next request
		}
		return err
	}}
	select {
	case g.writes <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stopped:
		return errNotRunning
	}
	select {
	case err := <-w.done:
		if err != nil {
			return fmt.Errorf("device %q: writing point %q (unit %d): %w", deviceID, point, unit, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err() // the write may still go out
	}
}

// writeOp checks that point pt can be written with v and returns the
// request that writes it.
func writeOp(prof *drivers.Profile, pt *drivers.Point, v float64) (func(conn) error, error) {
	if err := CheckPoint(pt); err != nil {
		return nil, err
	}
	addr, err := WireAddress(prof, pt)
	if err != nil {
		return nil, err
	}
	wp := *pt
	wp.Address = uint32(addr)
	switch {
	case pt.Register == drivers.Input || pt.Register == drivers.Discrete:
		return nil, pointError(&wp, "%s points are read-only", pt.Register)
	case pt.Type == drivers.TypeBit:
		return nil, pointError(&wp, "a bit point cannot be written alone: it would overwrite the other bits of the register")
	case pt.Type == drivers.TypeString:
		return nil, pointError(&wp, "string points cannot be written")
	case pt.Register == drivers.Coil:
		val := uint16(0)
		if v != 0 {
			val = 0xFF00
		}
		return func(c conn) error { _, err := c.WriteSingleCoil(addr, val); return err }, nil
	}
	regs, err := Encode(&wp, v)
	if err != nil {
		return nil, err
	}
	if len(regs) == 1 {
		return func(c conn) error { _, err := c.WriteSingleRegister(addr, regs[0]); return err }, nil
	}
	b := make([]byte, 2*len(regs))
	for i, r := range regs {
		binary.BigEndian.PutUint16(b[2*i:], r)
	}
	return func(c conn) error { _, err := c.WriteMultipleRegisters(addr, uint16(len(regs)), b); return err }, nil
}
