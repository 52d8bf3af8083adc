package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"
)

// SilencesFile is the name of the silences file in the state directory.
const SilencesFile = "silences.json"

// silenceKeep is how long expired silences stay listed.
const silenceKeep = 7 * 24 * time.Hour

// SilenceStore keeps silences and maintenance windows in a JSON file that
// the daemon and the CLI share: every change takes an exclusive lock on
// path+".lock", reads, changes and atomically replaces the file, so
// concurrent writers never lose each other's changes. Readers see the old or
// the new file whole.
type SilenceStore struct {
	path string
}

// NewSilenceStore returns the store at path; it does no I/O.
func NewSilenceStore(path string) *SilenceStore { return &SilenceStore{path: path} }

// Path returns the file's path.
func (s *SilenceStore) Path() string { return s.path }

type silenceFile struct {
	Silences []Silence `json:"silences"`
}

// List returns every silence, newest start first. A missing file has none.
func (s *SilenceStore) List() ([]Silence, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	var f silenceFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("silences %s: %w", s.path, err)
	}
	slices.SortStableFunc(f.Silences, func(a, b Silence) int { return b.StartsAt.Compare(a.StartsAt) })
	return f.Silences, nil
}

// Add validates and stores a silence, giving it an id if it has none, and
// drops silences that expired more than a week before now.
func (s *SilenceStore) Add(sil Silence, now time.Time) (Silence, error) {
	if sil.ID == "" {
		sil.ID = NewSilenceID()
	}
	if sil.CreatedAt.IsZero() {
		sil.CreatedAt = now
	}
	if err := sil.Validate(); err != nil {
		return Silence{}, err
	}
	err := s.update(func(list []Silence) ([]Silence, error) {
		if slices.ContainsFunc(list, func(o Silence) bool { return o.ID == sil.ID }) {
			return nil, fmt.Errorf("silence %s exists already", sil.ID)
		}
		list = slices.DeleteFunc(list, func(o Silence) bool { return now.Sub(o.EndsAt) > silenceKeep })
		return append(list, sil), nil
	})
	return sil, err
}

// ErrNoSilence is returned for an unknown silence id.
var ErrNoSilence = errors.New("no such silence")

// Expire ends the silence with id at now (it stays listed, expired). A
// silence that has not started yet ends before it starts.
func (s *SilenceStore) Expire(id string, now time.Time) error {
	return s.update(func(list []Silence) ([]Silence, error) {
		i := slices.IndexFunc(list, func(o Silence) bool { return o.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("silence %q: %w", id, ErrNoSilence)
		}
		if list[i].StartsAt.After(now) {
			list[i].StartsAt = now
		}
		if list[i].EndsAt.After(now) {
			list[i].EndsAt = now
		}
		return list, nil
	})
}

func (s *SilenceStore) update(fn func([]Silence) ([]Silence, error)) error {
	unlock, err := lockFile(s.path + ".lock")
	if err != nil {
		return fmt.Errorf("silences: %w", err)
	}
	defer unlock()
	list, err := s.List()
	if err != nil {
		return err
	}
	if list, err = fn(list); err != nil {
		return err
	}
	data, err := json.MarshalIndent(silenceFile{Silences: list}, "", " ")
	if err != nil {
		return err
	}
	return writeAtomic(s.path, append(data, '\n'))
}

// Stamp returns a digest of the file's content, which changes with every
// change (modification times can be too coarse to tell two quick writes
// apart): the daemon polls it every second.
func (s *SilenceStore) Stamp() string {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
