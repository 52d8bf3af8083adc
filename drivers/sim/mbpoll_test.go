package sim

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestMbpoll reads the meter with mbpoll, an independent Modbus master from
// Debian, so that the simulator is checked against someone else's framing and
// float decoding, not only against the library it is built on.
func TestMbpoll(t *testing.T) {
	bin, err := exec.LookPath("mbpoll")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mbpoll is not installed (apt-get install -y mbpoll)")
		}
		t.Skip("mbpoll is not installed")
	}
	s := startSim(t, Config{})
	_, port, _ := net.SplitHostPort(s.Addr())

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// -r is the 1-based reference of input register 0x0000 (voltage_l1);
	// -B reads the high word first (ABCD); -c counts floats, not registers.
	args := []string{"-m", "tcp", "-a", strconv.Itoa(meterUnit), "-r", "1", "-c", "3",
		"-t", "3:float", "-B", "-1", "-o", "2", "-p", port, "127.0.0.1"}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	t.Logf("mbpoll %v\n%s", args, out)
	if err != nil {
		t.Fatalf("mbpoll: %v", err)
	}
	// mbpoll prints one line per value: [reference]: <tab>value
	lines := regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(\S+)`).FindAllStringSubmatch(string(out), -1)
	if len(lines) != 3 {
		t.Fatalf("mbpoll printed %d values, want 3", len(lines))
	}
	for i, l := range lines {
		if want := strconv.Itoa(1 + 2*i); l[1] != want {
			t.Errorf("value %d has reference %s, want %s", i, l[1], want)
		}
		v, err := strconv.ParseFloat(l[2], 64)
		if err != nil {
			t.Fatalf("value %q: %v", l[2], err)
		}
		within(t, "voltage read by mbpoll", v, 220, 240)
	}
}
