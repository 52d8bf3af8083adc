package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/drivers/modbus"
)

const modbusUsage = `facilityd modbus read: read a device once and print decoded values and raw registers

  facilityd modbus read -c FILE --device ID
      every point of a configured device, through its profile
  facilityd modbus read --address HOST:PORT [--unit N] --register holding --start 40001
        [--count N] [--type float32] [--byte-order CDAB] [--addressing auto|wire|reference]
      a range of one table; --count is the number of values of --type (for
      string, the registers of one string); without --byte-order, 32- and
      64-bit types are shown in all four byte orders side by side

Compare the values with the device's own display to check byte order, scale
and addresses before writing a profile.
`

// cmdModbus runs the modbus subcommands.
func cmdModbus(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "read" {
		fmt.Fprint(stdout, modbusUsage)
		if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			return flag.ErrHelp
		}
		return fmt.Errorf("modbus: unknown subcommand %q: use read", args[0])
	}
	fs, path := flags("modbus read", stdout)
	device := fs.String("device", "", "id of a configured device to read through its profile")
	var mc modbus.Config
	fs.StringVar(&mc.Address, "address", "", "host:port (tcp, rtu_over_tcp) or serial device (rtu)")
	transport := fs.String("transport", "tcp", "tcp, rtu_over_tcp or rtu")
	unit := fs.Uint("unit", 1, "unit id (slave id)")
	fs.DurationVar(&mc.Timeout, "timeout", time.Second, "per request")
	fs.IntVar(&mc.BaudRate, "baud", 9600, "rtu: baud rate")
	fs.StringVar(&mc.Parity, "parity", "N", "rtu: N, E or O")
	fs.IntVar(&mc.StopBits, "stop-bits", 1, "rtu: 1 or 2")
	register := fs.String("register", "holding", "holding, input, coil or discrete")
	start := fs.String("start", "", "first address: a wire address (0, 0x10) or a reference (40001)")
	count := fs.Int("count", 1, "number of values")
	typ := fs.String("type", "uint16", "value type: "+strings.Join(drivers.DataTypes, ", "))
	order := fs.String("byte-order", "", "ABCD, DCBA, BADC or CDAB (empty: show all four)")
	addressing := fs.String("addressing", "auto", "auto, wire or reference: how to read --start")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *device != "" {
		return readDevice(ctx, stdout, *path, *device)
	}
	if mc.Address == "" {
		return errors.New("modbus read: give --device ID (with -c FILE) or --address HOST:PORT; see facilityd modbus help")
	}
	if *unit > 255 {
		return fmt.Errorf("modbus read: --unit %d: use 0..255", *unit)
	}
	mc.Transport, mc.UnitID = modbus.Transport(*transport), uint8(*unit)
	return readRange(ctx, stdout, mc, rangeFlags{
		register: drivers.RegisterKind(*register), start: *start, count: *count,
		typ: drivers.DataType(*typ), order: drivers.ByteOrder(strings.ToUpper(*order)), addressing: *addressing,
	})
}

// readDevice reads every point of a configured device.
func readDevice(ctx context.Context, out io.Writer, path, id string) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	var dev *config.Device
	var ids []string
	for _, d := range cfg.Devices {
		ids = append(ids, d.ID)
		if d.ID == id {
			dev = d
		}
	}
	if dev == nil {
		return fmt.Errorf("modbus read: no device %q in %s (devices: %s)", id, path, strings.Join(ids, ", "))
	}
	if dev.Modbus == nil {
		return fmt.Errorf("modbus read: device %q has no modbus section", id)
	}
	m := *dev.Modbus
	fmt.Fprintf(out, "device %s: profile %s, unit %d at %s (%s)\n\n", dev.ID, dev.Profile, m.UnitID, m.Address, m.Transport)
	readings, err := modbus.Inspect(ctx, modbus.Device{ID: dev.ID, Profile: cfg.Profiles[dev.Profile], Config: m})
	if readings == nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POINT\tREGISTER\tTYPE\tRAW\tVALUE\tUNIT\tQUALITY")
	for _, r := range readings {
		p := &r.Point
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, where(p.Register, uint16(p.Address)), typeName(p),
			hexWords(r.Raw), show(p, r.Sample), p.Unit, r.Sample.Quality)
	}
	tw.Flush()
	if err != nil {
		fmt.Fprintf(out, "\nproblems:\n%s\n", err)
		return errors.New("modbus read: some points could not be read")
	}
	return nil
}

// rangeFlags are the options of a range read.
type rangeFlags struct {
	register   drivers.RegisterKind
	start      string
	count      int
	typ        drivers.DataType
	order      drivers.ByteOrder
	addressing string
}

