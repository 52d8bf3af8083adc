package app

import (
	"log/slog"
	"testing"
	"time"

	"github.com/facilityd/facilityd/config"
	"github.com/facilityd/facilityd/drivers"
	"github.com/facilityd/facilityd/rules"
	"github.com/facilityd/facilityd/store"
)

// TestIngestWithoutRules: a generation without rules or inspection plans
// gets no copies of the puts on the rules' queue; storage and live state
// get every one either way, and a generation with rules gets them all.
func TestIngestWithoutRules(t *testing.T) {
	a := &app{live: newLive(), rules: newRuleFeed(ruleFeedMax), log: slog.New(slog.DiscardHandler)}
	a.drivers.ctx = t.Context()
	var err error
	a.writer, err = store.NewWriter(store.Config{URL: "http://127.0.0.1:1", Bucket: "b"}, store.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	put := []drivers.Sample{{Time: time.Now(), Device: "m1", Measurement: "energy_meter", Point: "voltage_l1", Value: drivers.Float(230)}}
	for _, c := range []struct {
		cfg  *config.Config
		want int
	}{
		{&config.Config{}, 0},
		{&config.Config{Rules: []*rules.Rule{{Name: "r"}}}, 1},
	} {
		if err := a.startDrivers(c.cfg); err != nil {
			t.Fatal(err)
		}
		a.ingest(t.Context(), put)
		if n := a.rules.waiting(); n != c.want {
			t.Errorf("%d rules: %d samples queued for the rules, want %d", len(c.cfg.Rules), n, c.want)
		}
		a.rules.take()
	}
	a.stopDrivers()
	if st := a.writer.Stats(); st.Accepted != 2 {
		t.Errorf("writer accepted %d samples, want 2", st.Accepted)
	}
	if _, ok := a.live.Latest("m1", "energy_meter", "voltage_l1"); !ok {
		t.Error("no live reading")
	}
}
