package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	readyTimeout = 60 * time.Second // Flux start-up alone takes ~5 s of CPU; 14 s seen with 3 at once on 2 CPUs
	stopTimeout  = 15 * time.Second // after SIGTERM, before SIGKILL
	pollEvery    = 25 * time.Millisecond
	logTailMax   = 4 << 10
)

// process is a service binary owned by one test. Its output goes to a log
// file kept across restarts, so a failure message can show what it said;
// stop and start take it away and bring it back with the same arguments.
type process struct {
	t       testing.TB
	name    string   // for messages: "influxd", "mosquitto"
	argv    []string // the binary and its arguments
	logPath string
	// ready reports whether the service answers yet; start calls it every
	// pollEvery until it does, the process exits, or readyTimeout passes.
	ready func(ctx context.Context) bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *os.File
}

// launch runs configure (which picks new free ports) and starts the process,
// up to three times: a free port is free only until someone else takes it.
// It fails t when the process does not come up.
func (p *process) launch(configure func() error) {
	p.t.Helper()
	var err error
	for range 3 {
		if err := configure(); err != nil {
			p.t.Fatalf("testenv: %s: %v", p.name, err)
		}
		_ = os.Remove(p.logPath) // so the clash check reads this attempt only
		if err = p.start(); err == nil || !p.portInUse() {
			break
		}
	}
	if err != nil {
		p.t.Fatalf("testenv: start %s: %v\n%s", p.name, err, p.logTail())
	}
}

// restart brings a stopped process back, retrying for a few seconds while
// its port lingers after the stop. It does nothing when the process runs.
func (p *process) restart() {
	p.t.Helper()
	var err error
	for range 50 {
		if err = p.start(); err == nil || !p.portInUse() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("testenv: restart %s: %v\n%s", p.name, err, p.logTail())
	}
}

// start starts the process and waits until it is ready; it does nothing
// when the process runs.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // owned: stop and start wait on done
	p.cmd, p.done, p.log = cmd, done, logf

	began := time.Now()
	if err := p.waitReady(done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		p.cmd = nil
		_ = logf.Close()
		return err
	}
	p.t.Logf("testenv: %s ready in %v", p.name, time.Since(began).Round(time.Millisecond))
	return nil
}

// waitReady polls p.ready until it succeeds, the process exits, or the
// deadline.
func (p *process) waitReady(exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if p.ready(ctx) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was ready", p.name)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v", p.name, readyTimeout)
		case <-tick.C:
		}
	}
}

// stop terminates the process (SIGTERM, then SIGKILL after stopTimeout) and
// waits for it to exit. It does nothing when the process is not running.
func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.t.Logf("testenv: %s ignored SIGTERM for %v; killing it", p.name, stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
	_ = p.log.Close()
}

// portInUse reports whether the process said its port was taken. Go
// programs write "address already in use", C ones "Address already in use".
func (p *process) portInUse() bool {
	b, _ := os.ReadFile(p.logPath)
	return bytes.Contains(bytes.ToLower(b), []byte("address already in use"))
}

// logTail returns the end of the process's output, for failure messages.
func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no %s log: %v)", p.name, err)
	}
	if len(b) > logTailMax {
		b = b[len(b)-logTailMax:]
		if n := bytes.IndexByte(b, '\n'); n >= 0 {
			b = b[n+1:]
		}
	}
	return "--- tail of " + p.logPath + " ---\n" + string(b)
}
