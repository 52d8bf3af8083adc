package sim

import (
	"strings"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	good := []struct {
		in   string
		want Fault
	}{
		{"pump-1:low_pressure@10s", Fault{"pump-1", "low_pressure", 10 * time.Second}},
		{"meter-1:reverse_energy@1m30s", Fault{"meter-1", "reverse_energy", 90 * time.Second}},
		{"pump-2:trip", Fault{"pump-2", "trip", 0}},
		{"plant:pump:7:offline@0s", Fault{"plant:pump:7", "offline", 0}},
		{" pump-1 : dry_run @ 300ms", Fault{"pump-1", "dry_run", 300 * time.Millisecond}},
	}
	for _, tc := range good {
		got, err := ParseFault(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", `fault "": missing ':'`},
		{"pump-1", `fault "pump-1": missing ':' between device and kind`},
		{"pump-1low_pressure@10s", `fault "pump-1low_pressure@10s": missing ':'`},
		{":trip@1s", `fault ":trip@1s": missing device`},
		{"pump-1:@1s", `fault "pump-1:@1s": missing kind`},
		{"pump-1:low_presure@10s", `unknown kind "low_presure": use one of`},
		{"pump-1:trip@10", `fault "pump-1:trip@10": delay "10" is not a duration`},
		{"pump-1:trip@soon", `delay "soon" is not a duration`},
		{"pump-1:trip@-5s", `delay -5s is negative`},
	}
	for _, tc := range bad {
		_, err := ParseFault(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFault(%q) error = %v, want it to say %q", tc.in, err, tc.want)
		}
	}
}

func TestFaultStringRoundTrip(t *testing.T) {
	f := Fault{Device: "pump-1", Kind: "overcurrent", After: 2500 * time.Millisecond}
	if got, err := ParseFault(f.String()); err != nil || got != f {
		t.Errorf("ParseFault(%q) = %+v, %v", f.String(), got, err)
	}
}

func FuzzParseFault(f *testing.F) {
	f.Add("pump-1:low_pressure@10s")
	f.Add("a:b:c@")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFault(s)
		if err != nil {
			return
		}
		again, err := ParseFault(got.String())
		if err != nil || again != got {
			t.Errorf("%q parsed to %+v, which reads back as %+v, %v", s, got, again, err)
		}
	})
}
