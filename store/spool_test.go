package store

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testRecord is a record of n samples whose values start at first.
func testRecord(first, n int) *record {
	return newEncoder().encode(samples("p", time.Unix(1e9+int64(first), 0), n), nil)
}

// firstTime returns the timestamp of a record's first line.
func firstTime(t *testing.T, rec *record) string {
	t.Helper()
	lines, _, err := rec.splitLines()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(lines[0]))[2]
}

func openTestSpool(t *testing.T, dir string, maxBytes int64, logs *bytes.Buffer) *spool {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	s, err := openSpool(dir, Config{Fsync: FsyncInterval, MaxSpoolBytes: maxBytes}.WithDefaults(), logger)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// crash closes the files without what close does at a clean stop.
func (s *spool) crash() {
	s.w.Close()
	if s.rf != nil {
		s.rf.Close()
	}
}

// drainSpool reads and acks everything, returning each record's samples.
func drainSpool(t *testing.T, s *spool) (got []int) {
	t.Helper()
	for {
		rec, err := s.next()
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			return got
		}
		if again, _ := s.next(); again != rec {
			t.Fatal("next did not return the record in flight again")
		}
		got = append(got, rec.samples)
		s.ack(rec)
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	return m
}

func TestSpoolOrderAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 0, nil)
	s.segBytes = 300 // a few records per segment
	for i := 1; i <= 30; i++ {
		if err := s.append(testRecord(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(segFiles(t, dir)); n < 5 {
		t.Fatalf("%d segments, want rotation", n)
	}
	st := s.stats()
	if st.Pending != 465 || st.Spooled != 465 || st.Segments != len(segFiles(t, dir)) {
		t.Errorf("stats %+v", st)
	}
	got := drainSpool(t, s)
	if want := slices.Collect(func(yield func(int) bool) {
		for i := 1; i <= 30; i++ {
			yield(i)
		}
	}); !slices.Equal(got, want) {
		t.Errorf("read %v, want 1..30 in order", got)
	}
	if n := len(segFiles(t, dir)); n != 1 {
		t.Errorf("%d segments left after reading, want the active one", n)
	}
	if st := s.stats(); st.Pending != 0 {
		t.Errorf("pending %d after reading all", st.Pending)
	}
	s.close()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("an empty spool left files at close: %v", left)
	}
}

// TestSpoolReopenResumes: after a crash the spool resumes at the saved read
// position, and counts what waits as recovered.
func TestSpoolReopenResumes(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 0, nil)
	s.segBytes = 500
	for i := 1; i <= 10; i++ {
		s.append(testRecord(0, i))
	}
	for range 4 {
		rec, _ := s.next()
		s.ack(rec)
	}
	s.saveAck()
	rec, _ := s.next() // in flight when the process dies: read again
	if rec.samples != 5 {
		t.Fatalf("fifth record has %d samples", rec.samples)
	}
	s.crash()

	s = openTestSpool(t, dir, 0, nil)
	if st := s.stats(); st.Recovered != 5+6+7+8+9+10 || st.Pending != st.Recovered {
		t.Errorf("after reopening: %+v", st)
	}
	if got := drainSpool(t, s); !slices.Equal(got, []int{5, 6, 7, 8, 9, 10}) {
		t.Errorf("replayed %v, want 5..10", got)
	}
	s.append(testRecord(0, 11))
	if got := drainSpool(t, s); !slices.Equal(got, []int{11}) {
		t.Errorf("after replay read %v", got)
	}
	s.close()
}

