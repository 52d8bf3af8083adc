package store

import "sync"

// memQueue holds records in memory: the whole queue when there is no spool
// directory, and batches the spool could not take (disk full or failing).
// It holds at most max samples; past that the oldest records are dropped
// and counted, except the one in flight.
type memQueue struct {
	mu       sync.Mutex
	recs     []*record
	samples  int64
	max      int64
	inflight *record
	dropped  int64
}

func newMemQueue(max int) *memQueue { return &memQueue{max: int64(max)} }

func (m *memQueue) append(rec *record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, rec)
	m.samples += int64(rec.samples)
	for m.samples > m.max && len(m.recs) > 1 {
		i := 0
		if m.recs[0] == m.inflight {
			i = 1
		}
		if i == len(m.recs)-1 { // only the newest is left to drop: keep it
			break
		}
		m.samples -= int64(m.recs[i].samples)
		m.dropped += int64(m.recs[i].samples)
		m.recs = append(m.recs[:i], m.recs[i+1:]...)
	}
}

// next returns the oldest record, in flight until ack, or nil.
func (m *memQueue) next() *record {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inflight == nil && len(m.recs) > 0 {
		m.inflight = m.recs[0]
	}
	return m.inflight
}

func (m *memQueue) ack(rec *record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) > 0 && m.recs[0] == rec {
		m.recs[0] = nil
		m.recs = m.recs[1:]
		m.samples -= int64(rec.samples)
	}
	if m.inflight == rec {
		m.inflight = nil
	}
}

// stats returns the samples held and dropped.
func (m *memQueue) stats() (pending, dropped int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.samples, m.dropped
}
