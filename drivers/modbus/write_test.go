package modbus

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/facilityd/facilityd/drivers"
)

// writeProfile has one point of every kind Write meets.
func writeProfile() *drivers.Profile {
	return &drivers.Profile{Type: "pump", Points: []drivers.Point{
		{Name: "setpoint", Register: drivers.Holding, Address: 0, Type: drivers.TypeUint16, Scale: 0.01},
		{Name: "limit", Register: drivers.Holding, Address: 1, Type: drivers.TypeFloat32, ByteOrder: drivers.CDAB},
		{Name: "mode", Register: drivers.Holding, Address: 3, Type: drivers.TypeUint16, Enum: map[int64]string{0: "off", 2: "auto"}},
		{Name: "running", Register: drivers.Holding, Address: 4, Type: drivers.TypeBit, Bit: 0},
		{Name: "pressure", Register: drivers.Input, Address: 0, Type: drivers.TypeUint16},
		{Name: "enable", Register: drivers.Coil, Address: 2, Type: drivers.TypeBool},
	}}
}

func TestWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &fakeUnit{regs: make([]uint16, 8), coils: make([]bool, 4)}
		conn := newFakeConn(map[uint8]*fakeUnit{1: u, 2: {regs: make([]uint16, 8), coils: make([]bool, 4)}})
		rw := Device{ID: "rw", Profile: writeProfile(), Config: Config{Address: "gw:502", UnitID: 1, Writable: true}}
		ro := Device{ID: "ro", Profile: writeProfile(), Config: Config{Address: "gw:502", UnitID: 2}}
		p := newFakePoller(t, conn, rw, ro)
		ctx := context.Background()
		if err := p.Write(ctx, "rw", "setpoint", 3.2); !errors.Is(err, errNotRunning) {
			t.Errorf("write before Run: %v", err)
		}

		ctx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- p.Run(ctx, &collector{}) }()
		time.Sleep(10 * time.Millisecond)

		for _, w := range []struct {
			point string
			v     float64
		}{{"setpoint", 3.2}, {"limit", 12.5}, {"mode", 2}, {"enable", 1}} {
			if err := p.Write(ctx, "rw", w.point, w.v); err != nil {
				t.Errorf("write %s: %v", w.point, err)
			}
		}
		if want := []uint16{320, 0x0000, 0x4148, 2}; !slices.Equal(u.regs[:4], want) {
			t.Errorf("registers %04x, want %04x", u.regs[:4], want)
		}
		if !u.coils[2] {
			t.Error("coil not set")
		}
		var writes []string
		for _, r := range conn.requests(1) {
			if !strings.HasPrefix(r, "3 ") && !strings.HasPrefix(r, "4 ") && !strings.HasPrefix(r, "1 ") {
				writes = append(writes, r)
			}
		}
		if want := []string{"6 0+1", "16 1+2", "6 3+1", "5 2+1"}; !slices.Equal(writes, want) {
			t.Errorf("writes %v, want %v", writes, want)
		}

		refused := []struct {
			dev, point string
			v          float64
			want       string
		}{
			{"ro", "setpoint", 1, `device "ro" is not writable: set writable: true`},
			{"rw", "pressure", 1, `point "pressure" (input 0x0000): input points are read-only`},
			{"rw", "running", 1, `a bit point cannot be written alone`},
			{"rw", "setpoint", 1000, `does not fit uint16`},
			{"rw", "nope", 1, `no point "nope"`},
			{"nope", "setpoint", 1, `unknown device "nope"`},
		}
		for _, r := range refused {
			if err := p.Write(ctx, r.dev, r.point, r.v); err == nil || !strings.Contains(err.Error(), r.want) {
				t.Errorf("write %s.%s: %v, want %q", r.dev, r.point, err, r.want)
			}
		}
		if slices.ContainsFunc(conn.requests(2), func(r string) bool {
			return !strings.HasPrefix(r, "3 ") && !strings.HasPrefix(r, "4 ") && !strings.HasPrefix(r, "1 ")
		}) {
			t.Errorf("read-only device got a write: %v", conn.requests(2))
		}
		cancel()
		<-done
		if err := p.Write(context.Background(), "rw", "setpoint", 1); !errors.Is(err, errNotRunning) {
			t.Errorf("write after Run: %v", err)
		}
	})
}
