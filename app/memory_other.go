//go:build !linux

package app

// pageOutExecutable does nothing where MADV_PAGEOUT is not available.
func pageOutExecutable() int64 { return 0 }