func TestSpoolCapDropsOldest(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	s := openTestSpool(t, dir, 2000, &logs)
	s.segBytes = 400
	for i := range 40 {
		if err := s.append(testRecord(i, 3)); err != nil {
			t.Fatal(err)
		}
	}
	st := s.stats()
	if st.Bytes > 2000 || st.DroppedFull == 0 || st.DroppedFull+st.Pending != 120 {
		t.Errorf("stats %+v", st)
	}
	var size int64
	for _, f := range segFiles(t, dir) {
		fi, _ := os.Stat(f)
		size += fi.Size()
	}
	if size != st.Bytes {
		t.Errorf("segments hold %d bytes, stats say %d", size, st.Bytes)
	}
	rec, _ := s.next()
	if want := strconv.FormatInt((1e9+st.DroppedFull/3)*1e9, 10); firstTime(t, rec) != want || rec.samples != 3 {
		t.Errorf("oldest kept record starts at %s, want %s (%d records dropped)", firstTime(t, rec), want, st.DroppedFull/3)
	}
	if !strings.Contains(logs.String(), "spool full") {
		t.Errorf("drop not logged:\n%s", logs.String())
	}
	// What is in flight survives a drop of its segment.
	for range 40 {
		s.append(testRecord(100, 3))
	}
	s.ack(rec)
	if st := s.stats(); st.DroppedFull+st.Pending != 240-3 {
		t.Errorf("after more drops: %+v", st)
	}
	s.close()
}

// TestSpoolCapAtMinimum fills a spool at the smallest cap Validate accepts
// with batches of the default size and no reader: the files never hold more
// than the cap, and each drop takes a sixteenth of it, not everything.
func TestSpoolCapAtMinimum(t *testing.T) {
	if err := (Config{URL: "http://h", Bucket: "b", MaxSpoolBytes: MinSpoolBytes}).Validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := openTestSpool(t, dir, MinSpoolBytes, nil)
	const batch = 5000 // the default batch_size
	var most, dropped int64
	for i := range 200 {
		if err := s.append(testRecord(i*batch, batch)); err != nil {
			t.Fatal(err)
		}
		var size int64
		for _, f := range segFiles(t, dir) {
			fi, _ := os.Stat(f)
			size += fi.Size()
		}
		st := s.stats()
		if size > MinSpoolBytes || st.Bytes != size {
			t.Fatalf("after %d batches the segments hold %d bytes (stats %d), cap %d", i+1, size, st.Bytes, MinSpoolBytes)
		}
		most = max(most, st.DroppedFull-dropped)
		dropped = st.DroppedFull
	}
	st := s.stats()
	if st.DroppedFull == 0 || st.DroppedFull+st.Pending != 200*batch {
		t.Errorf("stats %+v", st)
	}
	if kept := st.Pending; most > kept/8 {
		t.Errorf("one append dropped %d samples, with %d kept: drops should take about a sixteenth of the spool", most, kept)
	}
	t.Logf("cap %d bytes: %d samples kept, at most %d dropped at once", MinSpoolBytes, st.Pending, most)
	s.close()
}

// corruptAt flips a byte of the segment file at off.
func corruptAt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0x5a
	f.WriteAt(b, off)
}

