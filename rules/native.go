package rules

import (
	"reflect"

	"github.com/expr-lang/expr/ast"
)

// typed reports whether the checker gave n the kind k.
func typed(n ast.Node, k reflect.Kind) bool { return n.Type() != nil && n.Type().Kind() == k }

// Most rule expressions are comparisons of points with numbers, strings or
// each other, some arithmetic, and boolean logic. native turns those shapes
// of a compiled (type-checked) expression into Go closures, several times
// faster than expr's VM; any other node (function calls, in, member access,
// ...) leaves the whole expression to the VM. TestNativeMatchesVM holds both
// to the same results. An ok of false is "no decision", as a VM error is.

type (
	boolFn func(env map[string]any) (v, ok bool)
	numFn  func(env map[string]any) (float64, bool)
	strFn  func(env map[string]any) (string, bool)
)

// nativeBool returns the closure of a boolean expression, or nil.
func nativeBool(n ast.Node) boolFn {
	switch n := n.(type) {
	case *ast.BoolNode:
		v := n.Value
		return func(map[string]any) (bool, bool) { return v, true }
	case *ast.ConstantNode:
		if v, ok := n.Value.(bool); ok {
			return func(map[string]any) (bool, bool) { return v, true }
		}
	case *ast.IdentifierNode:
		if !typed(n, reflect.Bool) {
			return nil
		}
		name := n.Value
		return func(env map[string]any) (bool, bool) {
			v, ok := env[name].(bool)
			return v, ok
		}
	case *ast.UnaryNode:
		if n.Operator != "!" && n.Operator != "not" {
			return nil
		}
		if f := nativeBool(n.Node); f != nil {
			return func(env map[string]any) (bool, bool) {
				v, ok := f(env)
				return !v, ok
			}
		}
	case *ast.BinaryNode:
		return nativeBinary(n)
	}
	return nil
}

func nativeBinary(n *ast.BinaryNode) boolFn {
	switch n.Operator {
	case "&&", "and", "||", "or":
		l, r := nativeBool(n.Left), nativeBool(n.Right)
		if l == nil || r == nil {
			return nil
		}
		and := n.Operator == "&&" || n.Operator == "and"
		return func(env map[string]any) (bool, bool) {
			a, ok := l(env)
			if !ok {
				return false, false
			}
			if a != and { // false && ..., true || ...: decided
				return a, true
			}
			return r(env)
		}
	case "<", "<=", ">", ">=":
		l, r := nativeNum(n.Left), nativeNum(n.Right)
		if l == nil || r == nil {
			return nil
		}
		cmp := map[string]func(a, b float64) bool{
			"<": func(a, b float64) bool { return a < b }, "<=": func(a, b float64) bool { return a <= b },
			">": func(a, b float64) bool { return a > b }, ">=": func(a, b float64) bool { return a >= b },
		}[n.Operator]
		return func(env map[string]any) (bool, bool) {
			a, ok1 := l(env)
			b, ok2 := r(env)
			return cmp(a, b), ok1 && ok2
		}
	case "==", "!=":
		eq := equality(n.Left, n.Right)
		if eq == nil {
			return nil
		}
		if n.Operator == "==" {
			return eq
		}
		return func(env map[string]any) (bool, bool) {
			v, ok := eq(env)
			return !v, ok
		}
	}
	return nil
}

// equality compares two numbers, two booleans or two strings. A point
// holding a value of another type (a driver that sends a number for a bool
// point) is unequal, as expr has it; an operation that fails decides nothing.
func equality(left, right ast.Node) boolFn {
	leafL, leafR := isLeaf(left), isLeaf(right)
	eq := func(same, ok1, ok2 bool) (bool, bool) {
		switch {
		case !ok1 && !leafL, !ok2 && !leafR:
			return false, false
		case !ok1 || !ok2:
			return false, true
		}
		return same, true
	}
	if l, r := nativeNum(left), nativeNum(right); l != nil && r != nil {
		return func(env map[string]any) (bool, bool) {
			a, ok1 := l(env)
			b, ok2 := r(env)
			return eq(a == b, ok1, ok2)
		}
	}
	if l, r := nativeStr(left), nativeStr(right); l != nil && r != nil {
		return func(env map[string]any) (bool, bool) {
			a, ok1 := l(env)
			b, ok2 := r(env)
			return eq(a == b, ok1, ok2)
		}
	}
	if l, r := nativeBool(left), nativeBool(right); l != nil && r != nil {
		return func(env map[string]any) (bool, bool) {
			a, ok1 := l(env)
			b, ok2 := r(env)
			return eq(a == b, ok1, ok2)
		}
	}
	return nil
}

// isLeaf reports whether n is a point or a constant: fetched, not computed.
func isLeaf(n ast.Node) bool {
	switch n.(type) {
	case *ast.IdentifierNode, *ast.FloatNode, *ast.IntegerNode, *ast.BoolNode, *ast.StringNode, *ast.ConstantNode:
		return true
	}
	return false
}

// nativeNum returns the closure of a numeric expression, or nil. Points
// hold float64 (drivers' integers are converted on arrival).
func nativeNum(n ast.Node) numFn {
	switch n := n.(type) {
	case *ast.FloatNode:
		v := n.Value
		return func(map[string]any) (float64, bool) { return v, true }
	case *ast.IntegerNode:
		v := float64(n.Value)
		return func(map[string]any) (float64, bool) { return v, true }
	case *ast.ConstantNode:
		switch v := n.Value.(type) {
		case float64:
			return func(map[string]any) (float64, bool) { return v, true }
		case int:
			f := float64(v)
			return func(map[string]any) (float64, bool) { return f, true }
		}
	case *ast.IdentifierNode:
		if !typed(n, reflect.Float64) {
			return nil
		}
		name := n.Value
		return func(env map[string]any) (float64, bool) {
			v, ok := env[name].(float64)
			return v, ok
		}
	case *ast.UnaryNode:
		f := nativeNum(n.Node)
		switch {
		case f == nil:
		case n.Operator == "-":
			return func(env map[string]any) (float64, bool) {
				v, ok := f(env)
				return -v, ok
			}
		case n.Operator == "+":
			return f
		}
	case *ast.BinaryNode:
		l, r := nativeNum(n.Left), nativeNum(n.Right)
		if l == nil || r == nil {
			return nil
		}
		var op func(a, b float64) float64
		switch n.Operator {
		case "+":
			op = func(a, b float64) float64 { return a + b }
		case "-":
			op = func(a, b float64) float64 { return a - b }
		case "*":
			op = func(a, b float64) float64 { return a * b }
		case "/":
			op = func(a, b float64) float64 { return a / b }
		default:
			return nil
		}
		return func(env map[string]any) (float64, bool) {
			a, ok1 := l(env)
			b, ok2 := r(env)
			return op(a, b), ok1 && ok2
		}
	}
	return nil
}

func nativeStr(n ast.Node) strFn {
	switch n := n.(type) {
	case *ast.StringNode:
		v := n.Value
		return func(map[string]any) (string, bool) { return v, true }
	case *ast.ConstantNode:
		if v, ok := n.Value.(string); ok {
			return func(map[string]any) (string, bool) { return v, true }
		}
	case *ast.IdentifierNode:
		if !typed(n, reflect.String) {
			return nil
		}
		name := n.Value
		return func(env map[string]any) (string, bool) {
			v, ok := env[name].(string)
			return v, ok
		}
	}
	return nil
}
