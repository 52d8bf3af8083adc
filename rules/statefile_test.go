package rules

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestSnapshotFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), StateFile)
	if s, err := ReadSnapshot(path); err != nil || len(s.Alerts) != 0 {
		t.Fatalf("missing file: %+v %v", s, err)
	}
	e := newTestEngine(t, lowPressure, pump("pump-1", "", nil))
	e.Observe(poll("pump-1", at(0), "running", true, "discharge_pressure", 1.0))
	e.Eval(at(20 * time.Second))
	want := e.Snapshot()
	if err := WriteSnapshot(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.SavedAt.Equal(want.SavedAt) || len(got.Alerts) != 1 || got.Alerts[0].State != "firing" ||
		!got.Alerts[0].FiredAt.Equal(at(20*time.Second)) || !got.Alerts[0].Notified {
		t.Errorf("round trip: %+v", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	os.WriteFile(path, []byte(`{"version": 99}`), 0o644)
	if _, err := ReadSnapshot(path); err == nil {
		t.Error("unknown version accepted")
	}
	os.WriteFile(path, []byte(`{"version": 1, "alerts": [`), 0o644)
	if _, err := ReadSnapshot(path); err == nil {
		t.Error("truncated file accepted")
	}
}

// TestSilenceStoreConcurrent adds silences from many writers at once, as the
// daemon and the CLI may: none is lost.
func TestSilenceStoreConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), SilencesFile)
	m, _ := ParseMatchers([]string{`device="pump-1"`})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			st := NewSilenceStore(path) // separate handles, as separate processes have
			if _, err := st.Add(Silence{Kind: KindSilence, Matchers: m, StartsAt: t0, EndsAt: t0.Add(time.Hour), Comment: "x"}, t0); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	list, err := NewSilenceStore(path).List()
	if err != nil || len(list) != 20 {
		t.Fatalf("%d silences, %v; want 20", len(list), err)
	}
	st := NewSilenceStore(path)
	stamp := st.Stamp()
	if err := st.Expire(list[0].ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st.Stamp() == stamp {
		t.Error("stamp unchanged by a change")
	}
	// Expired a week ago: dropped at the next change.
	if _, err := st.Add(Silence{Kind: KindSilence, Matchers: m, StartsAt: t0, EndsAt: t0.Add(time.Hour), Comment: "y"}, t0.Add(8*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if list, _ := st.List(); len(list) != 1 {
		t.Errorf("old silences kept: %d", len(list))
	}
	for _, bad := range []Silence{
		{Kind: KindSilence, StartsAt: t0, EndsAt: t0.Add(time.Hour), Comment: "no matchers"},
		{Kind: "holiday", Matchers: m, StartsAt: t0, EndsAt: t0.Add(time.Hour), Comment: "x"},
		{Kind: KindSilence, Matchers: m, StartsAt: t0, EndsAt: t0, Comment: "empty range"},
		{Kind: KindSilence, Matchers: m, StartsAt: t0, EndsAt: t0.Add(time.Hour)},
	} {
		if _, err := st.Add(bad, t0); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := st.Expire("nope", t0); err == nil {
		t.Error("unknown id expired")
	}
}
