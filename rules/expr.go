package rules

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	exprparser "github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/facilityd/facilityd/drivers"
)

// Window functions an expression can call on a point. Each takes the point
// and a duration in quotes, except age, which takes the point alone:
//
//	avg(p, "5m"), min(p, "5m"), max(p, "5m")  over the samples in the window
//	delta(p, "1h")    last minus first sample in the window
//	rate(p, "1h")     increase per second, counter resets accounted for
//	changes(p, "1h")  how often the value changed
//	age(p)            seconds since the point's last sample
//
// min and max with other arguments are expr-lang's own.
var windowFuncs = []string{"avg", "min", "max", "delta", "rate", "changes", "age"}

// ExprError is an expression that does not compile, with the 1-based line and
// column inside the expression text.
type ExprError struct {
	Line, Col int
	Msg       string
}

// Error returns the message.
func (e *ExprError) Error() string { return e.Msg }

// windowRef is one window function call, replaced in the expression by a
// variable that the engine computes before each evaluation.
type windowRef struct {
	fn    string
	point string
	dur   time.Duration
	name  string // the variable: "avg(discharge_pressure,5m0s)"
}

// program is a compiled expression and what it reads.
type program struct {
	prog *vm.Program
	// native is the program as Go closures, when its shape allows (see
	// native.go): asBool programs set isTrue, asNumber ones number.
	isTrue boolFn
	number numFn
	refs   []windowRef
	reads  []string // point and window variables, to know when data is there
	first  string   // the first number it reads, the default alert value
}

// typeEnv returns an environment whose values have the points' types, so expr
// can type-check an expression without data.
func typeEnv(points map[string]drivers.Kind, refs []windowRef) map[string]any {
	env := make(map[string]any, len(points)+len(refs))
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
	for _, r := range refs {
		env[r.name] = 0.0
	}
	return env
}

// windowPatcher finds window calls, checks them, and (when patch is set)
// replaces them by their variables.
type windowPatcher struct {
	src    string
	points map[string]drivers.Kind
	patch  bool
	refs   []windowRef
	idents []*ast.IdentifierNode
	err    *ExprError
}

func (w *windowPatcher) fail(n ast.Node, format string, args ...any) {
	if w.err == nil {
		fe := (&file.Error{Location: n.Location(), Message: fmt.Sprintf(format, args...)}).Bind(file.NewSource(w.src))
		w.err = exprError(fe)
	}
}

// Visit implements ast.Visitor.
func (w *windowPatcher) Visit(node *ast.Node) {
	var name string
	var args []ast.Node
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if _, ok := w.points[n.Value]; ok {
			w.idents = append(w.idents, n)
		}
		return
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		name, args = id.Value, n.Arguments
	case *ast.BuiltinNode:
		name, args = n.Name, n.Arguments
	default:
		return
	}
	if !slices.Contains(windowFuncs, name) {
		return
	}
	var dur *ast.StringNode
	if len(args) == 2 {
		dur, _ = args[1].(*ast.StringNode)
	}
	if (name == "min" || name == "max") && dur == nil {
		return // expr-lang's min(a, b, ...)
	}
	usage := fmt.Sprintf("%s(point, \"5m\")", name)
	if name == "age" {
		usage = "age(point)"
	}
	point, _ := firstArg(args)
	switch {
	case point == nil || name == "age" && len(args) != 1 || name != "age" && dur == nil:
		w.fail(*node, "%s takes a point name and a duration in quotes: %s", name, usage)
		return
	case w.points[point.Value] == drivers.KindString && name != "age":
		w.fail(point, "%s: point %s is text; window functions need numbers or booleans", name, point.Value)
		return
	}
	// The point itself need not have a value: an empty window decides.
	w.idents = slices.DeleteFunc(w.idents, func(id *ast.IdentifierNode) bool { return id == point })
	ref := windowRef{fn: name, point: point.Value}
	if dur != nil {
		d, err := time.ParseDuration(dur.Value)
		if err != nil || d <= 0 {
			w.fail(dur, "%s: bad window %q: write a positive duration such as \"30s\", \"5m\" or \"1h\"", name, dur.Value)
			return
		}
		ref.dur = d
	}
	ref.name = fmt.Sprintf("%s(%s,%s)", ref.fn, ref.point, ref.dur)
	if !slices.Contains(w.refs, ref) {
		w.refs = append(w.refs, ref)
	}
	id := &ast.IdentifierNode{Value: ref.name}
	w.idents = append(w.idents, id)
	if w.patch {
		ast.Patch(node, id)
	}
}

