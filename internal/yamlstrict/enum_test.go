package yamlstrict

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type color string

func TestEnum(t *testing.T) {
	dec := func(src string) (color, error) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		return Enum(n.Content[0], "color", color("red"), color("green"), color("blue"))
	}
	if c, err := dec("green"); c != "green" || err != nil {
		t.Errorf("green: %q %v", c, err)
	}
	if c, err := dec("RED"); c != "red" || err != nil {
		t.Errorf("RED: %q %v, want the canonical red", c, err)
	}
	if _, err := dec("gren"); err == nil || err.Error() != `unknown color "gren": use red, green or blue (did you mean "green"?)` {
		t.Errorf("gren: %v", err)
	}
	if _, err := dec("[red]"); err == nil || !strings.Contains(err.Error(), "must be one of red, green or blue") {
		t.Errorf("a list: %v", err)
	}
}