// TestSpoolDamage: a damaged payload, a damaged header, a torn tail and a
// segment that is not one are each reported and skipped, and reading goes on
// with the rest.
func TestSpoolDamage(t *testing.T) {
	for _, c := range []struct {
		name    string
		damage  func(t *testing.T, seg string, offs []int64)
		want    []int
		atOpen  bool // reported when the spool opens
		corrupt int64
	}{
		{"payload", func(t *testing.T, seg string, offs []int64) { corruptAt(t, seg, offs[1]+recordHeaderSize+5) },
			[]int{1, 3, 4}, false, 2},
		{"header", func(t *testing.T, seg string, offs []int64) { corruptAt(t, seg, offs[1]+6) },
			[]int{1, 3, 4}, true, 0},
		{"torn tail", func(t *testing.T, seg string, offs []int64) { os.Truncate(seg, offs[2]+10) },
			[]int{1, 2, 4}, false, 0},
		{"not a segment", func(t *testing.T, seg string, offs []int64) { corruptAt(t, seg, 2) },
			[]int{4}, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestSpool(t, dir, 0, nil)
			var offs []int64
			for i := 1; i <= 3; i++ {
				offs = append(offs, s.segs[0].size)
				s.append(testRecord(0, i))
			}
			s.rotate()
			s.append(testRecord(0, 4)) // in the next segment
			seg := s.path(s.segs[0].id)
			s.crash()
			c.damage(t, seg, offs)

			var logs bytes.Buffer
			s = openTestSpool(t, dir, 0, &logs)
			if c.atOpen && !strings.Contains(logs.String(), "damaged") {
				t.Errorf("damage not reported at open:\n%s", logs.String())
			}
			if got := drainSpool(t, s); !slices.Equal(got, c.want) {
				t.Errorf("read %v, want %v", got, c.want)
			}
			st := s.stats()
			if c.name != "torn tail" && (st.CorruptRecords != 1 || st.LastProblem == "" || !strings.Contains(logs.String(), "continuing with the rest")) {
				t.Errorf("damage not reported: %+v\n%s", st, logs.String())
			}
			if c.name == "torn tail" && !strings.Contains(logs.String(), "incomplete last record") {
				t.Errorf("torn tail not reported:\n%s", logs.String())
			}
			if st.DroppedCorrupt != c.corrupt || st.Pending != 0 {
				t.Errorf("stats %+v, want %d samples dropped as corrupt", st, c.corrupt)
			}
			s.close()
		})
	}
}

func TestSpoolDamagedAckReplaysAll(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 0, nil)
	for i := 1; i <= 3; i++ {
		s.append(testRecord(0, i))
	}
	rec, _ := s.next()
	s.ack(rec)
	s.saveAck()
	s.crash()
	os.WriteFile(filepath.Join(dir, ackName), []byte("garbage"), 0o600)
	var logs bytes.Buffer
	s = openTestSpool(t, dir, 0, &logs)
	if got := drainSpool(t, s); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("read %v, want everything again", got)
	}
	if !strings.Contains(logs.String(), "ack file damaged") {
		t.Errorf("not logged:\n%s", logs.String())
	}
	s.close()
}

// FuzzSpoolSegment feeds arbitrary bytes as a segment: opening and reading
// must neither panic nor loop, and every record read must be whole.
func FuzzSpoolSegment(f *testing.F) {
	good := append([]byte(segmentMagic), testRecord(0, 3).appendFrame(nil)...)
	good = testRecord(3, 2).appendFrame(good)
	f.Add(good)
	f.Add(good[:len(good)-7])
	f.Add([]byte(segmentMagic + recordMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "00000000000000000001.seg"), data, 0o600)
		s, err := openSpool(dir, Config{}.WithDefaults(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer s.close()
		for range len(data) + 2 {
			rec, err := s.next()
			if err != nil {
				t.Fatal(err)
			}
			if rec == nil {
				return
			}
			if _, _, err := rec.splitLines(); err != nil {
				t.Fatalf("record read back cannot be split: %v", err)
			}
			s.ack(rec)
		}
		t.Fatal("reading did not end")
	})
}

// TestSpoolRotatesWhenCaughtUp: a spool whose reader keeps up does not keep
// delivered records on disk beyond one small segment.
func TestSpoolRotatesWhenCaughtUp(t *testing.T) {
	s := openTestSpool(t, t.TempDir(), 0, nil)
	defer s.close()
	var written int64
	for i := 0; written < 3*minSegBytes; i++ {
		rec := testRecord(i*100, 100)
		written += int64(len(rec.payload))
		s.append(rec)
		if i%10 == 0 {
			drainSpool(t, s)
		}
	}
	drainSpool(t, s)
	drainSpool(t, s)
	if st := s.stats(); st.Bytes >= minSegBytes || st.Segments != 1 || st.Pending != 0 {
		t.Errorf("after catching up: %+v", st)
	}
}