// readRange reads count values of one type from one table and prints them.
func readRange(ctx context.Context, out io.Writer, mc modbus.Config, f rangeFlags) error {
	if f.register.IsBit() {
		f.typ = drivers.TypeBool
	}
	p := drivers.Point{Name: "value", Register: f.register, Type: f.typ, ByteOrder: f.order}
	width := f.typ.Registers(0)
	if f.typ == drivers.TypeString {
		p.Length, width = f.count, f.count
		f.count = 1
	}
	orders := []drivers.ByteOrder{f.order}
	if f.order == "" {
		orders = []drivers.ByteOrder{drivers.ABCD}
		if width > 1 && f.typ != drivers.TypeString {
			orders = []drivers.ByteOrder{drivers.ABCD, drivers.CDAB, drivers.BADC, drivers.DCBA}
		}
	}
	p.ByteOrder = orders[0]
	if err := modbus.CheckPoint(&p); err != nil {
		return fmt.Errorf("modbus read: %w", err)
	}
	addr, how, err := startAddress(f.register, f.start, f.addressing)
	if err != nil {
		return fmt.Errorf("modbus read: %w", err)
	}
	if f.count < 1 {
		return fmt.Errorf("modbus read: --count %d: read at least 1", f.count)
	}
	regs, err := modbus.ReadRange(ctx, mc, f.register, addr, f.count*width)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "unit %d at %s (%s): %s %s, %s\n\n", mc.UnitID, mc.Address, mc.Transport, f.register, how, f.typ)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	head := "ADDRESS\tREFERENCE\tRAW"
	for _, o := range orders {
		head += "\t" + string(o)
	}
	fmt.Fprintln(tw, head)
	for i := range f.count {
		a := addr + uint16(i*width)
		raw := regs[i*width : (i+1)*width]
		line := fmt.Sprintf("%d (0x%04x)\t%s\t%s", a, a, reference(f.register, a), hexWords(raw))
		for _, o := range orders {
			p.ByteOrder = o
			v, err := modbus.Decode(&p, raw)
			s := drivers.Sample{Value: v}
			if err != nil {
				s.Quality = drivers.Bad
			}
			line += "\t" + show(&p, s)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// startAddress reads --start as a wire address or a 1-based reference.
// With auto, a number in the table's reference range (40001.. for holding,
// 30001.. input, 10001.. discrete) is a reference; coils are wire
// addresses unless told.
func startAddress(kind drivers.RegisterKind, s, addressing string) (uint16, string, error) {
	if s == "" {
		return 0, "", errors.New("--start is required: a wire address such as 0 or 0x10, or a reference such as 40001")
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, "", fmt.Errorf("--start %q is not a number", s)
	}
	ref := false
	switch addressing {
	case "wire":
	case "reference":
		ref = true
	case "auto":
		base := map[drivers.RegisterKind]uint64{drivers.Holding: 40001, drivers.Input: 30001, drivers.Discrete: 10001}[kind]
		ref = base != 0 && n >= base && n < base+10000 || base != 0 && n >= 10*base-9 && n <= 10*base-9+65535
	default:
		return 0, "", fmt.Errorf("--addressing %q: use auto, wire or reference", addressing)
	}
	if !ref {
		if n > math.MaxUint16 {
			return 0, "", fmt.Errorf("--start %d: wire addresses end at 65535", n)
		}
		return uint16(n), fmt.Sprintf("from wire address %d (reference %s)", n, reference(kind, uint16(n))), nil
	}
	a, err := modbus.WireAddress(&drivers.Profile{Addressing: drivers.Reference}, &drivers.Point{Name: "start", Register: kind, Address: uint32(n)})
	if err != nil {
		return 0, "", err
	}
	return a, fmt.Sprintf("from reference %d = wire address %d (--addressing wire sends %d as is)", n, a, n), nil
}

// reference is the 1-based documentation number of a wire address.
func reference(kind drivers.RegisterKind, a uint16) string {
	base := map[drivers.RegisterKind]int{drivers.Coil: 0, drivers.Discrete: 1, drivers.Input: 3, drivers.Holding: 4}[kind]
	if a < 9999 {
		return fmt.Sprintf("%d%04d", base, int(a)+1)
	}
	return fmt.Sprintf("%d%05d", base, int(a)+1)
}

// where is "holding 2 (40003)".
func where(kind drivers.RegisterKind, a uint16) string {
	return fmt.Sprintf("%s %d (%s)", kind, a, reference(kind, a))
}

func typeName(p *drivers.Point) string {
	switch {
	case p.Register.IsBit():
		return "bool"
	case p.Type == drivers.TypeBit:
		return fmt.Sprintf("bit %d", p.Bit)
	case p.Type == drivers.TypeString && p.ByteOrder == drivers.BADC:
		return "string BADC"
	case p.Type.Registers(p.Length) > 1 && p.Type != drivers.TypeString:
		return fmt.Sprintf("%s %s", p.Type, p.ByteOrder)
	}
	return string(p.Type)
}

func hexWords(regs []uint16) string {
	w := make([]string, len(regs))
	for i, r := range regs {
		w[i] = fmt.Sprintf("%04x", r)
	}
	return strings.Join(w, " ")
}

// show formats a value as a display would: float32 readings with the
// digits a float32 carries, scaled values without binary noise, text
// quoted.
func show(p *drivers.Point, s drivers.Sample) string {
	if s.Quality == drivers.Bad {
		return "-"
	}
	v := s.Value
	switch v.Kind {
	case drivers.KindFloat:
		if p.Type == drivers.TypeFloat32 && (p.Scale == 0 || p.Scale == 1) && p.Offset == 0 {
			return strconv.FormatFloat(v.F, 'g', -1, 32)
		}
		return strconv.FormatFloat(v.F, 'g', 12, 64)
	case drivers.KindString:
		return strconv.Quote(v.S)
	}
	return v.String()
}
