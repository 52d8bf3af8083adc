//go:build unix

package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockStateDir takes an exclusive lock on the state dir for the life of the
// process (the kernel drops it when the file closes or the process dies):
// two daemons on one state dir would interleave the spool and the alert
// state. The CLI opens tickets.db without it; SQLite guards that file.
func lockStateDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, "facilityd.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("state dir %s is in use by another facilityd (lock %s): give each daemon its own state_dir", dir, path)
		}
		return nil, fmt.Errorf("state dir lock %s: %w", path, err)
	}
	if f.Truncate(0) == nil {
		fmt.Fprintf(f, "%d\n", os.Getpid()) // for people: which process holds it
	}
	return func() { f.Close() }, nil
}
