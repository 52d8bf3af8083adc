package mqtt

import "sync"

// outMsg is one outbound message.
type outMsg struct {
	topic    string
	payload  []byte
	retained bool
	version  uint64 // tells a newer retained payload, or another event, from the one sent
}

// outbox holds what waits to be published: events in order (bounded: the
// oldest are dropped, and counted, while the broker is away) and the latest
// payload of every retained topic, all of which are sent again after each
// reconnect.
type outbox struct {
	mu        sync.Mutex
	max       int
	events    []outMsg
	retained  map[string]*outMsg
	pending   []string // retained topics not yet sent
	queued    map[string]bool
	version   uint64
	published int64
	dropped   int64
	wake      chan struct{}
}

func newOutbox(max int) *outbox {
	return &outbox{max: max, retained: map[string]*outMsg{}, queued: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// push queues an event; it reports false when an older event was dropped
// to make room.
func (o *outbox) push(topic string, payload []byte) bool {
	o.mu.Lock()
	ok := true
	if len(o.events) >= o.max {
		o.events = o.events[1:]
		o.dropped++
		ok = false
	}
	o.version++
	o.events = append(o.events, outMsg{topic: topic, payload: payload, version: o.version})
	o.mu.Unlock()
	o.signal()
	return ok
}

// retain sets the payload of a retained topic; an unchanged payload is not
// sent again.
func (o *outbox) retain(topic string, payload []byte) {
	o.mu.Lock()
	m := o.retained[topic]
	if m != nil && string(m.payload) == string(payload) {
		o.mu.Unlock()
		return
	}
	o.version++
	o.retained[topic] = &outMsg{topic: topic, payload: payload, retained: true, version: o.version}
	o.enqueue(topic)
	o.mu.Unlock()
	o.signal()
}

func (o *outbox) enqueue(topic string) {
	if !o.queued[topic] {
		o.queued[topic] = true
		o.pending = append(o.pending, topic)
	}
}

// resendRetained queues every retained topic again, for a new connection
// (the broker may have lost them) or a Home Assistant restart.
func (o *outbox) resendRetained() {
	o.mu.Lock()
	for t := range o.retained {
		o.enqueue(t)
	}
	o.mu.Unlock()
	o.signal()
}

// next returns the next message to send: retained topics first, so status
// is current before events arrive.
func (o *outbox) next() (outMsg, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(o.pending) > 0 {
		if m := o.retained[o.pending[0]]; m != nil {
			return *m, true
		}
		delete(o.queued, o.pending[0])
		o.pending = o.pending[1:]
	}
	if len(o.events) > 0 {
		return o.events[0], true
	}
	return outMsg{}, false
}

// sent removes a message that the broker took.
func (o *outbox) sent(m outMsg) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.published++
	if m.retained {
		if len(o.pending) > 0 && o.pending[0] == m.topic {
			cur := o.retained[m.topic]
			if cur == nil || cur.version == m.version { // else a newer payload waits
				delete(o.queued, m.topic)
				o.pending = o.pending[1:]
			}
		}
		return
	}
	if len(o.events) > 0 && o.events[0].version == m.version {
		o.events = o.events[1:]
	}
}

func (o *outbox) counts() (published, dropped int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.published, o.dropped
}
