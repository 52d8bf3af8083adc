package energy

import (
	"math"
	"slices"
	"time"

	"github.com/facilityd/facilityd/energy/usage"
)

// gapSlots marks the slots a gap ends in: a counter's rise across a gap
// lands there, which is no demand of that quarter hour.
func gapSlots(u usage.Usage) map[int]bool {
	out := map[int]bool{}
	for _, e := range u.Events {
		if e.Kind != usage.Gap {
			continue
		}
		i, _ := slices.BinarySearchFunc(u.Slots, e.Time, func(s usage.Slot, t time.Time) int {
			if s.End.After(t) {
				if !s.Start.After(t) {
					return 0
				}
				return 1
			}
			return -1
		})
		out[i] = true
	}
	return out
}

// demand finds a billed electricity meter's highest 15-minute demand in
// each month of a chunk, after the peak of the chunks before in the same
// month, and charges it.
func (r *Report) demand(u usage.Usage, m *MeterFigures, t *Tariffs, a *accumulator) {
	di, ok := a.demand[u.Meter]
	if !ok {
		di = len(r.Demand)
		a.demand[u.Meter] = di
		r.Demand = append(r.Demand, DemandFigures{Meter: u.Meter, PeakKW: math.NaN(), BaseLoadKW: math.NaN()})
	}
	d := &r.Demand[di]
	skip := gapSlots(u)
	var mp *MonthPeak
	// A month read in several chunks goes on from its peak so far, whose
	// charge flush makes again.
	if n := len(d.Months); n > 0 && len(u.Slots) > 0 {
		l := r.local(u.Slots[0].Start)
		if last := d.Months[n-1]; last.Month.Equal(time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, r.Zone)) {
			d.Months = d.Months[:n-1]
			m.DemandCost -= last.Charge
			mp = &last
		}
	}
	flush := func() {
		if mp == nil {
			return
		}
		if !math.IsNaN(mp.PeakKW) {
			if s := t.Schedule(usage.Electricity, mp.At, r.Zone); s != nil && s.DemandPerKW != 0 {
				mp.Charge = mp.PeakKW * s.DemandPerKW * r.monthShare(mp.Month)
			}
			m.DemandCost += mp.Charge
		}
		d.Months = append(d.Months, *mp)
	}
	for i, s := range u.Slots {
		l := r.local(s.Start)
		month := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, r.Zone)
		if mp == nil || !mp.Month.Equal(month) {
			flush()
			mp = &MonthPeak{Month: month, PeakKW: math.NaN()}
		}
		if skip[i] || s.Samples == 0 {
			continue
		}
		kw := s.Amount / s.End.Sub(s.Start).Hours()
		if math.IsNaN(mp.PeakKW) || kw > mp.PeakKW {
			mp.PeakKW, mp.At = kw, s.Start
		}
		if math.IsNaN(d.PeakKW) || kw > d.PeakKW {
			d.PeakKW, d.PeakAt = kw, s.Start
		}
	}
	flush()
}

// monthShare is the share of month's days within [From, End).
func (r *Report) monthShare(month time.Time) float64 {
	next := month.AddDate(0, 1, 0)
	share := 0.0
	for d := month; d.Before(next); d = d.AddDate(0, 0, 1) {
		if !d.Before(r.dayStart(r.Period.From)) && d.Before(r.End) {
			share += dayShare(d, r.End)
		}
	}
	return share / float64(daysIn(month))
}

// hourly sums quarter slots into local hours: start → kWh and readings.
type hourAmount struct {
	start   time.Time
	amount  float64
	samples int
}

func (r *Report) hours(u usage.Usage) []hourAmount {
	var out []hourAmount
	for _, s := range u.Slots {
		l := r.local(s.Start)
		h := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, r.Zone)
		if n := len(out); n == 0 || !out[n-1].start.Equal(h) {
			out = append(out, hourAmount{start: h})
		}
		out[len(out)-1].amount += s.Amount
		out[len(out)-1].samples += s.Samples
	}
	return out
}

// nights records, for each night of a chunk, a meter's lowest hourly
// demand between 01:00 and 05:00: the base load is their mean.
func (r *Report) nights(meter string, hrs []hourAmount, a *accumulator) {
	mins := a.nights[meter]
	if mins == nil {
		mins = map[time.Time]float64{}
		a.nights[meter] = mins
	}
	for _, h := range hrs {
		if hr := r.local(h.start).Hour(); hr < 1 || hr >= 5 || h.samples == 0 {
			continue
		}
		d := r.dayStart(h.start)
		if v, ok := mins[d]; !ok || h.amount < v {
			mins[d] = h.amount
		}
	}
}

func meanOf(m map[time.Time]float64) float64 {
	if len(m) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, v := range m {
		sum += v
	}
	return sum / float64(len(m))
}

// profile is the billed electricity's mean demand per hour of a weekday and
// of a weekend day, from its total per local hour.
func (r *Report) profile(sums map[time.Time]float64) {
	if len(sums) == 0 {
		return
	}
	type acc struct {
		sum float64
		n   int
	}
	var wd, we [24]acc
	days := map[time.Time]bool{}
	p := &Profile{}
	for h, v := range sums {
		l := r.local(h)
		weekend := r.calendar.Weekend(l) // a holiday is a weekend day, a make-up working day a weekday
		a := &wd[l.Hour()]
		if weekend {
			a = &we[l.Hour()]
		}
		a.sum += v
		a.n++
		if d := r.dayStart(h); !days[d] {
			days[d] = true
			if weekend {
				p.WeekendDays++
			} else {
				p.WeekdayDays++
			}
		}
	}
	for i := range 24 {
		p.Weekday[i], p.Weekend[i] = math.NaN(), math.NaN()
		if wd[i].n > 0 {
			p.Weekday[i] = wd[i].sum / float64(wd[i].n)
		}
		if we[i].n > 0 {
			p.Weekend[i] = we[i].sum / float64(we[i].n)
		}
	}
	r.Profile = p
}

// quality adds a chunk's coverage, gaps and counter events of a meter.
func (r *Report) quality(u usage.Usage, hrs []hourAmount, a *accumulator) {
	qa := a.quality[u.Meter]
	if qa == nil {
		qa = &qualityAcc{row: QualityRow{Meter: u.Meter}}
		a.quality[u.Meter] = qa
	}
	q := &qa.row
	qa.coverage += u.CoveragePct * float64(len(u.Slots))
	qa.slots += float64(len(u.Slots))
	for _, e := range u.Events {
		switch e.Kind {
		case usage.Gap:
			q.Gaps++
			if e.Since != nil {
				q.LongestGap = max(q.LongestGap, e.Time.Sub(*e.Since))
			}
		case usage.Reset:
			q.Resets++
		case usage.Rollover:
			q.Rollovers++
		case usage.Swap:
			q.Swaps++
		}
	}
	for _, h := range hrs {
		qa.hrs++
		if h.samples > 0 {
			qa.hoursRead++
		}
	}
	for _, s := range u.Slots {
		if s.Samples == 0 {
			continue
		}
		if q.FirstData.IsZero() {
			q.FirstData = s.Start
		}
		q.LastData = s.End
	}
}
