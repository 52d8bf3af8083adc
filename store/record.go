package store

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	kgzip "github.com/klauspost/compress/gzip"
)

// record is one batch as it is spooled and sent: the gzipped line protocol
// that is the body of one write request, and an index of its lines so that a
// batch InfluxDB refuses can be split without parsing line protocol.
//
// Framed on disk (little endian):
//
//	0  magic    "FDR1"
//	4  length   of the payload, bytes
//	8  samples  fields in the batch
//	12 lines    lines in the batch
//	16 crc      CRC-32C of the payload
//	20 hcrc     CRC-32C of bytes 0..19
//	24 payload  lines × (uvarint line length, uvarint fields), then the gzip body
//
// The header has its own checksum so that a scan can trust the counts and
// length without reading payloads, and so that after damage the next record
// can be found by looking for the magic with a valid header.
type record struct {
	samples  int
	lines    int
	indexLen int
	payload  []byte

	// Where the spool holds it; zero for records only in memory.
	seg  uint64
	off  int64
	size int64 // framed
}

const (
	recordMagic      = "FDR1"
	recordHeaderSize = 24
	// maxRecordPayload bounds what a header may claim, so that a damaged
	// length cannot make the reader allocate gigabytes.
	maxRecordPayload = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// body is the gzipped line protocol, ready to send.
func (r *record) body() []byte { return r.payload[r.indexLen:] }

// appendFrame appends the framed record to dst.
func (r *record) appendFrame(dst []byte) []byte {
	var h [recordHeaderSize]byte
	copy(h[:4], recordMagic)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(r.payload)))
	binary.LittleEndian.PutUint32(h[8:], uint32(r.samples))
	binary.LittleEndian.PutUint32(h[12:], uint32(r.lines))
	binary.LittleEndian.PutUint32(h[16:], crc32.Checksum(r.payload, castagnoli))
	binary.LittleEndian.PutUint32(h[20:], crc32.Checksum(h[:20], castagnoli))
	return append(append(dst, h[:]...), r.payload...)
}

// header is a record's framing as read back.
type header struct {
	length, samples, lines, crc uint32
}

// errTorn is a record cut short by the end of its segment: the daemon died
// while writing it.
var errTorn = errors.New("record cut short")

// parseHeader checks a record header.
func parseHeader(h []byte) (header, bool) {
	if len(h) < recordHeaderSize || string(h[:4]) != recordMagic ||
		binary.LittleEndian.Uint32(h[20:]) != crc32.Checksum(h[:20], castagnoli) {
		return header{}, false
	}
	hd := header{
		length:  binary.LittleEndian.Uint32(h[4:]),
		samples: binary.LittleEndian.Uint32(h[8:]),
		lines:   binary.LittleEndian.Uint32(h[12:]),
		crc:     binary.LittleEndian.Uint32(h[16:]),
	}
	return hd, hd.length <= maxRecordPayload && hd.lines <= hd.samples
}

// decodeRecord checks a payload against its header and rebuilds the record.
func decodeRecord(hd header, payload []byte) (*record, error) {
	if crc32.Checksum(payload, castagnoli) != hd.crc {
		return nil, errors.New("payload checksum mismatch")
	}
	r := &record{samples: int(hd.samples), lines: int(hd.lines), payload: payload}
	i, fields := 0, 0
	for range r.lines {
		_, n := binary.Uvarint(payload[i:])
		if n <= 0 {
			return nil, errors.New("bad line index")
		}
		i += n
		f, n := binary.Uvarint(payload[i:])
		if n <= 0 {
			return nil, errors.New("bad line index")
		}
		i += n
		fields += int(f)
	}
	if fields != r.samples {
		return nil, fmt.Errorf("line index counts %d fields, header %d", fields, r.samples)
	}
	r.indexLen = i
	return r, nil
}

// splitLines decompresses the body and cuts it into lines, each with its
// number of fields (samples).
func (r *record) splitLines() (lines [][]byte, fields []int, err error) {
	zr, err := gzip.NewReader(bytes.NewReader(r.body()))
	if err != nil {
		return nil, nil, err
	}
	lp, err := io.ReadAll(zr)
	if err != nil {
		return nil, nil, err
	}
	idx := r.payload[:r.indexLen]
	for len(idx) > 0 {
		n, k := binary.Uvarint(idx)
		idx = idx[k:]
		f, k := binary.Uvarint(idx)
		idx = idx[k:]
		if n > uint64(len(lp)) {
			return nil, nil, errors.New("line index beyond the body")
		}
		lines = append(lines, lp[:n])
		fields = append(fields, int(f))
		lp = lp[n:]
	}
	return lines, fields, nil
}

// gzipLines compresses lines into one request body.
func gzipLines(lines [][]byte) []byte {
	var buf bytes.Buffer
	zw, _ := kgzip.NewWriterLevel(&buf, gzipLevel)
	zw.Write(bytes.Join(lines, nil)) // in one call (see gzipLevel); writes to a bytes.Buffer cannot fail
	zw.Close()
	return buf.Bytes()
}
