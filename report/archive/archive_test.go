package archive

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSaveNeverOverwrites: the same report made twice is kept twice, both
// listed, newest first; Path refuses names outside the archive.
func TestSaveNeverOverwrites(t *testing.T) {
	a, err := Open(filepath.Join(t.TempDir(), "reports"))
	if err != nil {
		t.Fatal(err)
	}
	e := Entry{Name: "monthly", Kind: "energy", Period: "2026-11", Format: "pdf", Lang: "zh-CN", Building: "A/B",
		GeneratedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	first, err := a.Save(e, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.Save(e, []byte("two!"))
	if err != nil {
		t.Fatal(err)
	}
	if first.File != "monthly-energy-2026-11-A_B-zh-CN.pdf" || second.File != "monthly-energy-2026-11-A_B-zh-CN-2.pdf" || second.Size != 4 {
		t.Fatalf("files %q %q", first.File, second.File)
	}
	for f, want := range map[string]string{first.File: "one", second.File: "two!"} {
		p, err := a.Path(f)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s holds %q, want %q", f, b, want)
		}
	}
	list, err := a.List()
	if err != nil || len(list) != 2 || list[0].File != second.File {
		t.Fatalf("list %+v, %v", list, err)
	}
	latest, ok, _ := a.Latest(func(e Entry) bool { return e.Format == "pdf" })
	if !ok || latest.File != second.File {
		t.Errorf("latest %+v", latest)
	}
	for _, bad := range []string{"../x", IndexFile, ".index-1.json", "a/b", "", "nope.pdf"} {
		if _, err := a.Path(bad); err == nil {
			t.Errorf("Path(%q) accepted", bad)
		}
	}
}
