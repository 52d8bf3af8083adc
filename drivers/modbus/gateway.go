package modbus

import (
	"container/heap"
	"context"
	"log/slog"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// maxBackoff bounds how long a device that does not answer sits out.
const maxBackoff = time.Minute

// logEvery is how often the same problem of a device is logged.
const logEvery = 5 * time.Minute

// logMark remembers when a problem was last logged and how often it recurred
// since.
type logMark struct {
	at         time.Time
	suppressed int
}

// runGateway polls the devices of one gateway, one at a time over one
// connection, each at its own interval, until ctx is done. Writes queued by
// Poller.Write go between polls.
func (p *Poller) runGateway(ctx context.Context, g *gateway, sink drivers.Sink) {
	c := p.newConn(g.cfg)
	defer c.Close()
	now := time.Now()
	due := make(schedule, len(g.devices))
	for i, d := range g.devices {
		d.next = now
		d.fire = now.Add(p.jitter(d.Config.Jitter))
		d.order = i
		due[i] = d
	}
	heap.Init(&due)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tc, _ := c.(*tcpConn)
	var partner *device // the device whose replies the last ganged exchange keeps
	for {
		d := due[0]
		if wait := time.Until(d.fire); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case w := <-g.writes:
				timer.Stop() // since Go 1.23 no stale tick is left to drain
				w.done <- w.run(c)
				continue
			case <-timer.C:
			}
		} else {
			select { // polls that overrun must not starve writes
			case w := <-g.writes:
				w.done <- w.run(c)
			default:
			}
		}
		if ctx.Err() != nil {
			return
		}
		// Two devices due at once go in one exchange (tcpConn.gang): the
		// partner is the next to fire, so its poll follows this one.
		if tc != nil {
			switch {
			case d == partner && time.Since(tc.gangedAt) < maxGangedAge:
				// Its replies are in (and fresh: the poll before did not
				// wait on a timeout): poll it, no new gang.
				partner = nil
			default:
				tc.pre, partner = [2]gangedReplies{}, nil
				if e := due.next(); e != nil && !e.fire.After(time.Now()) && tc.pipelined() && !tc.noGang && canGang(d, e) {
					if tc.gang(d, e) {
						partner = e
					} else {
						p.logger.Info("modbus gateway did not answer two devices' requests in one exchange: one device an exchange from now on",
							"address", d.Config.Address, "devices", []string{d.ID, e.ID})
					}
				}
			}
		}
		p.cycle(ctx, c, d, sink)
		heap.Fix(&due, 0) // cycle moved its fire time on
	}
}

// maxGangedAge is how old the replies a ganged exchange read for a device
// may be when its poll takes them; older ones (the poll before waited on a
// timeout) are dropped and read again, so that a reading is stamped within
// this of when it was read.
const maxGangedAge = 100 * time.Millisecond

// next is the device that fires after the first: the earlier of the root's
// children.
func (s schedule) next() *device {
	switch {
	case len(s) < 2:
		return nil
	case len(s) == 2 || s.Less(1, 2):
		return s[1]
	}
	return s[2]
}

// schedule is a gateway's devices as a min-heap on when they fire next,
// ties in config order: picking the next device costs O(log n), not a scan
// of every device of the gateway per poll.
type schedule []*device

func (s schedule) Len() int { return len(s) }
func (s schedule) Less(i, j int) bool {
	if !s[i].fire.Equal(s[j].fire) {
		return s[i].fire.Before(s[j].fire)
	}
	return s[i].order < s[j].order
}
func (s schedule) Swap(i, j int) { s[i], s[j] = s[j], s[i] }
func (s *schedule) Push(x any)   { *s = append(*s, x.(*device)) }
func (s *schedule) Pop() any {
	old := *s
	d := old[len(old)-1]
	*s = old[:len(old)-1]
	return d
}

