package mqtt

import (
	"context"
	"log/slog"
	"maps"
	"time"
)

// TopicStats counts the messages of one topic that were not stored whole.
type TopicStats struct {
	// Malformed payloads did not parse, or held values that did not convert.
	Malformed int64
	// Oversize payloads were larger than max_payload.
	Oversize int64
	// Unmatched messages arrived on a subscription but belong to no
	// configured device (an unknown +device level).
	Unmatched int64
	LastError string
	LastAt    time.Time
}

// OtherTopics collects the counts of topics beyond the first MaxTopics,
// so that a flood of distinct topics cannot grow memory.
const OtherTopics = "(other topics)"

// MaxTopics is how many topics are counted one by one.
const MaxTopics = 1000

// Log rate limits: one line per topic per topicLogEvery, and at most
// logBurst lines per logWindow across all topics.
const (
	topicLogEvery = time.Minute
	logWindow     = time.Minute
	logBurst      = 20
)

// topicStats keeps TopicStats and logs problems with rate limiting. The
// driver's mutex guards it.
type topicStats struct {
	log     *slog.Logger
	topics  map[string]*topicEntry
	window  time.Time
	inWin   int
	dropped int64 // lines not logged because of the global limit
}

type topicEntry struct {
	TopicStats
	nextLog    time.Time
	suppressed int64
}

func newTopicStats(log *slog.Logger) *topicStats {
	return &topicStats{log: log, topics: map[string]*topicEntry{}}
}

func (ts *topicStats) entry(topic string) *topicEntry {
	e := ts.topics[topic]
	if e == nil {
		if len(ts.topics) >= MaxTopics {
			topic = OtherTopics
			if e = ts.topics[topic]; e != nil {
				return e
			}
		}
		e = &topicEntry{}
		ts.topics[topic] = e
	}
	return e
}

// problem counts one malformed, oversize or unmatched message and logs it
// unless the topic or the driver logged too much lately.
func (ts *topicStats) problem(now time.Time, kind, topic, device, msg string, size int) {
	e := ts.entry(topic)
	switch kind {
	case "oversize":
		e.Oversize++
	case "unmatched":
		e.Unmatched++
	default:
		e.Malformed++
	}
	e.LastError, e.LastAt = msg, now
	if now.Before(e.nextLog) {
		e.suppressed++
		return
	}
	if now.Sub(ts.window) >= logWindow {
		ts.window, ts.inWin = now, 0
	}
	if ts.inWin >= logBurst {
		ts.dropped++
		e.suppressed++
		return
	}
	ts.inWin++
	e.nextLog = now.Add(topicLogEvery)
	attrs := []any{"topic", clip(topic), "problem", kind, "bytes", size, "err", msg}
	if device != "" {
		attrs = append(attrs, "device", device)
	}
	if e.suppressed > 0 {
		attrs = append(attrs, "not_logged_since_last", e.suppressed)
		e.suppressed = 0
	}
	if ts.dropped > 0 {
		attrs = append(attrs, "other_topics_not_logged", ts.dropped)
		ts.dropped = 0
	}
	level := slog.LevelWarn
	if kind == "unmatched" {
		level = slog.LevelDebug
	}
	ts.log.Log(context.Background(), level, "mqtt message not stored", attrs...)
}

func (ts *topicStats) snapshot() map[string]TopicStats {
	out := make(map[string]TopicStats, len(ts.topics))
	for k, e := range maps.All(ts.topics) {
		out[k] = e.TopicStats
	}
	return out
}
