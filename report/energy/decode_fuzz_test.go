package energy

import (
	"errors"
	"testing"

	"github.com/facilityd/facilityd/internal/yamlstrict"
)

// FuzzDecode: a tariff file either decodes into schedules whose bands hold
// every hour, or fails with positioned errors; it never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"tariffs:\n  water:\n    - {from: 2026-01-01, price: 1}\n",
		"tariffs:\n  electricity:\n    - from: 2026-01-01\n      bands:\n        - {band: peak, hours: [\"08:00-22:00\"], price: 1}\n        - {band: valley, hours: [\"22:00-08:00\"], price: 0.3}\n",
		"tariffs: {buildings: {a: {floor_area_m2: 10, occupancy: {weekday: [\"08:00-18:00\"]}}}}\n",
		"tariffs: [1, 2]\n", "", "x: &a [*a]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tf, err := Decode("f.yaml", []byte(s))
		if err != nil {
			var e *yamlstrict.Error
			if !errors.As(err, &e) && err.Error() == "" {
				t.Fatalf("an error without text")
			}
			return
		}
		for _, sc := range tf.Electricity {
			if len(sc.Bands) > 0 && bandProblems(sc.Bands) != "" {
				t.Fatalf("bands that miss or share hours decoded from %q", s)
			}
		}
	})
}
