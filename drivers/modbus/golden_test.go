package modbus

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/goburrow/modbus"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the expected.txt of the golden cases")

// TestGolden runs every folder of testdata: profile.yaml (and optionally
// device.yaml, the device's modbus settings) polled twice from the memory
// of registers.txt, against expected.txt: the requests of each poll and
// every point's value, quality and raw registers. Run with -update to
// rewrite expected.txt after a deliberate change, and review the diff.
//
// registers.txt has one line per run of registers, "holding 0x0010: 4366
// 8000" (hex words; coil and discrete take 0 and 1), and "refuse input 7"
// for a register the device answers with exception 2. Unlisted registers
// read 0.
func TestGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*/profile.yaml")
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var prof drivers.Profile
			strictYAML(t, filepath.Join(dir, "profile.yaml"), &prof)
			for i := range prof.Points {
				if prof.Points[i].Type == "" && prof.Points[i].Register.IsBit() {
					prof.Points[i].Type = drivers.TypeBool // as config does
				}
			}
			cfg := Config{Address: "golden:502"}
			if _, err := os.Stat(filepath.Join(dir, "device.yaml")); err == nil {
				strictYAML(t, filepath.Join(dir, "device.yaml"), &cfg)
			}
			mem := readMemory(t, filepath.Join(dir, "registers.txt"))
			d, err := newDevice(Device{ID: filepath.Base(dir), Profile: &prof, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			d.raw = map[string][]uint16{}
			var out bytes.Buffer
			t0 := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
			for poll := 1; poll <= 2; poll++ {
				mem.log = nil
				res := d.poll(context.Background(), mem, t0.Add(time.Duration(poll)*time.Second))
				fmt.Fprintf(&out, "poll %d: answered=%v problems=%d requests:", poll, res.answered, len(res.problems))
				for _, r := range mem.log {
					fmt.Fprintf(&out, " %s", r)
				}
				out.WriteString("\n")
			}
			out.WriteString("\n")
			byName := map[string]drivers.Sample{}
			for _, s := range d.samples {
				byName[s.Point] = s
			}
			for _, p := range prof.Points {
				s, ok := byName[p.Name]
				if !ok {
					fmt.Fprintf(&out, "%s: no sample\n", p.Name)
					continue
				}
				var raw []string
				for _, r := range d.raw[p.Name] {
					raw = append(raw, fmt.Sprintf("%04x", r))
				}
				fmt.Fprintf(&out, "%-20s %-6s %-24s %-9s %s\n", p.Name, kindName(s.Value.Kind), strconv.Quote(s.Value.String()), s.Quality, strings.Join(raw, " "))
			}
			golden := filepath.Join(dir, "expected.txt")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("%s differs; got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func kindName(k drivers.Kind) string {
	return [...]string{"float", "int", "bool", "string"}[k]
}

func strictYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// memory is a device's four tables as a conn; every read is logged.
type memory struct {
	tables map[drivers.RegisterKind]map[uint16]uint16
	refuse map[drivers.RegisterKind]map[uint16]bool
	log    []string
}

var _ conn = (*memory)(nil)

func readMemory(t *testing.T, path string) *memory {
	t.Helper()
	m := &memory{tables: map[drivers.RegisterKind]map[uint16]uint16{}, refuse: map[drivers.RegisterKind]map[uint16]bool{}}
	for _, k := range drivers.RegisterKinds {
		m.tables[drivers.RegisterKind(k)] = map[uint16]uint16{}
		m.refuse[drivers.RegisterKind(k)] = map[uint16]bool{}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for n, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func() { t.Fatalf("%s:%d: %q: want \"TABLE ADDR: WORDS\" or \"refuse TABLE ADDR\"", path, n+1, line) }
		if f[0] == "refuse" {
			if len(f) != 3 {
				bad()
			}
			a, err := strconv.ParseUint(f[2], 0, 16)
			if err != nil || m.refuse[drivers.RegisterKind(f[1])] == nil {
				bad()
			}
			m.refuse[drivers.RegisterKind(f[1])][uint16(a)] = true
			continue
		}
		if len(f) < 3 || !strings.HasSuffix(f[1], ":") || m.tables[drivers.RegisterKind(f[0])] == nil {
			bad()
		}
		a, err := strconv.ParseUint(strings.TrimSuffix(f[1], ":"), 0, 16)
		if err != nil {
			bad()
		}
		for i, w := range f[2:] {
			v, err := strconv.ParseUint(w, 16, 16)
			if err != nil {
				bad()
			}
			m.tables[drivers.RegisterKind(f[0])][uint16(int(a)+i)] = uint16(v)
		}
	}
	return m
}

func (m *memory) read(kind drivers.RegisterKind, fc byte, addr, qty uint16) ([]byte, error) {
	m.log = append(m.log, Range{kind, addr, qty}.String())
	for a := int(addr); a < int(addr)+int(qty); a++ {
		if m.refuse[kind][uint16(a)] {
			return nil, &modbus.ModbusError{FunctionCode: fc | 0x80, ExceptionCode: modbus.ExceptionCodeIllegalDataAddress}
		}
	}
	tbl := m.tables[kind]
	if kind.IsBit() {
		b := make([]byte, (qty+7)/8)
		for i := range int(qty) {
			if tbl[addr+uint16(i)] != 0 {
				b[i/8] |= 1 << (i % 8)
			}
		}
		return b, nil
	}
	b := make([]byte, 2*qty)
	for i := range int(qty) {
		binary.BigEndian.PutUint16(b[2*i:], tbl[addr+uint16(i)])
	}
	return b, nil
}

func (m *memory) ReadCoils(a, q uint16) ([]byte, error) { return m.read(drivers.Coil, 1, a, q) }
func (m *memory) ReadDiscreteInputs(a, q uint16) ([]byte, error) {
	return m.read(drivers.Discrete, 2, a, q)
}
func (m *memory) ReadHoldingRegisters(a, q uint16) ([]byte, error) {
	return m.read(drivers.Holding, 3, a, q)
}
func (m *memory) ReadInputRegisters(a, q uint16) ([]byte, error) {
	return m.read(drivers.Input, 4, a, q)
}
func (m *memory) WriteSingleCoil(a, v uint16) ([]byte, error)     { return nil, errReadOnly }
func (m *memory) WriteSingleRegister(a, v uint16) ([]byte, error) { return nil, errReadOnly }
func (m *memory) WriteMultipleRegisters(a, q uint16, v []byte) ([]byte, error) {
	return nil, errReadOnly
}
func (m *memory) SetUnit(uint8, time.Duration) {}
func (m *memory) Close() error                 { return nil }

var errReadOnly = &modbus.ModbusError{FunctionCode: 0x86, ExceptionCode: modbus.ExceptionCodeIllegalFunction}
