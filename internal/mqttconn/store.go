package mqttconn

import (
	"maps"
	"slices"
	"strings"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// leanStore is the paho.Store of Dial: paho's in-memory store without the
// inbound PUBLISH packets. paho puts every QoS 1 and 2 message it receives
// into its store until it has acknowledged it, and takes it out again, a
// lock, a map insert, a delete and a debug line built each way (about 5 %
// of the daemon's CPU at 100,000 QoS 1 messages). It never reads them
// back: on resuming a session it discards a stored inbound PUBLISH as an
// invalid type. Only an inbound PUBREL (QoS 2) is resumed, and it is kept;
// so is everything outbound.
type leanStore struct {
	mu sync.Mutex
	m  map[string]packets.ControlPacket
}

var _ paho.Store = (*leanStore)(nil)

func newLeanStore() *leanStore { return &leanStore{m: map[string]packets.ControlPacket{}} }

// inboundPrefix is how paho names the keys of received packets ("i.<id>").
const inboundPrefix = "i."

func (s *leanStore) Open()  {}
func (s *leanStore) Close() {}

func (s *leanStore) Put(key string, p packets.ControlPacket) {
	if _, pub := p.(*packets.PublishPacket); pub && strings.HasPrefix(key, inboundPrefix) {
		return
	}
	s.mu.Lock()
	s.m[key] = p
	s.mu.Unlock()
}

func (s *leanStore) Get(key string) packets.ControlPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *leanStore) All() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.m))
}

func (s *leanStore) Del(key string) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

func (s *leanStore) Reset() {
	s.mu.Lock()
	clear(s.m)
	s.mu.Unlock()
}
