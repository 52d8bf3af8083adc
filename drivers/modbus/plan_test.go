package modbus

import (
	"fmt"
	"strings"
	"testing"

	"github.com/facilityd/facilityd/drivers"
)

// pt builds a point: "h:10:float32" is a float32 holding register at 10.
func pt(name, spec string) drivers.Point {
	var kind, typ string
	var addr uint32
	parts := strings.Split(spec, ":")
	kind, typ = parts[0], parts[2]
	fmt.Sscan(parts[1], &addr)
	kinds := map[string]drivers.RegisterKind{"h": drivers.Holding, "i": drivers.Input, "c": drivers.Coil, "d": drivers.Discrete}
	p := drivers.Point{Name: name, Register: kinds[kind], Address: addr, Type: drivers.DataType(typ)}
	if p.Type == drivers.TypeString {
		p.Length = 10
	}
	return p
}

// summary renders requests as "holding 0+4[a@0 b@2]" for compact tables.
func summary(reqs []Request) string {
	var b strings.Builder
	for i, r := range reqs {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s %d+%d[", r.Register, r.Address, r.Quantity)
		for j, p := range r.Points {
			if j > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s@%d", p.Point.Name, p.Offset)
		}
		b.WriteString("]")
	}
	return b.String()
}

func TestPlan(t *testing.T) {
	cases := []struct {
		name   string
		points []drivers.Point
		opts   PlanOptions
		want   string
	}{
		{"adjacent", []drivers.Point{pt("a", "h:0:float32"), pt("b", "h:2:float32")},
			PlanOptions{MaxGap: 10}, "holding 0+4[a@0 b@2]"},
		{"sorted by address", []drivers.Point{pt("b", "i:8:uint16"), pt("a", "i:3:uint16")},
			PlanOptions{MaxGap: 10}, "input 3+6[a@0 b@5]"},
		{"gap bridged", []drivers.Point{pt("a", "h:0:uint16"), pt("b", "h:11:uint16")},
			PlanOptions{MaxGap: 10}, "holding 0+12[a@0 b@11]"},
		{"gap too wide", []drivers.Point{pt("a", "h:0:uint16"), pt("b", "h:12:uint16")},
			PlanOptions{MaxGap: 10}, "holding 0+1[a@0] holding 12+1[b@0]"},
		{"no gaps", []drivers.Point{pt("a", "h:0:uint16"), pt("b", "h:1:uint16"), pt("c", "h:3:uint16")},
			PlanOptions{MaxGap: 0}, "holding 0+2[a@0 b@1] holding 3+1[c@0]"},
		{"overlap", []drivers.Point{pt("w", "h:5:uint32"), pt("lo", "h:6:uint16"), pt("s", "h:5:string")},
			PlanOptions{MaxGap: 0}, "holding 5+10[w@0 s@0 lo@1]"},
		{"kinds apart", []drivers.Point{pt("c", "c:0:bool"), pt("i", "i:0:int16"), pt("h", "h:0:int16"), pt("d", "d:0:bool")},
			PlanOptions{MaxGap: 10}, "holding 0+1[h@0] input 0+1[i@0] coil 0+1[c@0] discrete 0+1[d@0]"},
		{"125 limit", []drivers.Point{pt("a", "h:0:float32"), pt("b", "h:122:float32"), pt("c", "h:124:float32")},
			PlanOptions{MaxGap: 200}, "holding 0+124[a@0 b@122] holding 124+2[c@0]"},
		{"device limit", []drivers.Point{pt("a", "h:0:float32"), pt("b", "h:2:float32"), pt("c", "h:4:float32")},
			PlanOptions{MaxGap: 10, MaxRegisters: 4}, "holding 0+4[a@0 b@2] holding 4+2[c@0]"},
		{"bits gap in registers of 16", []drivers.Point{pt("a", "c:0:bool"), pt("b", "c:33:bool"), pt("c", "c:67:bool")},
			PlanOptions{MaxGap: 2}, "coil 0+34[a@0 b@33] coil 67+1[c@0]"},
		{"2000 bits", []drivers.Point{pt("a", "d:0:bool"), pt("b", "d:1999:bool"), pt("c", "d:2000:bool")},
			PlanOptions{MaxGap: 1000}, "discrete 0+2000[a@0 b@1999] discrete 2000+1[c@0]"},
		{"top of range", []drivers.Point{pt("a", "h:65532:float64")},
			PlanOptions{}, "holding 65532+4[a@0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reqs, err := Plan(&drivers.Profile{Type: "pump", Points: tc.points}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(reqs); got != tc.want {
				t.Errorf("plan\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPlanReference(t *testing.T) {
	prof := &drivers.Profile{Type: "meter", Addressing: drivers.Reference, Points: []drivers.Point{
		pt("v", "i:30001:float32"), pt("f", "i:30071:float32"), pt("e", "h:400101:uint32"),
		pt("h", "h:40002:uint16"), pt("run", "c:1:bool"), pt("trip", "d:10003:bool"), pt("big", "d:165536:bool"),
	}}
	reqs, err := Plan(prof, PlanOptions{MaxGap: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := "holding 1+1[h@0] holding 100+2[e@0] input 0+2[v@0] input 70+2[f@0] coil 0+1[run@0] discrete 2+1[trip@0] discrete 65535+1[big@0]"
	if got := summary(reqs); got != want {
		t.Errorf("plan\n got %s\nwant %s", got, want)
	}
	if a := reqs[2].Points[0].Point.Address; a != 0 {
		t.Errorf("planned point keeps reference address %d, want wire address 0", a)
	}
	if prof.Points[0].Address != 30001 {
		t.Error("Plan changed the profile")
	}
}

func TestWireAddressErrors(t *testing.T) {
	ref := &drivers.Profile{Addressing: drivers.Reference}
	cases := []struct {
		prof *drivers.Profile
		p    drivers.Point
		want string
	}{
		{ref, pt("p", "h:30001:uint16"), `point "p": holding reference 30001 is outside 40001..49999 and 400001..465536; with addressing: reference, holding registers are numbered from 40001`},
		{ref, pt("p", "i:40001:uint16"), `input reference 40001 is outside 30001..39999`},
		{ref, pt("p", "h:40000:uint16"), `holding reference 40000`},
		{ref, pt("p", "h:465537:uint16"), `holding reference 465537`},
		{ref, pt("p", "c:0:bool"), `coil reference 0 is outside 1..65536`},
		{ref, pt("p", "d:1:bool"), `discrete reference 1`},
		{&drivers.Profile{}, pt("p", "h:65536:uint16"), `point "p" (holding 0x10000): wire address 65536 is beyond 65535`},
	}
	for _, tc := range cases {
		_, err := WireAddress(tc.prof, &tc.p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %d: err = %v, want %q", tc.p.Register, tc.p.Address, err, tc.want)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	bad := []struct {
		p    drivers.Point
		want string
	}{
		{drivers.Point{Name: "nreg", Type: drivers.TypeInt16}, `point "nreg": no register`},
		{drivers.Point{Name: "ntype", Register: drivers.Holding}, `point "ntype" (holding 0x0000): no type`},
		{drivers.Point{Name: "utype", Register: drivers.Holding, Type: "int8"}, `unknown type "int8"`},
		{drivers.Point{Name: "ctype", Register: drivers.Coil, Type: drivers.TypeInt16}, `a coil point must be of type bool`},
		{drivers.Point{Name: "bit", Register: drivers.Holding, Type: drivers.TypeBit, Bit: 16}, `bit 16 is outside 0..15`},
		{drivers.Point{Name: "bit2", Register: drivers.Holding, Type: drivers.TypeInt16, Bit: 3}, `bit is set but the type is int16`},
		{drivers.Point{Name: "str", Register: drivers.Holding, Type: drivers.TypeString}, `a string needs a length`},
		{drivers.Point{Name: "enum", Register: drivers.Holding, Type: drivers.TypeFloat32, Enum: map[int64]string{1: "x"}}, `an enumeration needs an integer type`},
		{drivers.Point{Name: "enums", Register: drivers.Holding, Type: drivers.TypeInt16, Scale: 2, Enum: map[int64]string{1: "x"}}, `remove scale and offset`},
		{drivers.Point{Name: "over", Register: drivers.Holding, Address: 65535, Type: drivers.TypeFloat32}, `point "over" (holding 0xffff): 2 registers from wire address 65535 run past 65535`},
		{drivers.Point{Name: "bo", Register: drivers.Holding, Type: drivers.TypeInt32, ByteOrder: "ABDC"}, `unknown byte order "ABDC"`},
		{drivers.Point{Name: "dup", Register: drivers.Holding, Type: drivers.TypeInt16}, ``},
		{drivers.Point{Name: "dup", Register: drivers.Holding, Type: drivers.TypeInt16}, `point "dup": defined twice`},
	}
	prof := &drivers.Profile{Type: "pump"}
	for _, b := range bad {
		prof.Points = append(prof.Points, b.p)
	}
	_, err := Plan(prof, PlanOptions{})
	if err == nil {
		t.Fatal("Plan accepted bad points")
	}
	for _, b := range bad {
		if !strings.Contains(err.Error(), b.want) {
			t.Errorf("error lacks %q:\n%v", b.want, err)
		}
	}
	if _, err := Plan(&drivers.Profile{Type: "pump"}, PlanOptions{}); err == nil {
		t.Error("Plan accepted a profile without points")
	}
	long := drivers.Point{Name: "long", Register: drivers.Holding, Type: drivers.TypeFloat64}
	if _, err := Plan(&drivers.Profile{Points: []drivers.Point{long}}, PlanOptions{MaxRegisters: 2}); err == nil ||
		!strings.Contains(err.Error(), "spans 4 registers, more than the 2 one read may take") {
		t.Errorf("float64 with max 2 registers: err = %v", err)
	}
}

// TestDevicesSharePlan: devices of one profile and limits share one plan;
// other limits get their own. Devices of one gateway share one buffer.
func TestDevicesSharePlan(t *testing.T) {
	prof := testProfile()
	gap := 0
	p, err := New([]Device{
		{ID: "a", Profile: prof, Config: Config{Address: "gw:502", UnitID: 1}},
		{ID: "b", Profile: prof, Config: Config{Address: "gw:502", UnitID: 2}},
		{ID: "c", Profile: prof, Config: Config{Address: "gw:502", UnitID: 3, MaxGap: &gap}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := p.byID["a"].requests, p.byID["b"].requests, p.byID["c"].requests
	if &a[0] != &b[0] {
		t.Error("devices of one profile planned apart")
	}
	if &a[0] == &c[0] {
		t.Error("a device of max_gap 0 shares the plan of the default max_gap")
	}
	// Polled one at a time, the devices of a gateway share their samples' room.
	if p.byID["a"].buf != p.byID["c"].buf || p.byID["a"].buf == nil {
		t.Error("devices of one gateway have samples buffers of their own")
	}
}
