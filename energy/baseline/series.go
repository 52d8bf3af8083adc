package baseline

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Reading is one meter interval: the usage from Start until the next
// reading's Start, in the meter's unit (kWh, therm, m³). A missing value is
// NaN, never zero.
type Reading struct {
	Start time.Time
	Usage float64
}

// TempReading is one outdoor temperature sample, in the series' TempUnit.
// A missing value is NaN.
type TempReading struct {
	Time time.Time
	Temp float64
}

// TempUnit is the unit of every temperature of a model: "F" or "C".
type TempUnit string

// The temperature units.
const (
	Fahrenheit TempUnit = "F"
	Celsius    TempUnit = "C"
)

// ParseTempUnit reads F or C (any case; degF and degC too).
func ParseTempUnit(s string) (TempUnit, error) {
	switch strings.ToUpper(strings.TrimPrefix(strings.ToLower(s), "deg")) {
	case "F":
		return Fahrenheit, nil
	case "C":
		return Celsius, nil
	}
	return "", fmt.Errorf("temperature unit %q: write F or C", s)
}

// Fuel decides the CalTRACK rules that depend on what is metered.
type Fuel string

// The fuels. For electricity a zero reading counts as missing (CalTRACK
// 2.3.2); gas has no cooling candidates; water has neither degree-day term
// worth fitting but is accepted for the time-of-week profile and leak checks.
const (
	Electricity Fuel = "electricity"
	Gas         Fuel = "gas"
	Water       Fuel = "water"
)

// ParseFuel reads electricity, gas or water.
func ParseFuel(s string) (Fuel, error) {
	switch f := Fuel(strings.ToLower(s)); f {
	case Electricity, Gas, Water:
		return f, nil
	}
	return "", fmt.Errorf("fuel %q: write electricity, gas or water", s)
}

// zeroIsMissing reports whether a zero reading is treated as a gap.
func (f Fuel) zeroIsMissing() bool { return f == Electricity || f == "" }

// missing reports whether v is a gap for fuel f.
func (f Fuel) missing(v float64) bool {
	return math.IsNaN(v) || (v == 0 && f.zeroIsMissing())
}

// ToFahrenheit converts a temperature in unit u to °F.
func ToFahrenheit(v float64, u TempUnit) float64 {
	if u == Celsius {
		return v*9/5 + 32
	}
	return v
}

// FromFahrenheit converts a temperature in °F to unit u.
func FromFahrenheit(degF float64, u TempUnit) float64 {
	if u == Celsius {
		return (degF - 32) * 5 / 9
	}
	return degF
}
