package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/simonvetter/modbus"
)

// maxClients bounds concurrent connections: a poller per device, the demo's
// tools, and connections an offline device is still holding.
const maxClients = 64

// listen starts the Modbus TCP server and returns it with the address it
// listens on.
func (s *Sim) listen() (*modbus.ModbusServer, string, error) {
	_, port, _ := net.SplitHostPort(s.cfg.Addr) // checked by New
	libLog := slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug)
	for attempt := 1; ; attempt++ {
		addr := s.cfg.Addr
		if port == "0" {
			// simonvetter/modbus opens its own listener and does not tell
			// which port it got, so find a free port first and hand it over.
			// Another process may take it in between: hence the retries.
			var err error
			if addr, err = freeAddr(s.cfg.Addr); err != nil {
				return nil, "", fmt.Errorf("sim: listen on %s: %w", s.cfg.Addr, err)
			}
		}
		srv, err := modbus.NewServer(&modbus.ServerConfiguration{
			URL:        "tcp://" + addr,
			MaxClients: maxClients,
			Logger:     libLog,
		}, handler{s})
		if err != nil {
			return nil, "", fmt.Errorf("sim: listen on %s: %w", addr, err)
		}
		err = srv.Start()
		if err == nil {
			return srv, addr, nil
		}
		if port != "0" || attempt == 5 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, "", fmt.Errorf("sim: listen on %s: %w", addr, err)
		}
	}
}

// freeAddr returns addr with its port 0 replaced by a port free right now.
func freeAddr(addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// handler answers requests from the devices' register maps. It is read-only:
// every write is refused with exception 1 (illegal function).
type handler struct{ s *Sim }

var _ modbus.RequestHandler = handler{}

// HandleCoils serves FC01.
func (h handler) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	return readBits(h.s, req.UnitId, drivers.Coil, req.Addr, req.Quantity, req.IsWrite)
}

// HandleDiscreteInputs serves FC02.
func (h handler) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	return readBits(h.s, req.UnitId, drivers.Discrete, req.Addr, req.Quantity, false)
}

// HandleHoldingRegisters serves FC03.
func (h handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	return readRegisters(h.s, req.UnitId, drivers.Holding, req.Addr, req.Quantity, req.IsWrite)
}

// HandleInputRegisters serves FC04.
func (h handler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	return readRegisters(h.s, req.UnitId, drivers.Input, req.Addr, req.Quantity, false)
}

func readRegisters(s *Sim, unit uint8, kind drivers.RegisterKind, addr, qty uint16, write bool) ([]uint16, error) {
	d, err := s.lookup(unit, write)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return window(d, d.regs.table(kind), kind, addr, qty)
}

func readBits(s *Sim, unit uint8, kind drivers.RegisterKind, addr, qty uint16, write bool) ([]bool, error) {
	d, err := s.lookup(unit, write)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return window(d, d.regs.bits(kind), kind, addr, qty)
}

// lookup finds the device a request is for, or returns the error that makes
// the server answer as the device would: exception 11 (gateway target failed
// to respond) for a unit nobody plays, no answer at all when the device is
// offline, exception 1 for a write.
func (s *Sim) lookup(unit uint8, write bool) (*device, error) {
	d := s.units[unit]
	if d == nil {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	d.served.Add(1)
	s.mu.RLock()
	offline := d.active[FaultOffline]
	s.mu.RUnlock()
	if offline {
		// Keep the request past the poller's timeout, then drop the
		// connection: the library closes it on a protocol error without
		// answering. The hold is bounded so that held connections do not
		// pile up to maxClients.
		t := time.NewTimer(s.cfg.OfflineHold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.done:
		}
		return nil, modbus.ErrProtocolError
	}
	if write {
		return nil, modbus.ErrIllegalFunction
	}
	return d, nil
}

// window returns a copy of tbl[addr:addr+qty], or exception 2 when the range
// runs past the table or covers the register the exception fault refuses.
// Callers hold s.mu.
func window[T any](d *device, tbl []T, kind drivers.RegisterKind, addr, qty uint16) ([]T, error) {
	end := int(addr) + int(qty)
	if end > len(tbl) {
		return nil, modbus.ErrIllegalDataAddress
	}
	if d.active[FaultException] && d.refuse.Register == kind &&
		int(d.refuse.addr) >= int(addr) && int(d.refuse.addr) < end {
		return nil, modbus.ErrIllegalDataAddress
	}
	return slices.Clone(tbl[addr:end]), nil
}
