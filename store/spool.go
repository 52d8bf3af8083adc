package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// spool is the durable queue between the batcher and the sender: records
// appended to segment files in one directory and read back in order. Every
// batch goes through it, whether InfluxDB is up or not, so what a crash can
// take is only what had not reached the spool yet; reading back what was
// just written costs a copy from the page cache.
//
// Segments are named <id>.seg with increasing ids and start with
// segmentMagic; records follow (see record). A segment is only appended to
// by the process that created it, so one left by a crash is never extended
// past a torn record. Segments the sender has finished are deleted. The file
// "ack" holds the position of the first record not yet delivered; it is
// rewritten every flush interval without fsync, since a stale one only makes
// records go out twice, which InfluxDB absorbs (same series and time
// overwrite).
type spool struct {
	dir      string
	policy   FsyncPolicy
	maxBytes int64
	segBytes int64 // rotate after this many bytes
	log      *slog.Logger

	mu       sync.Mutex
	segs     []*segment // oldest first; the last is appended to
	w        *os.File   // the last segment, for writing
	rf       *os.File   // segs[0], for reading
	roff     int64      // next record to read in segs[0]
	inflight *record    // handed to the sender and not acked
	dirty    bool       // written since the last fsync
	saved    [2]int64   // ack position last written
	wbuf     []byte
	st       SpoolStats
}

// segment is one file of the spool.
type segment struct {
	id       uint64
	size     int64 // bytes that hold records (the file may hold a torn tail)
	samples  int64 // in records with a valid header, from the read position
	consumed int64 // of those, handed to the sender or found damaged
	// skips are damaged ranges the opening scan found and reported, by
	// start: the reader jumps over them silently.
	skips map[int64]int64
}

// SpoolStats are the spool's counters (since start) and gauges.
type SpoolStats struct {
	Bytes          int64  `json:"bytes"`
	Segments       int    `json:"segments"`
	Pending        int64  `json:"pending_samples"`
	Spooled        int64  `json:"spooled_samples"`   // appended by this process
	Recovered      int64  `json:"recovered_samples"` // found at start, left by an earlier run
	DroppedFull    int64  `json:"dropped_full"`      // samples dropped at MaxSpoolBytes
	DroppedCorrupt int64  `json:"dropped_corrupt"`   // samples of records whose payload was damaged
	CorruptRecords int64  `json:"corrupt_records"`   // damaged records or ranges skipped
	CorruptBytes   int64  `json:"corrupt_bytes"`
	Errors         int64  `json:"errors"` // failed writes, syncs, reads
	LastProblem    string `json:"last_problem,omitempty"`
}

const (
	segmentMagic = "FDSPOOL1"
	segmentExt   = ".seg"
	ackName      = "ack"
	minSegBytes  = 64 << 10
	maxSegBytes  = 64 << 20
)

// openSpool opens or creates the spool in dir, scans what an earlier run
// left (counting it and reporting damage) and starts a new segment.
func openSpool(dir string, cfg Config, logger *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &spool{
		dir:      dir,
		policy:   cfg.Fsync,
		maxBytes: cfg.MaxSpoolBytes,
		segBytes: min(max(cfg.MaxSpoolBytes/16, minSegBytes), maxSegBytes),
		log:      logger,
	}
	ids, err := s.segmentIDs()
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	ackSeg, ackOff := s.readAck()
	for _, id := range ids {
		if id < ackSeg { // delivered; its deletion did not happen before a crash
			s.remove(id)
			continue
		}
		start := int64(len(segmentMagic))
		if id == ackSeg {
			start = max(ackOff, start)
		}
		seg, err := s.scan(id, start)
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		if seg == nil {
			continue
		}
		if len(s.segs) == 0 {
			s.roff = start
		}
		s.segs = append(s.segs, seg)
		s.st.Recovered += seg.samples
		s.st.Pending += seg.samples
		s.st.Bytes += seg.size
	}
	next := uint64(1)
	if len(ids) > 0 {
		next = ids[len(ids)-1] + 1
	}
	if err := s.create(next); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if len(s.segs) == 1 {
		s.roff = int64(len(segmentMagic))
	}
	if s.st.Recovered > 0 {
		s.log.Info("spool: replaying samples left by an earlier run",
			"dir", dir, "samples", s.st.Recovered, "segments", len(s.segs)-1, "bytes", s.st.Bytes)
	}
	return s, nil
}

func (s *spool) path(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", id, segmentExt))
}

