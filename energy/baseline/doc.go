// Package baseline fits the energy baselines of CalTRACK 2.0 and checks them
// against ASHRAE Guideline 14, then finds anomalies in how a meter departs
// from its baseline.
//
// Everything here is a pure function over series held in memory: meter
// readings and outdoor temperatures come in (from CSV files through
// LoadMeterCSV and LoadTemperatureCSV, or from InfluxDB through the caller),
// a daily or hourly table is built from them, candidate models are fitted
// and one is selected, and the fit statistics decide whether the model may
// raise alarms. Nothing reads a clock or does I/O.
//
// Three models:
//   - FitDaily: the CalTRACK daily model (intercept-only, HDD-only, CDD-only
//     or HDD+CDD over a 1-degree balance-point grid), chosen by adjusted R².
//   - FitHourly: the CalTRACK hourly time-of-week-and-temperature model, one
//     model per calendar month weighted over its neighbours.
//   - FitTOW: a time-of-week profile, for meters without temperature.
package baseline
