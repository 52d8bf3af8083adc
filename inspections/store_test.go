package inspections

import "github.com/facilityd/facilityd/tickets"

// The ticket database is the engine's store, and Advance its advancer.
var (
	_ Store                      = (*tickets.Store)(nil)
	_ tickets.InspectionAdvancer = (*Engine)(nil).Advance
)
