package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// next returns the oldest record not yet delivered, or nil when the sender
// has caught up. The record stays in flight, and next keeps returning it,
// until ack. Damaged records are reported, counted and skipped; an error
// means the disk failed and the caller should try again later.
func (s *spool) next() (*record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		return s.inflight, nil
	}
	for {
		seg := s.segs[0]
		if s.roff >= seg.size {
			if len(s.segs) == 1 {
				// Caught up. Start a new segment once this one is big
				// enough to be worth deleting, so that a spool that keeps
				// up holds little more than minSegBytes on disk.
				if seg.size < minSegBytes || s.rotate() != nil {
					return nil, nil
				}
				continue
			}
			if left := seg.samples - seg.consumed; left > 0 {
				// Counted by a scan or an append, then lost to damage that
				// appeared later: still accounted for.
				s.st.DroppedCorrupt += left
				s.st.Pending -= left
			}
			s.removeHead()
			continue
		}
		if end, ok := seg.skips[s.roff]; ok { // reported when the spool was opened
			s.roff = end
			continue
		}
		if s.rf == nil {
			f, err := os.Open(s.path(seg.id))
			if err != nil {
				return nil, s.fail("open", err)
			}
			s.rf = f
		}
		rec, hd, err := readRecord(s.rf, s.roff, seg.size)
		switch {
		case err == nil:
			rec.seg, rec.off, rec.size = seg.id, s.roff, int64(recordHeaderSize)+int64(hd.length)
			s.roff += rec.size
			seg.consumed += int64(rec.samples)
			s.inflight = rec
			return rec, nil
		case errors.Is(err, errBadPayload):
			size := int64(recordHeaderSize) + int64(hd.length)
			seg.consumed += int64(hd.samples)
			s.st.DroppedCorrupt += int64(hd.samples)
			s.st.Pending -= int64(hd.samples)
			s.damaged(seg, s.roff, size, int64(hd.samples), err)
			s.roff += size
		case errors.Is(err, errBadHeader), errors.Is(err, errTorn):
			end, rerr := resync(s.rf, s.roff, seg.size)
			if rerr != nil {
				return nil, s.fail("read", rerr)
			}
			s.damaged(seg, s.roff, end-s.roff, -1, err)
			s.roff = end
		default:
			return nil, s.fail("read", err)
		}
	}
}

// damaged reports a damaged record or range that is skipped. samples < 0:
// unknown.
func (s *spool) damaged(seg *segment, off, n, samples int64, why error) {
	s.st.CorruptRecords++
	s.st.CorruptBytes += n
	s.st.LastProblem = fmt.Sprintf("segment %s offset %d: %v", s.path(seg.id), off, why)
	args := []any{"segment", s.path(seg.id), "offset", off, "bytes", n, "err", why}
	if samples >= 0 {
		args = append(args, "samples_lost", samples)
	}
	s.log.Error("spool: damaged record skipped; continuing with the rest", args...)
}

var (
	errBadHeader  = errors.New("damaged record header")
	errBadPayload = errors.New("damaged record payload")
)

// readRecord reads the record at off of a segment whose records end at
// size. errBadPayload comes with a valid header.
func readRecord(f *os.File, off, size int64) (*record, header, error) {
	var h [recordHeaderSize]byte
	if size-off < recordHeaderSize {
		return nil, header{}, errTorn
	}
	if _, err := f.ReadAt(h[:], off); err != nil {
		return nil, header{}, err
	}
	hd, ok := parseHeader(h[:])
	if !ok {
		return nil, hd, errBadHeader
	}
	if off+recordHeaderSize+int64(hd.length) > size {
		return nil, hd, errTorn
	}
	payload := make([]byte, hd.length)
	if _, err := f.ReadAt(payload, off+recordHeaderSize); err != nil {
		return nil, hd, err
	}
	rec, err := decodeRecord(hd, payload)
	if err != nil {
		return nil, hd, fmt.Errorf("%w: %v", errBadPayload, err)
	}
	return rec, hd, nil
}

// resync finds the first record after off, in a segment whose records end
// at size, whose header is valid and fits: where reading resumes after
// damage at off. It returns size when there is none.
func resync(f *os.File, off, size int64) (int64, error) {
	if size-off <= 1 {
		return size, nil
	}
	rest := make([]byte, size-off-1)
	if _, err := f.ReadAt(rest, off+1); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	for i := 0; ; {
		j := bytes.Index(rest[i:], []byte(recordMagic))
		if j < 0 {
			return size, nil
		}
		i += j
		if hd, ok := parseHeader(rest[i:]); ok && int64(i)+recordHeaderSize+int64(hd.length) <= int64(len(rest)) {
			return off + 1 + int64(i), nil
		}
		i++
	}
}

// scan reads the record headers of segment id from start, to count the
// samples waiting in it and to find and report damage before the sender
// gets there. It returns nil for a segment with nothing left to read, which
// it deletes.
func (s *spool) scan(id uint64, start int64) (*segment, error) {
	f, err := os.Open(s.path(id))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	seg := &segment{id: id, size: fi.Size()}
	magic := make([]byte, len(segmentMagic))
	if _, err := f.ReadAt(magic, 0); err != nil || string(magic) != segmentMagic {
		if seg.size > 0 {
			s.st.CorruptRecords++
			s.st.CorruptBytes += seg.size
			s.st.LastProblem = fmt.Sprintf("segment %s: not a spool segment", s.path(id))
			s.log.Error("spool: damaged segment skipped; continuing with the rest", "segment", s.path(id), "bytes", seg.size)
		}
		s.remove(id)
		return nil, nil
	}
	var h [recordHeaderSize]byte
	for off := start; off < seg.size; {
		hd, ok := header{}, false
		if seg.size-off >= recordHeaderSize {
			if _, err := f.ReadAt(h[:], off); err != nil {
				return nil, err
			}
			hd, ok = parseHeader(h[:])
		}
		if ok && off+recordHeaderSize+int64(hd.length) <= seg.size {
			seg.samples += int64(hd.samples)
			off += recordHeaderSize + int64(hd.length)
			continue
		}
		end, err := resync(f, off, seg.size)
		if err != nil {
			return nil, err
		}
		why := errBadHeader
		if ok || end == seg.size && seg.size-off < recordHeaderSize {
			why = errTorn
		}
		if seg.skips == nil {
			seg.skips = map[int64]int64{}
		}
		seg.skips[off] = end
		if why == errTorn && end == seg.size {
			// A crash while the record was written: expected, not damage.
			s.log.Warn("spool: incomplete last record of a segment (the daemon stopped while writing it); skipped",
				"segment", s.path(id), "offset", off, "bytes", end-off)
		} else {
			s.damaged(seg, off, end-off, -1, why)
		}
		off = end
	}
	if seg.samples == 0 { // delivered, or nothing readable left
		s.remove(id)
		return nil, nil
	}
	return seg, nil
}
