package ruletest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/facilityd/facilityd/drivers"
)

// maxSamples bounds a series: a day of one sample a second.
const maxSamples = 86400

// sample is one step of an input series: a value, or nothing (no sample).
type sample struct {
	ok bool
	v  drivers.Value
}

// parseSeries expands the compact notation of an input series, one value
// per interval:
//
//	3.2 3.1 _ 1.0     values; _ is a step without a sample
//	1.0x5             five samples of 1.0
//	1+2x4             four samples from 1 in steps of 2: 1 3 5 7
//	_x3               three steps without samples
//	true false x3     booleans (or 1 and 0) for bool points; x3 may stand apart
//	normal "out of service"x2
//	                  text for text points, quoted when it has spaces
//
// Unlike promtool, xN counts the samples: 1x3 is 1 1 1.
func parseSeries(s string, kind drivers.Kind) ([]sample, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var out []sample
	var last []sample // the previous term, for a separate xN
	for _, tok := range toks {
		if n, ok := repeat(tok); ok && tok[0] == 'x' {
			if last == nil {
				return nil, fmt.Errorf("%q repeats nothing: write it after a value, e.g. 1.5 x10", tok)
			}
			if len(out)+n > maxSamples {
				return nil, fmt.Errorf("more than %d samples in one series", maxSamples)
			}
			for range n - 1 {
				out = append(out, last...)
			}
			last = nil
			continue
		}
		term, err := parseTerm(tok, kind)
		if err != nil {
			return nil, err
		}
		if len(out)+len(term) > maxSamples {
			return nil, fmt.Errorf("more than %d samples in one series", maxSamples)
		}
		out = append(out, term...)
		last = term
		if len(term) != 1 {
			last = nil
		}
	}
	return out, nil
}

// tokenize splits at spaces, keeping quoted text together.
func tokenize(s string) ([]string, error) {
	var toks []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		end := strings.IndexAny(s, " \t\n")
		if s[0] == '"' {
			q := strings.IndexByte(s[1:], '"')
			if q < 0 {
				return nil, fmt.Errorf("unterminated quote in %q", s)
			}
			end = q + 2
			if rest := s[end:]; rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\n' {
				if sp := strings.IndexAny(rest, " \t\n"); sp >= 0 {
					end += sp
				} else {
					end = len(s)
				}
			}
		}
		if end < 0 {
			end = len(s)
		}
		toks = append(toks, s[:end])
		s = s[end:]
	}
	return toks, nil
}

// repeat parses "xN".
func repeat(tok string) (int, bool) {
	if len(tok) < 2 || tok[0] != 'x' {
		return 0, false
	}
	n, err := strconv.Atoi(tok[1:])
	return n, err == nil && n > 0
}

// parseTerm parses one value, with an optional +step and xN.
func parseTerm(tok string, kind drivers.Kind) ([]sample, error) {
	body, count := tok, 1
	if i := strings.LastIndexByte(tok, 'x'); i > 0 && !strings.HasSuffix(tok[:i], `\`) {
		if n, ok := repeat(tok[i:]); ok {
			body, count = tok[:i], n
		}
	}
	if count > maxSamples {
		return nil, fmt.Errorf("%q: at most %d samples in one series", tok, maxSamples)
	}
	if body == "_" {
		return make([]sample, count), nil
	}
	switch kind {
	case drivers.KindBool:
		var b bool
		switch strings.ToLower(body) {
		case "true", "1", "on":
			b = true
		case "false", "0", "off":
		default:
			return nil, fmt.Errorf("%q is not a boolean: write true or false (or 1 and 0)", body)
		}
		return fill(count, func(int) drivers.Value { return drivers.Bool(b) }), nil
	case drivers.KindString:
		if strings.HasPrefix(body, `"`) {
			s, err := strconv.Unquote(body)
			if err != nil {
				return nil, fmt.Errorf("bad quoted text %s: %v", body, err)
			}
			body = s
		}
		return fill(count, func(int) drivers.Value { return drivers.String(body) }), nil
	}
	start, step := body, "0"
	if i := strings.LastIndexAny(body, "+-"); i > 0 && body[i-1] != 'e' && body[i-1] != 'E' {
		start, step = body[:i], body[i:]
	}
	a, err1 := strconv.ParseFloat(start, 64)
	b, err2 := strconv.ParseFloat(strings.TrimPrefix(step, "+"), 64)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%q is not a number series: write 1.5, 1.5x10 or 1+0.5x10", tok)
	}
	return fill(count, func(i int) drivers.Value { return drivers.Float(a + float64(i)*b) }), nil
}

func fill(n int, v func(int) drivers.Value) []sample {
	out := make([]sample, n)
	for i := range out {
		out[i] = sample{ok: true, v: v(i)}
	}
	return out
}
