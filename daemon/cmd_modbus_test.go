package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers/sim"
)

// startDemoSim serves the demo's pump (unit 1) and meter (unit 2) with
// their shipped profiles and returns the config file that names them.
func startDemoSim(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "facilityd.yaml")
	write := func(addr string) {
		root, _ := filepath.Abs("..")
		text := fmt.Sprintf(`influxdb: {url: "http://127.0.0.1:1", bucket: x/y}
profile_files: [%q]
devices:
  - {id: pump-1, profile: booster_pump, modbus: {address: %q, unit_id: 1}}
  - {id: meter-1, profile: energy_meter, modbus: {address: %q, unit_id: 2}}
`, filepath.Join(root, "configs/profiles/*.yaml"), addr, addr)
		if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("127.0.0.1:1")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var devs []sim.Device
	for _, d := range cfg.Devices {
		devs = append(devs, sim.Device{ID: d.ID, UnitID: d.Modbus.UnitID, Profile: cfg.Profiles[d.Profile]})
	}
	s, err := sim.New(sim.Config{Addr: "127.0.0.1:0", Devices: devs, Tick: -1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-s.Ready()
	write(s.Addr())
	return cfgPath
}

func TestModbusReadDevice(t *testing.T) {
	cfg := startDemoSim(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"modbus", "read", "-c", cfg, "--device", "pump-1"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut.String(), out.String())
	}
	text := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`device pump-1: profile booster_pump, unit 1 at 127\.0\.0\.1:\d+ \(tcp\)`),
		regexp.MustCompile(`(?m)^POINT\s+REGISTER\s+TYPE\s+RAW\s+VALUE\s+UNIT\s+QUALITY$`),
		regexp.MustCompile(`(?m)^running\s+holding 0 \(40001\)\s+bit 0\s+[0-9a-f]{4}\s+true\s+good$`),
		regexp.MustCompile(`(?m)^discharge_pressure\s+holding 2 \(40003\)\s+uint16\s+01[0-9a-f]{2}\s+3\.\d+\s+bar\s+good$`),
		regexp.MustCompile(`(?m)^motor_current\s+holding 4 \(40005\)\s+float32 ABCD\s+41[0-9a-f]{2} [0-9a-f]{4}\s+1\d\.\d+\s+A\s+good$`),
		regexp.MustCompile(`(?m)^mode\s+holding 1 \(40002\)\s+uint16\s+0002\s+"auto"\s+good$`),
		regexp.MustCompile(`(?m)^starts\s+holding 10 \(40011\)\s+uint32 CDAB\s+[0-9a-f]{4} 0000\s+\d+\s+good$`),
	} {
		if !want.MatchString(text) {
			t.Errorf("output does not match %s:\n%s", want, text)
		}
	}
	out.Reset()
	if code := run([]string{"modbus", "read", "-c", cfg, "--device", "pump-9"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), `no device "pump-9"`) {
		t.Errorf("unknown device: exit %d, %s", code, errOut.String())
	}
}

func TestModbusReadRange(t *testing.T) {
	cfg := startDemoSim(t)
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := c.Devices[0].Modbus.Address
	var out, errOut bytes.Buffer
	args := []string{"modbus", "read", "--address", addr, "--unit", "2", "--register", "input", "--start", "30001", "--count", "3", "--type", "float32"}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	text := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`input from reference 30001 = wire address 0 \(--addressing wire sends 30001 as is\), float32`),
		regexp.MustCompile(`(?m)^ADDRESS\s+REFERENCE\s+RAW\s+ABCD\s+CDAB\s+BADC\s+DCBA$`),
		regexp.MustCompile(`(?m)^0 \(0x0000\)\s+30001\s+436[0-9a-f] [0-9a-f]{4}\s+2[23]\d\.\d+\s`),
		regexp.MustCompile(`(?m)^4 \(0x0004\)\s+30005\s+436[0-9a-f] [0-9a-f]{4}\s+2[23]\d\.\d+\s`),
	} {
		if !want.MatchString(text) {
			t.Errorf("output does not match %s:\n%s", want, text)
		}
	}

	out.Reset()
	args = []string{"modbus", "read", "--address", addr, "--unit", "1", "--register", "holding", "--start", "0x8", "--count", "1", "--type", "uint32", "--byte-order", "cdab"}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !regexp.MustCompile(`(?m)^8 \(0x0008\)\s+40009\s+[0-9a-f]{4} [0-9a-f]{4}\s+\d+$`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "holding from wire address 8 (reference 40009)") {
		t.Errorf("holding uint32 CDAB:\n%s", out.String())
	}

	errOut.Reset()
	if code := run([]string{"modbus", "read", "--address", addr, "--register", "holding"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "--start is required") {
		t.Errorf("no start: exit %d, %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"modbus", "read", "--address", addr, "--unit", "2", "--register", "input", "--start", "30400", "--count", "2"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "input 0x018f+2 (unit 2): modbus: exception '2' (illegal data address)") {
		t.Errorf("past the end: exit %d, %s", code, errOut.String())
	}
}
