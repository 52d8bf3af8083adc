// Package handoff keeps alert transitions on their way to tickets in a
// durable queue, so that a ticket database that is locked, full or broken
// loses none of them: a transition is appended to a journal file before the
// alert engine goes on, applied to tickets with retries, and marked done
// only once its ticket change committed. Every change carries an id that
// the ticket store records in the same transaction, so a change applied
// just before a crash is skipped, not applied twice, when the journal
// replays it at the next start.
package handoff

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/facilityd/facilityd/tickets"
)

// compactAt is the journal size past which an empty queue truncates it.
const compactAt = 1 << 20

// record is one line of the journal: a change queued, or ids done.
type record struct {
	Add  *tickets.Change `json:"add,omitempty"`
	Done []string        `json:"done,omitempty"`
}

// Journal is the durable queue. It is safe for concurrent use: the alert
// engine's goroutine appends, the ticket queue's goroutine takes and marks
// done.
type Journal struct {
	path string

	mu      sync.Mutex
	f       *os.File
	size    int64
	dirty   bool             // written since the last Sync
	pending []tickets.Change // in order
	wake    chan struct{}    // has a value when changes were appended
}

// Open opens or creates the journal at path and reads what was queued and
// not done. A torn last line (a crash in the middle of a write) is cut
// off; other unreadable lines are skipped and reported in skipped.
func Open(path string) (j *Journal, skipped int, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, 0, fmt.Errorf("ticket queue: %w", err)
	}
	j = &Journal{path: path, f: f, wake: make(chan struct{}, 1)}
	good, skipped, err := j.read()
	if err == nil {
		err = f.Truncate(good) // drop a torn tail, so appends start on a new line
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("ticket queue %s: %w", path, err)
	}
	j.size = good
	if len(j.pending) > 0 {
		j.wake <- struct{}{}
	}
	return j, skipped, nil
}

// read loads the pending changes and returns the length of the journal up
// to its last complete line.
func (j *Journal) read() (good int64, skipped int, err error) {
	r := bufio.NewReader(j.f)
	done := map[string]bool{}
	var adds []tickets.Change
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break // a line without its newline is torn: not counted
		}
		if err != nil {
			return 0, 0, err
		}
		good += int64(len(line))
		var rec record
		if err := json.Unmarshal(bytes.TrimSpace(line), &rec); err != nil || (rec.Add == nil && rec.Done == nil) {
			skipped++
			continue
		}
		if rec.Add != nil {
			adds = append(adds, *rec.Add)
		}
		for _, id := range rec.Done {
			done[id] = true
		}
	}
	for _, c := range adds {
		if !done[c.ID] {
			j.pending = append(j.pending, c)
		}
	}
	return good, skipped, nil
}

// Append queues changes, giving each an id. The lines are written at once,
// so that they survive a crash of the process; Sync makes them survive a
// power cut too (the ticket queue syncs before it applies).
func (j *Journal) Append(cs []tickets.Change) error {
	if len(cs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	out := make([]tickets.Change, len(cs))
	for i, c := range cs {
		if c.ID == "" {
			c.ID = newID()
		}
		out[i] = c
		line, err := json.Marshal(record{Add: &c})
		if err != nil {
			return fmt.Errorf("ticket queue: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.write(buf.Bytes()); err != nil {
		return err
	}
	j.pending = append(j.pending, out...)
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return nil
}

// write appends b; a failed write is cut back off, so the journal never
// holds half a line before the next one.
func (j *Journal) write(b []byte) error {
	n, err := j.f.Write(b)
	if err != nil {
		j.f.Truncate(j.size)
		j.f.Seek(j.size, io.SeekStart)
		return fmt.Errorf("ticket queue %s: %w", j.path, err)
	}
	j.size += int64(n)
	j.dirty = true
	return nil
}

// Sync flushes what was appended to disk.
func (j *Journal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.dirty {
		return nil
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("ticket queue %s: %w", j.path, err)
	}
	j.dirty = false
	return nil
}

// Peek returns up to max of the oldest pending changes, in order.
func (j *Journal) Peek(max int) []tickets.Change {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := min(max, len(j.pending))
	out := make([]tickets.Change, n)
	copy(out, j.pending[:n])
	return out
}

// Done marks the n oldest pending changes applied. It is not synced: a
// done line lost to a power cut only makes the store skip the change again
// by its id.
func (j *Journal) Done(n int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	n = min(n, len(j.pending))
	if n == 0 {
		return nil
	}
	ids := make([]string, n)
	for i := range n {
		ids[i] = j.pending[i].ID
	}
	j.pending = j.pending[n:]
	if len(j.pending) == 0 && j.size > compactAt {
		return j.truncate()
	}
	line, err := json.Marshal(record{Done: ids})
	if err != nil {
		return err
	}
	return j.write(append(line, '\n'))
}

// truncate empties the journal of an empty queue.
func (j *Journal) truncate() error {
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("ticket queue %s: %w", j.path, err)
	}
	if _, err := j.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("ticket queue %s: %w", j.path, err)
	}
	j.size, j.dirty = 0, true
	j.pending = nil
	return nil
}

// Len is how many changes wait.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending)
}

// Wake has a value after changes were appended.
func (j *Journal) Wake() <-chan struct{} { return j.wake }

// Close closes the file; what is pending stays in it for the next Open.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.dirty {
		j.f.Sync()
	}
	return j.f.Close()
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
