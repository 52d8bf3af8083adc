//go:build unix

package mqttconn

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAcks writes one PUBACK per op to a loopback socket whose peer
// discards them, as paho writes them: straight to the socket, and through
// bufConn. It reports acks/s, the socket writes per ack and the CPU per
// ack of this process.
func BenchmarkAcks(b *testing.B) {
	for _, bc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"direct", func(c net.Conn) net.Conn { return c }},
		{"buffered", func(c net.Conn) net.Conn { return newBufConn(c, time.Second) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client, server := tcpPair(b)
			go io.Copy(io.Discard, server)
			cc := &countedConn{Conn: client}
			c := bc.wrap(cc)
			ack := []byte{0x40, 2, 0, 1}
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := c.Write(ack); err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "acks/s")
			b.ReportMetric(float64(cc.writes.Load())/float64(b.N), "writes/ack")
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/ack")
		})
	}
}
