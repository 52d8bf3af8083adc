package tickets

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkRaiseStorm replays an alert storm: 10,000 Raise calls spread over
// 1,000 keys (each key fires ten times), serially and from 8 goroutines.
// Each iteration uses fresh keys on the same file, so every storm opens 1,000
// tickets and adds 9,000 occurrences.
func BenchmarkRaiseStorm(b *testing.B) {
	const raises, keys = 10_000, 1_000
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s, _ := openTemp(b, Config{}, newClock())
			ctx := context.Background()
			storm, created := 0, 0
			var mu sync.Mutex
			for b.Loop() {
				storm++
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						n := 0
						for i := w; i < raises; i += workers {
							a := alert(fmt.Sprintf("%d-%d", storm, i%keys))
							_, ok, err := s.Raise(ctx, a)
							if err != nil {
								b.Error(err)
								return
							}
							if ok {
								n++
							}
						}
						mu.Lock()
						created += n
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			b.ReportMetric(float64(created)/float64(storm), "tickets/storm")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(storm*raises), "ns/raise")
			b.ReportMetric(float64(storm*raises)/b.Elapsed().Seconds(), "raises/s")
		})
	}
}
