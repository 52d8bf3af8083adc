package energy

import (
	"time"

	"github.com/facilityd/facilityd/energy/usage"
)

// chunkReadings is about how many readings of a meter one request of the
// period or its history reads at most: 52 days of 15-minute readings, 3
// days of 1-minute ones. The engine reads 50 meters per InfluxQL request,
// and influxd's drop pass alone costs some 2.5 µs of CPU a reading: a
// quarter of 1-minute readings (6.5 million a batch) took about 16 s, 13
// days up to 10 s with two batches at once on a loaded 2-core box, and
// past the store's 10 s request timeout the report failed.
const chunkReadings = 5_000

// maxChunkDays caps a request at about a quarter, as before chunking.
const maxChunkDays = 92

// chunker sizes the requests of a report by the readings InfluxDB holds,
// not the poll interval: history is often kept coarser than the meters are
// read (a backfill, or downsampled years), and one request per day of
// sparse readings would cost more in requests than it saves. The density
// is learnt from the requests before, so the one that reaches from sparse
// readings into dense ones can still be long.
type chunker struct {
	days int // the next request's span
	// perDay is the most readings a day of one meter seen so far.
	perDay float64
}

// newChunker starts with one day, which tells the density of the readings.
func newChunker() *chunker { return &chunker{days: 1} }

// end is where the request from from ends: the chunk's days on, at
// midnight, and no later than limit.
func (c *chunker) end(r *Report, from, limit time.Time) time.Time {
	return earliest(r.dayStart(from).AddDate(0, 0, c.days), limit)
}

// saw sizes the next request from the answer rep to the one over
// [from, to). Until a reading is seen the span doubles, to at most a week
// or the span of chunkReadings at the meters' poll interval, whichever is
// longer, so that readings at that interval starting within it do not make
// one request too long.
func (c *chunker) saw(rep *usage.Report, from, to time.Time) {
	if rep.FromRollup {
		// The rollup's rows, one a meter and day whatever the readings:
		// a request's cost no longer goes by the readings.
		c.days = maxChunkDays
		return
	}
	span := to.Sub(from).Hours() / 24
	atPoll := maxChunkDays
	for _, u := range rep.Meters {
		n := 0
		for _, s := range u.Slots {
			n += s.Samples
		}
		if span > 0 {
			c.perDay = max(c.perDay, float64(n)/span)
		}
		if poll, err := time.ParseDuration(u.PollInterval); err == nil && poll > 0 {
			atPoll = min(atPoll, daysFor(float64(24*time.Hour)/float64(poll)))
		}
	}
	if c.perDay == 0 {
		if rep.ReadsRollup {
			// Nothing yet, from a source that keeps a rollup: where the
			// readings start, its rows do too (a history older than the
			// rollup's back-fill aside), so the span may keep doubling.
			c.days = min(2*c.days, maxChunkDays)
			return
		}
		c.days = min(2*c.days, max(atPoll, 7))
		return
	}
	c.days = daysFor(c.perDay)
}

// daysFor is the span of chunkReadings readings at perDay a day.
func daysFor(perDay float64) int {
	return int(min(maxChunkDays, max(1, chunkReadings/perDay)))
}
