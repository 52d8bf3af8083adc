package rules

import (
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/facilityd/facilityd/drivers"
)

// Device is what rules know of a device: its identity, equipment type, tags
// and the kinds of its points (for type-checking expressions).
type Device struct {
	ID       string
	Type     string
	Location string
	Tags     map[string]string
	Points   map[string]drivers.Kind
}

// ExprError is an expression that does not compile, with the 1-based line and
// column inside the expression text.
type ExprError struct {
	Line, Col int
	Msg       string
}

// Error returns the message.
func (e *ExprError) Error() string { return e.Msg }

// typeEnv returns an environment whose values have the points' types, so expr
// can type-check an expression without data.
func typeEnv(points map[string]drivers.Kind) map[string]any {
	env := make(map[string]any, len(points))
	for name, k := range points {
		switch k {
		case drivers.KindBool:
			env[name] = false
		case drivers.KindString:
			env[name] = ""
		default:
			env[name] = 0.0
		}
	}
	return env
}

// CompileExpr compiles a boolean expression over the given points. A
// misspelt point or a type mismatch is an *ExprError.
func CompileExpr(src string, points map[string]drivers.Kind) (*vm.Program, error) {
	prog, err := expr.Compile(src, expr.Env(typeEnv(points)), expr.AsBool())
	if err != nil {
		if fe, ok := err.(*file.Error); ok {
			return nil, &ExprError{Line: fe.Line, Col: fe.Column + 1, Msg: fe.Message}
		}
		return nil, &ExprError{Line: 1, Col: 1, Msg: err.Error()}
	}
	return prog, nil
}

// compiled is a rule bound to one device.
type compiled struct {
	rule   *Rule
	device *Device
	expr   *vm.Program
	clear  *vm.Program
	fp     string
}

func compileFor(r *Rule, d *Device) (*compiled, error) {
	c := &compiled{rule: r, device: d, fp: Fingerprint(r.Name, d.ID, r.Labels)}
	var err error
	if c.expr, err = CompileExpr(r.Expr, d.Points); err != nil {
		return nil, fmt.Errorf("rule %q on device %q: expr: %w", r.Name, d.ID, err)
	}
	if r.Clear != "" {
		if c.clear, err = CompileExpr(r.Clear, d.Points); err != nil {
			return nil, fmt.Errorf("rule %q on device %q: clear: %w", r.Name, d.ID, err)
		}
	}
	return c, nil
}
