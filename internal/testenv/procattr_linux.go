package testenv

import "syscall"

// sysProcAttr makes the kernel kill the service if the test binary dies without
// running its cleanups (a panic in another goroutine, a timeout), so no
// orphaned influxd or mosquitto keeps ports and CPU.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