// firstArg returns the point a window call reads, if its first argument is
// a known point.
func firstArg(args []ast.Node) (*ast.IdentifierNode, bool) {
	if len(args) == 0 {
		return nil, false
	}
	id, ok := args[0].(*ast.IdentifierNode)
	return id, ok
}

// resultType is what an expression must return.
type resultType int

const (
	asBool resultType = iota
	asNumber
)

// compileExpr compiles an expression over the given points. A misspelt point,
// a misused window function or a type mismatch is an *ExprError.
func compileExpr(src string, points map[string]drivers.Kind, want resultType) (*program, error) {
	tree, err := exprparser.Parse(src)
	if err != nil {
		return nil, exprError(err)
	}
	scan := &windowPatcher{src: src, points: points}
	ast.Walk(&tree.Node, scan)
	if scan.err != nil {
		return nil, scan.err
	}
	patch := &windowPatcher{src: src, points: points, patch: true}
	opts := []expr.Option{expr.Env(typeEnv(points, scan.refs)), expr.Patch(patch)}
	if want == asBool {
		opts = append(opts, expr.AsBool())
	} else {
		opts = append(opts, expr.AsFloat64())
	}
	prog, err := expr.Compile(src, opts...)
	if patch.err != nil {
		return nil, patch.err
	}
	if err != nil {
		return nil, exprError(err)
	}
	p := &program{prog: prog, refs: patch.refs}
	if want == asBool {
		p.isTrue = nativeBool(prog.Node())
	} else {
		p.number = nativeNum(prog.Node())
	}
	slices.SortStableFunc(patch.idents, func(a, b *ast.IdentifierNode) int {
		return a.Location().From - b.Location().From
	})
	for _, id := range patch.idents {
		if !slices.Contains(p.reads, id.Value) {
			p.reads = append(p.reads, id.Value)
		}
		if p.first == "" && (strings.Contains(id.Value, "(") || points[id.Value] == drivers.KindFloat || points[id.Value] == drivers.KindInt) {
			p.first = id.Value
		}
	}
	return p, nil
}

func exprError(err error) *ExprError {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &ExprError{Line: max(fe.Line, 1), Col: fe.Column + 1, Msg: fe.Message}
	}
	return &ExprError{Line: 1, Col: 1, Msg: err.Error()}
}

// CompileExpr type-checks a boolean expression over the given points, as a
// rule's expr or clear; a misspelt point or a type mismatch is an *ExprError.
func CompileExpr(src string, points map[string]drivers.Kind) error {
	_, err := compileExpr(src, points, asBool)
	return err
}

// compiler compiles each expression once per distinct set of points, since
// the devices of one profile share them.
type compiler struct {
	cache map[string]*program
	errs  map[string]error
}

func newCompiler() *compiler {
	return &compiler{cache: map[string]*program{}, errs: map[string]error{}}
}

// pointsKey identifies a set of points and their kinds.
func pointsKey(points map[string]drivers.Kind) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(points)) {
		fmt.Fprintf(&b, "%s:%d,", name, points[name])
	}
	return b.String()
}

func (c *compiler) compile(src string, points map[string]drivers.Kind, pkey string, want resultType) (*program, error) {
	key := fmt.Sprintf("%d\x00%s\x00%s", want, src, pkey)
	if p, ok := c.cache[key]; ok {
		return p, nil
	}
	if err, ok := c.errs[key]; ok {
		return nil, err
	}
	p, err := compileExpr(src, points, want)
	if err != nil {
		c.errs[key] = err
		return nil, err
	}
	c.cache[key] = p
	return p, nil
}
