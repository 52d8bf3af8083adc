// Package yamlstrict decodes YAML strictly and reports every problem as
// file:line:col: message. Unknown keys (with the closest known one), duplicate
// keys and wrong types are errors at their position, and every error is
// collected rather than only the first. It serves both the config file and
// rule files, so the two report problems the same way.
package yamlstrict

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// Pos is a place in a YAML file. Style is the YAML style of the scalar that
// starts there, so that errors inside it (an expression, a template) can be
// placed exactly; see Inside.
type Pos struct {
	File      string
	Line, Col int
	Style     yaml.Style
	indent    int      // of a block scalar's text
	folded    []string // a folded scalar's source lines, to map its text back
}

// String formats the position as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Inside places an error at line/col (1-based) of a text written as the YAML
// scalar at p.
func (p Pos) Inside(line, col int) Pos {
	switch {
	case p.Style&yaml.FoldedStyle != 0 && line == 1 && len(p.folded) > 0:
		// Folding joined the source lines with spaces: find the one the
		// column falls in.
		for i, src := range p.folded {
			if col <= len(src)+1 || i == len(p.folded)-1 {
				p.Line, p.Col = p.Line+1+i, p.indent+col
				break
			}
			col -= len(src) + 1
		}
	case p.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		p.Line += line // block scalars start on the next line, indented
		p.Col = p.indent + col
	case line == 1:
		p.Col += col - 1
		if p.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			p.Col++
		}
	default:
		p.Line += line - 1
	}
	p.Style, p.folded = 0, nil
	return p
}

// Error is one problem at one place in a YAML file.
type Error struct {
	Pos
	Msg string
}

// Error formats the problem as file:line:col: message.
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errorf returns an *Error at p.
func Errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// SortErrors orders errors by file and position (errors without a position
// keep their place) and joins them; nil when there are none.
func SortErrors(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int {
		var ea, eb *Error
		if !errors.As(a, &ea) || !errors.As(b, &eb) {
			return 0
		}
		return cmp.Or(cmp.Compare(ea.File, eb.File), cmp.Compare(ea.Line, eb.Line), cmp.Compare(ea.Col, eb.Col))
	})
	return errors.Join(errs...)
}
