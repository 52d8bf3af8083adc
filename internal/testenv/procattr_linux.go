package testenv

import "syscall"

// sysProcAttr makes the kernel kill influxd if the test binary dies without
// running its cleanups (a panic in another goroutine, a timeout), so no
// orphaned influxd keeps ports and CPU.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
