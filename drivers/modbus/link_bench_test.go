package modbus

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/facilityd/facilityd/drivers"
	"github.com/goburrow/modbus"
)

// serveMeter answers every Modbus TCP read on ln with count registers, as
// one write per reply, until ln closes.
func serveMeter(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var req [12]byte
			resp := make([]byte, 9+2*125)
			for {
				if _, err := io.ReadFull(c, req[:]); err != nil {
					return
				}
				qty := binary.BigEndian.Uint16(req[10:])
				n := 9 + 2*int(qty)
				copy(resp, req[:4])
				binary.BigEndian.PutUint16(resp[4:], uint16(n-6))
				resp[6], resp[7], resp[8] = req[6], req[7], byte(2*qty)
				if _, err := c.Write(resp[:n]); err != nil {
					return
				}
			}
		}()
	}
}

// BenchmarkTransport is one read of 74 input registers (the bench meter's
// first span) over loopback TCP, through goburrow's own TCP handler and
// through the buffered link the poller uses; cpu-µs/request counts this
// process (client and the in-process server).
func BenchmarkTransport(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go serveMeter(ln)
	addr := ln.Addr().String()
	for _, bc := range []struct {
		name string
		open func() (modbus.Client, func())
	}{
		{"goburrow", func() (modbus.Client, func()) {
			h := modbus.NewTCPClientHandler(addr)
			h.Timeout, h.SlaveId = time.Second, 1
			return modbus.NewClient(h), func() { h.Close() }
		}},
		{"link", func() (modbus.Client, func()) {
			c := newConn(Config{Transport: TCP, Address: addr, Timeout: time.Second}).(*tcpConn)
			c.SetUnit(1, time.Second)
			return c.Client, func() { c.Close() }
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client, closeIt := bc.open()
			defer closeIt()
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := client.ReadInputRegisters(0, 74); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/request")
		})
	}
}

// BenchmarkPollTwoSpans is one poll of the bench meter (input registers
// 0+74 and 342+2) over loopback TCP: its two reads one at a time, and
// pipelined in one write (pipeline.go). cpu-µs/poll counts this process
// (client and the in-process server).
func BenchmarkPollTwoSpans(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go serveMeter(ln)
	rs := []*Request{{Register: drivers.Input, Address: 0, Quantity: 74}, {Register: drivers.Input, Address: 342, Quantity: 2}}
	for _, pipelined := range []bool{false, true} {
		name := "one-at-a-time"
		if pipelined {
			name = "pipelined"
		}
		b.Run(name, func(b *testing.B) {
			c := newConn(Config{Transport: TCP, Address: ln.Addr().String(), Timeout: time.Second}).(*tcpConn)
			defer c.Close()
			c.SetUnit(1, time.Second)
			var out [2]piped
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if pipelined {
					if _, _, _, err := c.readPipelined(rs, out[:]); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for _, r := range rs {
					if _, err := c.ReadInputRegisters(r.Address, r.Quantity); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/poll")
		})
	}
}
