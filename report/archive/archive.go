// Package archive keeps every generated report in one directory (the
// daemon's state_dir/reports/) with an index of them: a file is written
// once under a name of its own and never overwritten; a report made again
// gets a new name (-2, -3, ...).
package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// IndexFile is the listing of the archive, in its directory.
const IndexFile = "index.json"

// Entry is one archived report file.
type Entry struct {
	// File is the name of the file in the archive.
	File string `json:"file"`
	// Name is the schedule that made it, or "on-demand" for the API's.
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Period   string    `json:"period"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Format   string    `json:"format"`
	Lang     string    `json:"lang"`
	Building string    `json:"building,omitempty"`
	Category string    `json:"category,omitempty"`
	// Partial is true for a period not over when it was made.
	Partial     bool      `json:"partial,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	Size        int64     `json:"size"`
}

// Archive is one archive directory. Its methods are safe for concurrent
// use within one process; one process (the daemon) writes it.
type Archive struct {
	dir string
	mu  sync.Mutex
}

// Open makes dir if needed.
func Open(dir string) (*Archive, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reports archive: %w", err)
	}
	return &Archive{dir: dir}, nil
}

// Dir is the archive's directory.
func (a *Archive) Dir() string { return a.dir }

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// BaseName is the file name e's fields give, before any -N suffix and the
// format's extension: schedule, kind, period, building, category and
// language, in the characters [A-Za-z0-9._-] only.
func BaseName(e Entry) string {
	parts := []string{e.Name, e.Kind, e.Period}
	if strings.Contains(e.Name, e.Kind) { // monthly-energy, not monthly-energy-energy
		parts = parts[:1:1]
		parts = append(parts, e.Period)
	}
	if e.Building != "" {
		parts = append(parts, e.Building)
	}
	if e.Category != "" {
		parts = append(parts, e.Category)
	}
	parts = append(parts, e.Lang)
	for i, p := range parts {
		parts[i] = strings.Trim(unsafe.ReplaceAllString(p, "_"), "_.")
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), "-")
}

// Save writes data as a new file of the archive and lists it; it returns
// the entry with its file name and size.
func (a *Archive) Save(e Entry, data []byte) (Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	entries, err := a.read()
	if err != nil {
		return Entry{}, err
	}
	base := BaseName(e)
	for n := 1; ; n++ {
		name := base + "." + e.Format
		if n > 1 {
			name = fmt.Sprintf("%s-%d.%s", base, n, e.Format)
		}
		f, err := os.OpenFile(filepath.Join(a.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return Entry{}, fmt.Errorf("reports archive: %w", err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
			return Entry{}, fmt.Errorf("reports archive: %s: %w", name, err)
		}
		e.File, e.Size = name, int64(len(data))
		break
	}
	entries = append(entries, e)
	if err := a.write(entries); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// List is every archived report, newest first.
func (a *Archive) List() ([]Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	entries, err := a.read()
	if err != nil {
		return nil, err
	}
	slices.Reverse(entries)
	return entries, nil
}

// Latest is the newest archived report that match accepts.
func (a *Archive) Latest(match func(Entry) bool) (Entry, bool, error) {
	entries, err := a.List()
	if err != nil {
		return Entry{}, false, err
	}
	for _, e := range entries {
		if match(e) {
			return e, true, nil
		}
	}
	return Entry{}, false, nil
}

// Path is where the archived file named file is, if it is one of the
// archive's; never a path outside the directory.
func (a *Archive) Path(file string) (string, error) {
	if file == "" || file == IndexFile || file != filepath.Base(file) || unsafe.MatchString(file) || strings.HasPrefix(file, ".") {
		return "", os.ErrNotExist
	}
	p := filepath.Join(a.dir, file)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

func (a *Archive) read() ([]Entry, error) {
	data, err := os.ReadFile(filepath.Join(a.dir, IndexFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reports archive: %w", err)
	}
	var entries []Entry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("reports archive: %s: %w", filepath.Join(a.dir, IndexFile), err)
	}
	return entries, nil
}

// write replaces the index at once (a new file renamed over it), so a
// crash leaves the old listing or the new one.
func (a *Archive) write(entries []Entry) error {
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(a.dir, ".index-*.json")
	if err != nil {
		return fmt.Errorf("reports archive: %w", err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(a.dir, IndexFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("reports archive: index: %w", err)
	}
	return nil
}
