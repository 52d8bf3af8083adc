package rules

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/drivers"
)

var nativePoints = map[string]drivers.Kind{
	"a": drivers.KindFloat, "b": drivers.KindFloat, "on": drivers.KindBool, "off": drivers.KindBool,
	"mode": drivers.KindString, "name": drivers.KindString,
}

// TestNativeMatchesVM evaluates expressions both ways over random values —
// NaN, infinities, zero, text — and wants the same answers, including
// when a point holds a value of the wrong type.
func TestNativeMatchesVM(t *testing.T) {
	bools := []string{
		"a < 1.5 && on", "a <= b || !on", "a > -2 and not off", "a >= 0 or off", "a == 1", "a != b",
		"a + b * 2 - 1 / b > 3", "-a < +b", "(a - b) / b == 0", "on == off", "on != true", "mode == \"off\"",
		"mode != name", "\"auto\" == mode && a > 1", "true", "!false", "1 < 2", "a == 1.0 && b == 2",
		"on && off || on && !off", "max(a, b) > 1", "mode in [\"off\", \"hand\"]", "a ** 2 > 4", "a * 0 == 0",
		"mode < name", "avg(a, \"1m\") > 1 && on",
	}
	native := 0
	r := rand.New(rand.NewPCG(1, 2))
	nums := []float64{0, 1, -1, 1.5, 2, 3, math.NaN(), math.Inf(1), math.Inf(-1), 1e-9}
	texts := []string{"off", "hand", "auto", ""}
	for _, src := range bools {
		p, err := compileExpr(src, nativePoints, asBool)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if p.isTrue == nil {
			continue
		}
		native++
		var v vm.VM
		for range 300 {
			env := map[string]any{"a": nums[r.IntN(len(nums))], "b": nums[r.IntN(len(nums))],
				"on": r.IntN(2) == 0, "off": r.IntN(2) == 0, "mode": texts[r.IntN(len(texts))],
				"name": texts[r.IntN(len(texts))], "avg(a,1m0s)": nums[r.IntN(len(nums))]}
			if r.IntN(20) == 0 {
				env["a"] = true // a driver sending the wrong type
			}
			if r.IntN(20) == 0 {
				env["on"] = 1.0
			}
			got, gotOK := p.isTrue(env)
			out, err := v.Run(p.prog, env)
			want, isBool := out.(bool)
			wantOK := err == nil && isBool
			if gotOK != wantOK || gotOK && got != want {
				t.Errorf("%s with %v: native %v/%v, vm %v/%v (%v)", src, env, got, gotOK, want, wantOK, err)
			}
		}
	}
	if native < 17 {
		t.Errorf("only %d of %d expressions run natively", native, len(bools))
	}
}

// TestShippedRulesRunNatively keeps the common shapes fast: most shipped
// rules must not need the VM.
func TestShippedRulesRunNatively(t *testing.T) {
	byType := map[string]map[string]drivers.Kind{}
	profiles, _ := filepath.Glob("../configs/profiles/*.yaml")
	for _, f := range profiles {
		data, _ := os.ReadFile(f)
		var p drivers.Profile
		if err := yaml.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pts := map[string]drivers.Kind{}
		for i := range p.Points {
			pt := &p.Points[i]
			if pt.Type == "" && pt.Register.IsBit() {
				pt.Type = drivers.TypeBool
			}
			pts[pt.Name] = pt.ValueKind()
		}
		byType[p.Type] = pts
	}
	files, _ := filepath.Glob("../configs/rules/*.yaml")
	total, nativeN := 0, 0
	for _, f := range files {
		data, _ := os.ReadFile(f)
		rf, err := ParseFile(f, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, rule := range rf.Rules() {
			if rule.Kind != KindExpr {
				continue
			}
			p, err := compileExpr(rule.Expr, byType[rule.Match.Type], asBool)
			if err != nil {
				t.Fatalf("%s: %v", rule.Name, err)
			}
			total++
			if p.isTrue != nil {
				nativeN++
			} else {
				t.Logf("on the VM: %s: %s", rule.Name, rule.Expr)
			}
		}
	}
	if total == 0 || float64(nativeN)/float64(total) < 0.6 {
		t.Errorf("%d of %d shipped expr rules run natively", nativeN, total)
	}
}
