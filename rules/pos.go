package rules

import "github.com/facilityd/facilityd/internal/yamlstrict"

// Pos is a place in a rule file. Its Style is the YAML style of the scalar
// that starts there, so errors inside an expression can be placed exactly.
type Pos = yamlstrict.Pos

// Error is one problem at one place in a rule file, formatted as
// file:line:col: message.
type Error = yamlstrict.Error

// SortErrors orders errors by file and position (errors without a position
// keep their place) and joins them; nil when there are none.
func SortErrors(errs []error) error { return yamlstrict.SortErrors(errs) }
