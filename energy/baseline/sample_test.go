package baseline

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sampleDir holds the CalTRACK reference samples (see its README).
const sampleDir = "../../../shared/data/eemeter"

// sample loads a meter file and il-tempF.csv, skipping the test when the
// samples are not there.
func sample(t testing.TB, meterFile string) ([]Reading, []TempReading, *time.Location, time.Time) {
	t.Helper()
	dir := sampleDir
	if d := os.Getenv("EEMETER_SAMPLES"); d != "" {
		dir = d
	}
	mf, err := os.Open(filepath.Join(dir, meterFile))
	if err != nil {
		t.Skipf("eemeter samples not found (%v); set EEMETER_SAMPLES", err)
	}
	defer mf.Close()
	loc, err := time.LoadLocation("America/Chicago") // the files switch between -06:00 and -05:00
	if err != nil {
		t.Fatal(err)
	}
	meter, err := LoadMeterCSV(mf, meterFile, loc)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := os.Open(filepath.Join(dir, "il-tempF.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	temps, unit, err := LoadTemperatureCSV(tf, "il-tempF.csv", loc, "")
	if err != nil {
		t.Fatal(err)
	}
	if unit != Fahrenheit {
		t.Fatalf("unit %q, want F", unit)
	}
	var meta map[string]struct {
		BlackoutStart string `json:"blackout_start_date"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	end, err := time.ParseInLocation(time.DateOnly, meta["il-electricity-cdd-hdd-daily"].BlackoutStart, loc)
	if err != nil {
		t.Fatal(err)
	}
	return meter, temps, loc, end
}

func TestDailySample(t *testing.T) {
	meter, temps, loc, end := sample(t, "il-electricity-cdd-hdd-daily.csv")
	from := end.AddDate(0, 0, -365)
	m, err := FitDaily(meter, temps, loc, from, end, DailyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	t.Logf("%s", b)

	days := DailyTable(meter, temps, Electricity, loc, from, end)
	want := bruteForceDaily(days, 30, 90)
	if want.model != m.Model {
		t.Fatalf("model %s, brute force %s", m.Model, want.model)
	}
	bp := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"intercept", m.Intercept, want.coef[0]},
		{"beta_hdd", m.BetaHDD, want.bHDD},
		{"beta_cdd", m.BetaCDD, want.bCDD},
		{"r_squared_adj", m.RSquaredAdj, want.r2adj},
		{"heating_balance_point", bp(m.HeatingBalancePoint), want.hbp},
		{"cooling_balance_point", bp(m.CoolingBalancePoint), want.cbp},
	} {
		if !(math.Abs(c.got-c.want) <= 1e-6) && !(math.IsNaN(c.got) && math.IsNaN(c.want)) {
			t.Errorf("%s = %.9g, brute force %.9g", c.name, c.got, c.want)
		}
	}
	if m.N != want.n {
		t.Errorf("n = %d, brute force %d", m.N, want.n)
	}
	if !m.Sufficiency.Sufficient {
		t.Errorf("sample baseline insufficient: %v", m.Sufficiency.Problems)
	}
}

// bruteForce is a daily fit recomputed without the package's shortcuts: an
// explicit design matrix per candidate, Gauss-Jordan on the normal
// equations, residuals summed one by one.
type bruteForce struct {
	model      string
	hbp, cbp   float64
	coef       []float64
	bHDD, bCDD float64
	r2adj      float64
	n          int
}

func bruteForceDaily(days []Day, lo, hi float64) bruteForce {
	var y, temp []float64
	for _, d := range days {
		if !math.IsNaN(d.Usage) && !math.IsNaN(d.Temp) {
			y = append(y, d.Usage)
			temp = append(temp, d.Temp)
		}
	}
	n := len(y)
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	ssTot := 0.0
	for _, v := range y {
		ssTot += (v - mean) * (v - mean)
	}
	best := bruteForce{model: InterceptOnly, hbp: math.NaN(), cbp: math.NaN(), coef: []float64{mean}, n: n}
	fit := func(model string, hbp, cbp float64) {
		var cols [][]float64
		terms := 0
		ok := true
		col := func(f func(t float64) float64) {
			c := make([]float64, n)
			nz, tot := 0, 0.0
			for i, t := range temp {
				c[i] = f(t)
				if c[i] > 0 {
					nz++
					tot += c[i]
				}
			}
			if nz < 10 || tot < 20 {
				ok = false
			}
			cols = append(cols, c)
			terms++
		}
		if !math.IsNaN(hbp) {
			col(func(t float64) float64 { return math.Max(0, hbp-t) })
		}
		if !math.IsNaN(cbp) {
			col(func(t float64) float64 { return math.Max(0, t-cbp) })
		}
		if !ok {
			return
		}
		p := terms + 1
		x := func(i, j int) float64 {
			if j == 0 {
				return 1
			}
			return cols[j-1][i]
		}
		a := make([][]float64, p)
		for r := range p {
			a[r] = make([]float64, p+1)
			for c := range p {
				for i := range n {
					a[r][c] += x(i, r) * x(i, c)
				}
			}
			for i := range n {
				a[r][p] += x(i, r) * y[i]
			}
		}
		for c := range p { // Gauss-Jordan with partial pivoting
			piv := c
			for r := c + 1; r < p; r++ {
				if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
					piv = r
				}
			}
			a[c], a[piv] = a[piv], a[c]
			for r := range p {
				if r != c {
					f := a[r][c] / a[c][c]
					for k := c; k <= p; k++ {
						a[r][k] -= f * a[c][k]
					}
				}
			}
		}
		coef := make([]float64, p)
		for c := range p {
			coef[c] = a[c][p] / a[c][c]
			if coef[c] < 0 {
				return
			}
		}
		ssRes := 0.0
		for i := range n {
			r := y[i]
			for c := range p {
				r -= coef[c] * x(i, c)
			}
			ssRes += r * r
		}
		r2 := 1 - (ssRes/float64(n-terms-1))/(ssTot/float64(n-1))
		if r2 > best.r2adj {
			best = bruteForce{model: model, hbp: hbp, cbp: cbp, coef: coef, r2adj: r2, n: n}
			switch model {
			case HDDOnly:
				best.bHDD = coef[1]
			case CDDOnly:
				best.bCDD = coef[1]
			case HDDCDD:
				best.bHDD, best.bCDD = coef[1], coef[2]
			}
		}
	}
	nan := math.NaN()
	for h := lo; h <= hi; h++ {
		fit(HDDOnly, h, nan)
	}
	for c := lo; c <= hi; c++ {
		fit(CDDOnly, nan, c)
	}
	for c := lo; c <= hi; c++ {
		for h := lo; h <= c; h++ {
			fit(HDDCDD, h, c)
		}
	}
	return best
}

// TestDailySampleAgainstEemeter replays the two published eemeter 2.x runs
// on this sample. eemeter put daily meter values on UTC midnights, so its
// temperature for a day is the mean over the UTC day (00:00Z–24:00Z), five or six
// hours off the local day whose usage it pairs it with; shifting the
// temperatures by the zone offset reproduces its design matrix (its hdd_60 of
// 2015-12-27 is 18.093333, ours then is too).
func TestDailySampleAgainstEemeter(t *testing.T) {
	meter, temps, loc, end := sample(t, "il-electricity-cdd-hdd-daily.csv")
	utcDays := make([]TempReading, len(temps))
	for i, r := range temps {
		_, off := r.Time.In(loc).Zone()
		utcDays[i] = TempReading{Time: r.Time.Add(-time.Duration(off) * time.Second), Temp: r.Temp}
	}
	days := DailyTable(meter, utcDays, Electricity, loc, end.AddDate(0, 0, -365), end)
	if got := 60 - days[0].Temp; math.Abs(got-18.093333) > 1e-6 {
		t.Fatalf("hdd_60 of %s = %.6f, eemeter's design matrix has 18.093333", days[0].Date.Format(time.DateOnly), got)
	}

	// docs/basics.rst: baseline of the 365 days before 2016-12-26, full
	// grid: r_squared_adj 0.7294645737524558.
	m, err := FitDaily(meter, utcDays, loc, end.AddDate(0, 0, -365), end, DailyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("basics.rst replay: %s h=%v c=%v intercept %.6f beta_hdd %.6f beta_cdd %.6f r2adj %.10f (eemeter 0.7294645737524558) n %d",
		m.Model, deref(m.HeatingBalancePoint), deref(m.CoolingBalancePoint), m.Intercept, m.BetaHDD, m.BetaCDD, m.RSquaredAdj, m.N)

	// `eemeter caltrack --sample=il-electricity-cdd-hdd-daily`: all the
	// data, heating 55–65, cooling 65–75: cdd_hdd, cdd_65 + hdd_55,
	// intercept 10.733478866990144, beta_cdd 2.039525988684711, beta_hdd
	// 1.0665644257451434, r_squared_adj 0.7810065909435654.
	first, last := meter[0].Start, meter[len(meter)-1].Start
	m, err = FitDaily(meter, utcDays, loc, first, last, DailyOptions{HeatingBalancePoints: grid(55, 65), CoolingBalancePoints: grid(65, 75)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CLI replay: %s h=%v c=%v intercept %.6f beta_hdd %.6f beta_cdd %.6f r2adj %.10f (eemeter 0.7810065909435654) n %d",
		m.Model, deref(m.HeatingBalancePoint), deref(m.CoolingBalancePoint), m.Intercept, m.BetaHDD, m.BetaCDD, m.RSquaredAdj, m.N)
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func grid(lo, hi float64) []float64 {
	var g []float64
	for v := lo; v <= hi; v++ {
		g = append(g, v)
	}
	return g
}
