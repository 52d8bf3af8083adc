package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// StateFile is the name of the alert state file in the state directory.
const StateFile = "alerts.json"

// WriteSnapshot writes the snapshot to path atomically: to a temporary file
// in the same directory, synced, then renamed over path, so a crash leaves
// the old state or the new, never half of one.
func WriteSnapshot(path string, s Snapshot) error {
	data, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return fmt.Errorf("alert state: %w", err)
	}
	return writeAtomic(path, append(data, '\n'))
}

// ReadSnapshot reads a snapshot written by WriteSnapshot. A missing file is
// an empty snapshot.
func ReadSnapshot(path string) (Snapshot, error) {
	var s Snapshot
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("alert state: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return Snapshot{}, fmt.Errorf("alert state %s: %w", path, err)
	}
	if s.Version != SnapshotVersion {
		return Snapshot{}, fmt.Errorf("alert state %s: version %d, want %d", path, s.Version, SnapshotVersion)
	}
	return s, nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
