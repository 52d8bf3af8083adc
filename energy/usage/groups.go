package usage

import (
	"cmp"
	"slices"
)

// Group is the consumption of one category at one level: a site, a
// building of a site, or a sub-item of a building's electricity. Each meter
// counts with its exclusive part (its remainder when it has sub-meters), so
// a main meter and its sub-meters are not counted twice; the remainder of a
// meter without a sub-item is unassigned.
type Group struct {
	Level    string    `json:"level"` // site, building or sub_item
	Site     string    `json:"site"`
	Building string    `json:"building,omitempty"`
	Category Category  `json:"category"`
	SubItem  SubItem   `json:"sub_item,omitempty"`
	Unit     string    `json:"unit"`
	Meters   []string  `json:"meters"`
	Total    float64   `json:"total"`
	Amounts  []float64 `json:"amounts"` // per slot
}

type groupKey struct {
	level, site, building string
	category              Category
	subItem               SubItem
}

// groups sums the exclusive parts of us per site, building and
// electricity sub-item.
func groups(us []Usage) []Group {
	index := map[groupKey]int{}
	var out []Group
	add := func(k groupKey, u *Usage) {
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, Group{Level: k.level, Site: k.site, Building: k.building, Category: k.category,
				SubItem: k.subItem, Unit: u.Unit, Amounts: make([]float64, len(u.Slots))})
		}
		g := &out[i]
		g.Meters = append(g.Meters, u.Meter)
		for j, s := range exclusive(u) {
			g.Amounts[j] += s.Amount
			g.Total += s.Amount
		}
	}
	for i := range us {
		u := &us[i]
		add(groupKey{level: "site", site: u.Site, category: u.Category}, u)
		add(groupKey{level: "building", site: u.Site, building: u.Building, category: u.Category}, u)
		if u.Category == Electricity {
			sub := u.SubItem
			if sub == "" {
				sub = Unassigned
			}
			add(groupKey{level: "sub_item", site: u.Site, building: u.Building, category: u.Category, subItem: sub}, u)
		}
	}
	level := map[string]int{"site": 0, "building": 1, "sub_item": 2}
	slices.SortStableFunc(out, func(a, b Group) int {
		return cmp.Or(cmp.Compare(level[a.Level], level[b.Level]), cmp.Compare(a.Site, b.Site),
			cmp.Compare(a.Building, b.Building), cmp.Compare(a.Category, b.Category), cmp.Compare(a.SubItem, b.SubItem))
	})
	return out
}