// cycle serves one tick of a device: it polls it, or lets it sit out a
// tick of back-off, then puts its samples and health and schedules the next
// tick. Ticks that passed while the poll ran (or waited for other devices
// on the gateway) are skipped and counted, never made up.
func (p *Poller) cycle(ctx context.Context, c conn, d *device, sink drivers.Sink) {
	due, t := d.next, time.Now()
	var res pollResult
	polled := d.backoff == 0
	if polled {
		res = d.poll(ctx, c, t)
		if ctx.Err() != nil {
			return // shutting down: the poll may be incomplete
		}
		if d.Config.Workarounds.CloseAfterPoll {
			_ = c.Close()
		}
	} else {
		d.backoff--
	}

	interval := d.Config.Interval
	d.next = due.Add(interval)
	if end := time.Now(); end.After(d.next) {
		k := (end.Sub(d.next) + interval - 1) / interval
		d.next = d.next.Add(k * interval)
		d.skipped += int64(k)
	}
	d.fire = d.next.Add(p.jitter(d.Config.Jitter))
	d.errors += int64(len(res.problems))

	prev := d.status
	switch {
	case !polled:
		d.status = drivers.StatusOffline
	case !res.answered:
		d.failures++
		d.backoff = backoffTicks(d.failures, interval)
		d.status = drivers.StatusOffline
	case len(res.problems) > 0:
		d.failures = 0
		d.status = drivers.StatusDegraded
	default:
		d.failures = 0
		d.status = drivers.StatusOnline
	}
	p.logPoll(d, prev, res, t)
	p.setState(d, polled, res, t)

	// One put per tick: the points (if it answered), then the health, so
	// that the sink (the rules among it) takes a poll as a whole, at half the
	// calls.
	up := polled && res.answered
	points := (*d.buf)[:0]
	if up {
		points = d.samples
	}
	all := d.appendHealth(points, up, res.latency, t)
	d.samples = all[:len(points)]
	*d.buf = all[:0] // keeps the room for the next poll
	p.put(ctx, sink, all)
}

// healthSamples is how many health samples a tick has at most.
const healthSamples = 5

// appendHealth appends the health samples of a tick to dst.
func (d *device) appendHealth(dst []drivers.Sample, up bool, latency time.Duration, t time.Time) []drivers.Sample {
	h := drivers.Sample{Time: t, Device: d.ID, Measurement: drivers.HealthMeasurement, Quality: drivers.Good}
	add := func(point string, v drivers.Value) {
		h.Point, h.Value = point, v
		dst = append(dst, h)
	}
	add(drivers.HealthUp, drivers.Bool(up))
	add(healthState, drivers.String(string(d.status)))
	add(drivers.HealthErrors, drivers.Int(d.errors))
	add(drivers.HealthSkipped, drivers.Int(d.skipped))
	if up {
		add(drivers.HealthLatency, drivers.Float(float64(latency)/float64(time.Millisecond)))
	}
	return dst
}

// backoffTicks is how many ticks a device sits out after its n-th
// consecutive failure: 1, 2, 4, ... up to about maxBackoff.
func backoffTicks(n int, interval time.Duration) int {
	ticks := 1 << min(n-1, 20)
	return max(1, min(ticks, int(maxBackoff/interval)))
}

func (p *Poller) put(ctx context.Context, sink drivers.Sink, samples []drivers.Sample) {
	p.sinkMu.Lock()
	defer p.sinkMu.Unlock()
	sink.Put(ctx, samples)
}

func (p *Poller) setState(d *device, polled bool, res pollResult, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := d.state
	st.Status, st.Errors, st.Skipped = d.status, d.errors, d.skipped
	st.Failures, st.Backoff, st.Requests = d.failures, d.backoff, d.sent
	if polled {
		st.LastPoll = t
		st.LastError = ""
		if len(res.problems) > 0 {
			st.LastError = res.problems[0].err.Error()
		}
		if res.answered {
			st.LastAnswer, st.Latency = t, res.latency
		}
	}
}

// logPoll logs a device going offline or coming back at once, and its
// other problems at most once per logEvery each.
func (p *Poller) logPoll(d *device, prev drivers.Status, res pollResult, t time.Time) {
	if res.unpipelined != nil {
		p.logger.Info("modbus gateway does not answer pipelined requests: polling it one request at a time",
			"address", d.Config.Address, "device", d.ID, "unit", d.Config.UnitID, "error", res.unpipelined)
	}
	if len(res.problems) == 0 && (d.status == drivers.StatusOffline) == (prev == drivers.StatusOffline) {
		return // the common case: nothing to say, and nothing to allocate
	}
	log := p.logger.With("device", d.ID, "unit", d.Config.UnitID, "address", d.Config.Address)
	switch {
	case d.status == drivers.StatusOffline && prev != drivers.StatusOffline && len(res.problems) > 0:
		log.Warn("modbus device not answering", "error", res.problems[0].err, "retry_after", time.Duration(d.backoff+1)*d.Config.Interval)
		return
	case d.status != drivers.StatusOffline && prev == drivers.StatusOffline:
		log.Info("modbus device answering again")
	}
	if !res.answered {
		return
	}
	if d.logged == nil {
		d.logged = map[string]logMark{}
	}
	for _, pr := range res.problems {
		m, seen := d.logged[pr.key]
		if seen && t.Sub(m.at) < logEvery {
			m.suppressed++
			d.logged[pr.key] = m
			continue
		}
		log.Warn("modbus read problem", "error", pr.err, slog.Int("repeats_not_logged", m.suppressed))
		d.logged[pr.key] = logMark{at: t}
	}
}
