package mqttconn

import (
	"fmt"
	"slices"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

func publish(qos byte, id uint16) *packets.PublishPacket {
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.Qos, p.MessageID, p.TopicName, p.Payload = qos, id, "site/m1/state", []byte(`{"flow":1}`)
	return p
}

// TestLeanStore: received PUBLISH packets are not kept (paho would discard
// them on resume); a received PUBREL and everything sent are, as paho's
// MemoryStore keeps them.
func TestLeanStore(t *testing.T) {
	s := newLeanStore()
	s.Open()
	s.Put("i.1", publish(1, 1))
	s.Put("i.2", publish(2, 2))
	rel := packets.NewControlPacket(packets.Pubrel).(*packets.PubrelPacket)
	rel.MessageID = 3
	s.Put("i.3", rel)
	out := publish(1, 4)
	s.Put("o.4", out)
	if s.Get("i.1") != nil || s.Get("i.2") != nil {
		t.Error("a received PUBLISH was kept")
	}
	if s.Get("i.3") != rel || s.Get("o.4") != out {
		t.Errorf("got i.3 %v, o.4 %v; want the PUBREL and the outbound PUBLISH", s.Get("i.3"), s.Get("o.4"))
	}
	if got := s.All(); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"i.3", "o.4"}) {
		t.Errorf("All() = %v", got)
	}
	s.Del("i.1") // acknowledged, never kept: no-op
	s.Del("o.4")
	if s.Get("o.4") != nil {
		t.Error("Del left o.4")
	}
	s.Reset()
	if len(s.All()) != 0 {
		t.Errorf("after Reset: %v", s.All())
	}
}

// BenchmarkInboundQoS1 is what paho does with its store for each QoS 1
// message it receives and acknowledges: put it under its key on arrival,
// delete it when the PUBACK goes out.
func BenchmarkInboundQoS1(b *testing.B) {
	for _, bc := range []struct {
		name  string
		store func() paho.Store
	}{
		{"memory", func() paho.Store { return paho.NewMemoryStore() }},
		{"lean", func() paho.Store { return newLeanStore() }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := bc.store()
			s.Open()
			p := publish(1, 1)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				id := uint16(n%65535 + 1)
				key := fmt.Sprintf("i.%d", id) // as paho builds it, both ways
				p.MessageID = id
				s.Put(key, p)
				s.Del(fmt.Sprintf("i.%d", id))
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
