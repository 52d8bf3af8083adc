package rules

import (
	"math"
	"testing"
)

// TestTemplateNotAvailable: NaN and ±Inf values, and values JSON left out
// (nil), print as n/a in annotations, with $value, $values and fmt alike.
func TestTemplateNotAvailable(t *testing.T) {
	tm, err := parseTemplate("summary", `{{ $value }} {{ fmt $value 1 }} {{ $values.pf }} {{ fmt $values.pf 2 }} {{ fmt $values.gone 1 }} {{ $values.v }} {{ fmt $values.v 1 }} {{ if gt $values.v 200.0 }}high{{ end }}`)
	if err != nil {
		t.Fatal(err)
	}
	d := &templateData{Value: number(math.NaN()), Values: templateValues(map[string]any{"pf": math.Inf(1), "gone": nil, "v": 230.25})}
	if got, want := tm.render(d), "n/a n/a n/a n/a n/a 230.25 230.2 high"; got != want {
		t.Errorf("render = %q, want %q", got, want)
	}
}
