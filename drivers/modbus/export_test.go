package modbus

import (
	"context"
	"sync"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// Hooks for the benchmarks in package modbus_test, which may import the
// simulator where package modbus may not.
var (
	CPUTime        = cpuTime
	ReferenceMeter = referenceMeter
	FortyPoints    = fortyPoints
)

// Cycler polls every device of a Poller once per Cycle over real
// connections, the gateways in parallel as Run does, but without Run's
// schedule, so that a benchmark op is one full cycle.
type Cycler struct {
	p     *Poller
	conns []conn
}

// NewCycler opens a connection per gateway of p.
func NewCycler(p *Poller) *Cycler {
	c := &Cycler{p: p}
	for _, g := range p.gateways {
		c.conns = append(c.conns, newConn(g.cfg))
	}
	return c
}

// Cycle polls every device once and waits for all of them.
func (c *Cycler) Cycle(ctx context.Context, sink drivers.Sink) {
	var wg sync.WaitGroup
	now := time.Now()
	for i, g := range c.p.gateways {
		wg.Go(func() {
			for _, d := range g.devices {
				d.next = now
				c.p.cycle(ctx, c.conns[i], d, sink)
			}
		})
	}
	wg.Wait()
}

// Close closes the connections.
func (c *Cycler) Close() {
	for _, cn := range c.conns {
		_ = cn.Close()
	}
}