func (s *spool) segmentIDs() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if id, err := strconv.ParseUint(name, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// create starts segment id and makes it the one appended to.
func (s *spool) create(id uint64) error {
	f, err := os.OpenFile(s.path(id), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte(segmentMagic)); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if s.policy != FsyncNever {
		s.syncDir()
	}
	if s.w != nil {
		s.w.Close()
	}
	s.w = f
	s.segs = append(s.segs, &segment{id: id, size: int64(len(segmentMagic))})
	s.st.Bytes += int64(len(segmentMagic))
	return nil
}

// syncDir makes a new or removed segment's directory entry durable.
func (s *spool) syncDir() {
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// append adds rec at the end of the spool, making room first when the spool
// is full. An error means rec is not in the spool.
func (s *spool) append(rec *record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wbuf = rec.appendFrame(s.wbuf[:0])
	n := int64(len(s.wbuf))
	if s.rotates(n) {
		if err := s.rotate(); err != nil {
			return s.fail("rotate", err)
		}
	}
	for s.st.Bytes+n > s.maxBytes && len(s.segs) > 1 {
		s.dropHead()
	}
	last := s.segs[len(s.segs)-1]
	// WriteAt the known end: after a failed, partial write the next record
	// overwrites the torn bytes.
	if _, err := s.w.WriteAt(s.wbuf, last.size); err != nil {
		return s.fail("write", err)
	}
	last.size += n
	last.samples += int64(rec.samples)
	s.st.Bytes += n
	s.st.Pending += int64(rec.samples)
	s.st.Spooled += int64(rec.samples)
	if s.policy == FsyncAlways {
		if err := s.w.Sync(); err != nil {
			s.fail("fsync", err) // the record is written: keep it
		}
	} else {
		s.dirty = true
	}
	return nil
}

// rotates reports whether a record of n bytes starts a new segment.
func (s *spool) rotates(n int64) bool {
	last := s.segs[len(s.segs)-1]
	return last.size > int64(len(segmentMagic)) && last.size+n > s.segBytes
}

// wouldDrop reports whether appending a record of n bytes (framed) would
// drop samples the sender has not taken yet, as append would.
func (s *spool) wouldDrop(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	bytes, segs := s.st.Bytes, len(s.segs)
	if s.rotates(n) {
		bytes += int64(len(segmentMagic))
		segs++
	}
	for _, seg := range s.segs {
		if bytes+n <= s.maxBytes || segs == 1 {
			return false
		}
		if seg.samples > seg.consumed {
			return true
		}
		bytes -= seg.size
		segs--
	}
	return false
}

func (s *spool) fail(op string, err error) error {
	s.st.Errors++
	s.st.LastProblem = op + ": " + err.Error()
	return fmt.Errorf("spool %s: %w", op, err)
}

// rotate seals the segment being written and starts the next one.
func (s *spool) rotate() error {
	if s.policy != FsyncNever && s.dirty {
		if err := s.w.Sync(); err != nil {
			s.fail("fsync", err)
		}
		s.dirty = false
	}
	return s.create(s.segs[len(s.segs)-1].id + 1)
}

// dropHead deletes the oldest segment to make room and counts what it held
// that the sender had not taken. A record in flight from it is still sent.
func (s *spool) dropHead() {
	seg := s.segs[0]
	lost := seg.samples - seg.consumed
	s.st.DroppedFull += lost
	s.st.Pending -= lost
	s.log.Warn("spool full: dropping its oldest segment", "max_spool_bytes", s.maxBytes,
		"segment", seg.id, "samples", lost, "dropped_total", s.st.DroppedFull)
	s.removeHead()
}

// removeHead deletes segs[0] and moves reading to the next segment.
func (s *spool) removeHead() {
	seg := s.segs[0]
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
	s.remove(seg.id)
	s.st.Bytes -= seg.size
	s.segs = s.segs[1:]
	s.roff = int64(len(segmentMagic))
}

func (s *spool) remove(id uint64) {
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.fail("remove", err)
		s.log.Error("spool: cannot remove a segment", "err", err)
	}
}

// sync forces appended records to disk (the interval policy's tick).
func (s *spool) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return
	}
	if err := s.w.Sync(); err != nil {
		s.fail("fsync", err)
		s.log.Error("spool: fsync failed", "err", err)
	}
	s.dirty = false
}

// ack ends rec's life in the spool: delivered, or dropped for good.
func (s *spool) ack(rec *record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == rec {
		s.inflight = nil
	}
	s.st.Pending -= int64(rec.samples)
}

// position is where reading resumes after a restart: the record in flight,
// or the next one.
func (s *spool) position() [2]int64 {
	if s.inflight != nil {
		return [2]int64{int64(s.inflight.seg), s.inflight.off}
	}
	return [2]int64{int64(s.segs[0].id), s.roff}
}

// saveAck writes the read position if it moved.
func (s *spool) saveAck() {
	s.mu.Lock()
	pos := s.position()
	if pos == s.saved {
		s.mu.Unlock()
		return
	}
	s.saved = pos
	s.mu.Unlock()
	b := binary.LittleEndian.AppendUint64(nil, uint64(pos[0]))
	b = binary.LittleEndian.AppendUint64(b, uint64(pos[1]))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	tmp := filepath.Join(s.dir, ackName+".tmp")
	err := os.WriteFile(tmp, b, 0o640)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, ackName))
	}
	if err != nil {
		s.mu.Lock()
		s.fail("ack", err)
		s.mu.Unlock()
	}
}

// readAck returns the saved read position, or zeros (read everything) when
// there is none or it is damaged.
func (s *spool) readAck() (uint64, int64) {
	b, err := os.ReadFile(filepath.Join(s.dir, ackName))
	if err != nil {
		return 0, 0
	}
	if len(b) != 20 || binary.LittleEndian.Uint32(b[16:]) != crc32.Checksum(b[:16], castagnoli) {
		s.log.Warn("spool: ack file damaged; replaying every segment (InfluxDB overwrites the repeats)", "dir", s.dir)
		return 0, 0
	}
	return binary.LittleEndian.Uint64(b), int64(binary.LittleEndian.Uint64(b[8:]))
}

// stats returns the counters.
func (s *spool) stats() SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Segments = len(s.segs)
	return st
}

// close syncs and closes the files. A spool left empty is deleted, so that
// a clean stop leaves a clean directory.
func (s *spool) close() {
	s.mu.Lock()
	empty := s.inflight == nil && len(s.segs) == 1 && s.roff >= s.segs[0].size
	if s.policy != FsyncNever && s.dirty {
		s.w.Sync()
	}
	s.w.Close()
	if s.rf != nil {
		s.rf.Close()
		s.rf = nil
	}
	s.mu.Unlock()
	if empty {
		s.remove(s.segs[0].id)
		os.Remove(filepath.Join(s.dir, ackName))
		return
	}
	s.saveAck()
}
