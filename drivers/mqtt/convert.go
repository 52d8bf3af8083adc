package mqtt

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/facilityd/facilityd/drivers"
)

// point is a profile point as the MQTT driver reads it.
type point struct {
	*drivers.Point
	path path // where a JSON payload holds it
	kind drivers.Kind
	// integer points without scale or enumeration give Int values, as they
	// do over Modbus.
	integer bool
}

func newPoint(p *drivers.Point, pth path) *point {
	pt := &point{Point: p, path: pth, kind: p.ValueKind()}
	switch p.Type {
	case drivers.TypeInt16, drivers.TypeUint16, drivers.TypeInt32, drivers.TypeUint32, drivers.TypeInt64, drivers.TypeUint64:
		pt.integer = len(p.Enum) == 0 && (p.Scale == 0 || p.Scale == 1) && p.Offset == 0
	}
	return pt
}

// convert turns a payload value — json.Number, string, bool, float64, int64
// or uint64 — into the point's kind, applying scale, offset, bit and
// enumeration like the Modbus decoder does.
func convert(pt *point, v any) (drivers.Value, error) {
	switch pt.kind {
	case drivers.KindBool:
		if pt.Type == drivers.TypeBit {
			n, err := toInt(v)
			if err != nil {
				return drivers.Value{}, err
			}
			return drivers.Bool(n>>uint(pt.Bit&63)&1 == 1), nil
		}
		b, err := toBool(v)
		if err != nil {
			return drivers.Value{}, err
		}
		return drivers.Bool(b), nil
	case drivers.KindString:
		if len(pt.Enum) > 0 {
			if n, err := toInt(v); err == nil {
				if s, ok := pt.Enum[n]; ok {
					return drivers.String(s), nil
				}
				return drivers.String("unknown(" + strconv.FormatInt(n, 10) + ")"), nil
			}
		}
		switch x := v.(type) {
		case string:
			return drivers.String(strings.ToValidUTF8(x, "\uFFFD")), nil
		case json.Number:
			return drivers.String(string(x)), nil
		case bool:
			return drivers.String(strconv.FormatBool(x)), nil
		case float64:
			return drivers.String(strconv.FormatFloat(x, 'g', -1, 64)), nil
		case int64:
			return drivers.String(strconv.FormatInt(x, 10)), nil
		case uint64:
			return drivers.String(strconv.FormatUint(x, 10)), nil
		}
		return drivers.Value{}, fmt.Errorf("is %s, want text", jsonKind(v))
	}
	if pt.integer { // always Int: a field must keep one type in InfluxDB
		n, err := toInt(v)
		if err != nil {
			return drivers.Value{}, err
		}
		return drivers.Int(n), nil
	}
	f, err := toFloat(v)
	if err != nil {
		return drivers.Value{}, err
	}
	scale := pt.Scale
	if scale == 0 {
		scale = 1
	}
	return drivers.Float(f*scale + pt.Offset), nil
}

// convertNumber is convert for a JSON number, raw, read into a float point
// straight from the payload's bytes (convert boxes a json.Number). It
// reports false for anything else, or a number it cannot read: convert
// then says what is wrong.
func convertNumber(pt *point, raw []byte) (drivers.Value, bool) {
	if len(raw) == 0 || pt.kind != drivers.KindFloat || pt.integer || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return drivers.Value{}, false
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(raw), len(raw)), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return drivers.Value{}, false
	}
	scale := pt.Scale
	if scale == 0 {
		scale = 1
	}
	return drivers.Float(f*scale + pt.Offset), true
}

// toFloat reads a number; booleans are 0 or 1, and so are the words
// devices use for them (ON, off, true, ...).
func toFloat(v any) (float64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
		if b, ok := boolWord(s); ok {
			return b2f(b), nil
		}
	case bool:
		return b2f(x), nil
	case float64:
		return finite(x)
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	default:
		return 0, fmt.Errorf("is %s, want a number", jsonKind(v))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", clip(s))
	}
	return finite(f)
}

func finite(f float64) (float64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a finite number", f)
	}
	return f, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// toInt reads an integer (a whole number written as 12.0 too).
func toInt(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	case int64:
		return x, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d does not fit an int64", x)
		}
		return int64(x), nil
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("is %s, want an integer", jsonKind(v))
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, fmt.Errorf("%q is not an integer", clip(s))
	}
	return int64(f), nil
}

// toBool reads a boolean: true/false, on/off, yes/no, 1/0 (any case), or
// any number (non-zero is true).
func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, ok := boolWord(strings.TrimSpace(x)); ok {
			return b, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return false, fmt.Errorf("%q is not a boolean (true/false, on/off, yes/no, 1/0)", clip(x))
		}
		return f != 0, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return false, fmt.Errorf("%q is not a number", clip(string(x)))
		}
		return f != 0, nil
	case float64:
		return x != 0, nil
	case int64:
		return x != 0, nil
	case uint64:
		return x != 0, nil
	}
	return false, fmt.Errorf("is %s, want a boolean", jsonKind(v))
}

func boolWord(s string) (value, ok bool) {
	switch {
	case strings.EqualFold(s, "true"), strings.EqualFold(s, "on"), strings.EqualFold(s, "yes"):
		return true, true
	case strings.EqualFold(s, "false"), strings.EqualFold(s, "off"), strings.EqualFold(s, "no"):
		return false, true
	}
	return false, false
}
