package rules

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/drivers"
)

var update = flag.Bool("update", false, "rewrite golden .err files")

// goldenDevices are what the golden rule files are checked against.
func goldenDevices() []*Device {
	lift := map[string]drivers.Kind{"service_mode": drivers.KindString, "entrapment": drivers.KindBool}
	return []*Device{
		pump("pump-1", "gw", map[string]string{"building": "A"}),
		pump("pump-2", "gw", nil),
		{ID: "lift-1", Type: "elevator", Profile: "elevator", Points: lift},
	}
}

// loadGolden parses and checks one golden rule file.
func loadGolden(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := ParseFile(path, data)
	errs := Check(&Set{Rules: f.Rules(), Inhibit: f.Inhibit}, goldenDevices())
	return SortErrors(append(errs, err))
}

// TestGoldenRuleFiles parses testdata/*.bad.yaml and compares every error
// with <name>.err; testdata/*.good.yaml must load without one.
func TestGoldenRuleFiles(t *testing.T) {
	bad, _ := filepath.Glob("testdata/*.bad.yaml")
	good, _ := filepath.Glob("testdata/*.good.yaml")
	if len(bad) < 3 || len(good) == 0 {
		t.Fatalf("golden files missing: %v %v", bad, good)
	}
	for _, f := range good {
		if err := loadGolden(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range bad {
		t.Run(filepath.Base(f), func(t *testing.T) {
			err := loadGolden(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("missing golden file (go test ./rules -update): %v", rerr)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
			for line := range strings.SplitSeq(strings.TrimSpace(got), "\n") {
				if !strings.HasPrefix(line, f+":") {
					t.Errorf("error without file:line:col: %q", line)
				}
			}
		})
	}
}

// TestExprErrorColumns checks that an error inside an expression points at
// the character it is about, in plain, quoted and block scalars.
func TestExprErrorColumns(t *testing.T) {
	err := loadGolden("testdata/expr.bad.yaml")
	lines := strings.Split(string(must(os.ReadFile("testdata/expr.bad.yaml"))), "\n")
	for msg, want := range map[string]string{
		"discharge_presure": "discharge_presure", "mismatched types": "> 'high'",
		"motor_curent": "motor_curent", "runing": "runing", "bad window": `"5"`,
	} {
		found := false
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var re *Error
			if !errors.As(e, &re) || !strings.Contains(re.Msg, msg) {
				continue
			}
			line := lines[re.Line-1]
			if re.Col-1 < len(line) && strings.HasPrefix(line[re.Col-1:], want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no error about %s positioned at %q", msg, want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func FuzzParseFile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	files = append(files, "../configs/rules/pump.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("groups: [{name: g, rules: [{name: r, match: {all: true}, expr: 'avg(x, \"1m\")'}]}]"))
	devices := goldenDevices()
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile("fuzz.yaml", data)
		if file == nil {
			t.Fatal("nil file")
		}
		errs := Check(&Set{Rules: file.Rules(), Inhibit: file.Inhibit}, devices)
		for _, e := range append(errs, err) {
			if e == nil {
				continue
			}
			for line := range strings.SplitSeq(e.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml:") {
					t.Fatalf("error without position: %q", line)
				}
			}
		}
		if err == nil && len(errs) == 0 {
			if _, err := NewEngine(&Set{Rules: file.Rules(), Inhibit: file.Inhibit}, devices, Options{}); err != nil {
				t.Fatalf("checked rules do not build an engine: %v", err)
			}
		}
	})
}

// TestEnumsAnyCase: kind, severity and ticket priority decode like every
// enum of the config (yamlstrict.Enum), to their canonical spelling.
func TestEnumsAnyCase(t *testing.T) {
	f, err := ParseFile("r.yaml", []byte(`groups:
  - name: g
    rules:
      - name: down
        kind: Offline
        match: {all: true}
        severity: CRITICAL
        ticket: {priority: p2}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Rules()[0]
	if r.Kind != KindOffline || r.Severity != Critical || r.Ticket.Priority != "P2" {
		t.Errorf("kind %q, severity %q, priority %q; want offline, critical, P2", r.Kind, r.Severity, r.Ticket.Priority)
	}
}
