package config

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/facilityd/facilityd/internal/yamlstrict"
	energyreport "github.com/facilityd/facilityd/report/energy"
)

// Tariffs is the tariffs: section: the prices, time-of-use bands, fixed
// and demand charges of each category with their validity dates, the
// carbon and standard-coal factors and the buildings' facts the energy
// report uses (see report/energy.Tariffs for the format):
//
//	tariffs:
//	  currency: CNY
//	  electricity:
//	    - from: 2026-01-01
//	      bands:
//	        - {band: peak, hours: ["08:00-11:00", "18:00-21:00"], price: 1.18}
//	        - {band: flat, hours: ["06:00-08:00", "11:00-18:00", "21:00-22:00"], price: 0.72}
//	        - {band: valley, hours: ["22:00-06:00"], price: 0.31}
//	      fixed_monthly: 800
//	      demand_per_kw: 40
//
// It is decoded strictly as the rest of the file, and checked (schedules in
// date order, every hour in exactly one band).
type Tariffs struct {
	*energyreport.Tariffs
}

// UnmarshalYAML decodes and checks the section. The decoder of the config
// file places the problems at the section; each says its own line and
// column inside the file.
func (t *Tariffs) UnmarshalYAML(n *yaml.Node) error {
	d := yamlstrict.NewDecoder("", nil)
	t.Tariffs = energyreport.DecodeNode(d, n, "tariffs")
	if len(d.Errs) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(d.Errs))
	for _, err := range d.Errs {
		var e *yamlstrict.Error
		if errors.As(err, &e) {
			msgs = append(msgs, fmt.Sprintf("line %d col %d: %s", e.Line, e.Col, e.Msg))
		} else {
			msgs = append(msgs, err.Error())
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}
