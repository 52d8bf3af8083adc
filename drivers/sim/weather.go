package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Zone is the simulated building's time zone, China Standard Time (UTC+8,
// no daylight saving): its seasons, office hours and holidays are Shanghai's
// whatever the zone of the clock that drives the simulation.
var Zone = time.FixedZone("CST", 8*3600)

// The simulated climate, Shanghai-like: the daily mean temperature runs
// from about 4 °C in late January to about 29 °C in late July, the day
// swings ±4 °C around it (warmest at 14:00), and weather fronts move the
// daily mean by a couple of degrees for a few days at a time.
const (
	climateMeanC      = 16.5 // annual mean of the daily means
	climateSeasonC    = 12.5 // half the range between January and July
	climateColdestDay = 20   // day of the year (0 = 1 January) of the coldest mean
	climateDailyC     = 4    // amplitude of the daily cycle
	climateWarmestH   = 14   // hour of the day's maximum
	climateFrontC     = 2.2  // standard deviation of the day-to-day anomaly
	climateFrontPhi   = 0.7  // day-to-day persistence of the anomaly
)

// Weather returns the simulated outdoor temperature (°C) and relative
// humidity (%) at t. It is a pure function of the seed and the time, so
// the weather station, every meter that follows the weather and a test that
// replays a year all see the same weather, at any step.
func Weather(seed int64, t time.Time) (tempC, humidity float64) {
	season, daily := seasonal(t)
	anomaly := frontAnomaly(uint64(seed), t)
	tempC = season + climateDailyC*daily + anomaly
	// Humid summers, drier winters; afternoons drier than nights; a cold
	// front brings drier air.
	summer := (season - climateMeanC) / climateSeasonC
	humidity = 74 + 6*summer - 14*daily - 2*anomaly + 3*smoothNorm(uint64(seed), 0, streamHumidity, hoursOf(t)/3)
	return tempC, math.Min(100, math.Max(20, humidity))
}

// seasonal returns the seasonal daily mean temperature (°C) and the daily
// cycle in −1..1 at t.
func seasonal(t time.Time) (meanC, daily float64) {
	l := t.In(Zone)
	day := float64(l.YearDay()-1) + hourOfDay(l)/24
	meanC = climateMeanC - climateSeasonC*math.Cos(2*math.Pi*(day-climateColdestDay-0.5)/365.25)
	daily = math.Cos(2 * math.Pi * (hourOfDay(l) - climateWarmestH) / 24)
	return meanC, daily
}

// frontAnomaly is the day-to-day departure of the weather from the season:
// an AR(1) over days of the zone, interpolated from noon to noon so that it
// has no step at midnight.
func frontAnomaly(seed uint64, t time.Time) float64 {
	x := hoursOf(t)/24 - 0.5 // days since the epoch, noon-aligned
	d := math.Floor(x)
	f := x - d
	a := func(day int64) float64 {
		// The stationary AR(1) written as its (truncated) moving average.
		var s, w float64 = 0, 1
		for j := range int64(8) {
			s += w * hashNorm(seed, 0, streamWeather, day-j)
			w *= climateFrontPhi
		}
		return climateFrontC * math.Sqrt(1-climateFrontPhi*climateFrontPhi) * s
	}
	return (1-f)*a(int64(d)) + f*a(int64(d)+1)
}

// hoursOf is the time in hours since the Unix epoch, in Zone, so that whole
// numbers fall on the building's hours and days start at its midnight.
func hoursOf(t time.Time) float64 {
	_, off := t.In(Zone).Zone()
	return (float64(t.Unix()+int64(off)) + float64(t.Nanosecond())/1e9) / 3600
}

// Streams of hashNorm, so that each use has its own numbers.
const (
	streamWeather = iota + 1
	streamHumidity
	streamDay
	streamHour
)

// hashNorm is a standard normal number determined by (seed, key, stream,
// i) alone: noise that is the same however the simulation is stepped.
func hashNorm(seed, key uint64, stream int, i int64) float64 {
	h := splitmix(seed ^ splitmix(key^splitmix(uint64(stream)<<48^uint64(i))))
	u1 := (float64(h>>11) + 0.5) / (1 << 53)
	u2 := float64(splitmix(h)>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2) // Box–Muller
}

// splitmix is SplitMix64's finalizer, a cheap well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// smoothNorm interpolates hashNorm between whole x, for noise that wanders
// rather than jumps.
func smoothNorm(seed, key uint64, stream int, x float64) float64 {
	i := math.Floor(x)
	f := x - i
	return (1-f)*hashNorm(seed, key, stream, int64(i)) + f*hashNorm(seed, key, stream, int64(i)+1)
}

// weatherStation is an outdoor temperature and humidity transmitter.
//
// Points: outdoor_temperature (°C), humidity (% RH).
type weatherStation struct {
	points
	seed int64
}

func newWeatherStation(rng *rand.Rand, seed int64) *weatherStation {
	w := &weatherStation{points: newPoints(rng), seed: seed}
	w.set("outdoor_temperature", 0)
	w.set("humidity", 0)
	return w
}

func (w *weatherStation) step(now time.Time, _ time.Duration, _ map[string]bool) {
	t, rh := Weather(w.seed, now)
	// The sensor's own noise, a tenth of a degree.
	w.set("outdoor_temperature", t+0.05*w.rng.NormFloat64())
	w.set("humidity", math.Min(100, w.around(rh, 0.3)))
}
