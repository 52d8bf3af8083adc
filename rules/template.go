package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/template"
)

// templateData is what an annotation template sees. The prelude also binds
// $rule, $device, $type, $location, $gateway, $value, $values and $labels,
// as Prometheus binds $value and $labels.
type templateData struct {
	Rule, Device, Type, Location, Gateway, Severity string
	// Value is the alert's value (see Rule.Value); n/a when unknown.
	Value number
	// Values are the device's latest point values; numbers are number, so
	// that NaN and ±Inf (or a missing value) print as n/a.
	Values map[string]any
	Labels map[string]string
}

const templatePrelude = `{{$rule := .Rule}}{{$device := .Device}}{{$type := .Type}}{{$location := .Location}}` +
	`{{$gateway := .Gateway}}{{$value := .Value}}{{$values := .Values}}{{$labels := .Labels}}`

// annotationTemplate is a parsed annotation; text without {{ is kept as is.
type annotationTemplate struct {
	text string
	tmpl *template.Template
}

// number is a float in a template: it prints as n/a when it is NaN or
// infinite (a meter's "not available", an empty window), not as NaN.
type number float64

// NA is what templates print for a number that is not available.
const NA = "n/a"

// String formats the number as %v would, or n/a.
func (n number) String() string {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return NA
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// templateValues returns the point values for templates: floats become
// numbers and nil (a value JSON cannot hold) the number NaN.
func templateValues(vs map[string]any) map[string]any {
	out := make(map[string]any, len(vs))
	for k, v := range vs {
		switch x := v.(type) {
		case float64:
			out[k] = number(x)
		case nil:
			out[k] = number(math.NaN())
		default:
			out[k] = v
		}
	}
	return out
}

var templateFuncs = template.FuncMap{
	// fmt formats a number with d decimals: {{ fmt $value 1 }}; n/a for
	// a number that is not available.
	"fmt": func(v any, decimals int) string {
		var f float64
		switch x := v.(type) {
		case number:
			f = float64(x)
		case float64:
			f = x
		case int64:
			f = float64(x)
		case int:
			f = float64(x)
		case bool:
			if x {
				f = 1
			}
		case nil:
			return NA
		default:
			return fmt.Sprint(v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return NA
		}
		return strconv.FormatFloat(f, 'f', decimals, 64)
	},
}

func parseTemplate(name, text string) (*annotationTemplate, error) {
	if !strings.Contains(text, "{{") {
		return &annotationTemplate{text: text}, nil
	}
	t, err := template.New(name).Option("missingkey=zero").Funcs(templateFuncs).Parse(templatePrelude + text)
	if err != nil {
		return nil, cleanTemplateError(err)
	}
	return &annotationTemplate{text: text, tmpl: t}, nil
}

// templateError is a template problem without text/template's
// "template: name:1:" prefix: the caller reports the annotation's position.
type templateError string

// Error returns the message.
func (e templateError) Error() string { return string(e) }

// cleanTemplateError drops text/template's prefix.
func cleanTemplateError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "template: ") {
		msg = msg[i+2:]
	}
	return templateError(msg)
}

// render executes the template; on an error the text says what went wrong,
// so an alert never goes without its annotation.
func (t *annotationTemplate) render(d *templateData) string {
	if t.tmpl == nil {
		return t.text
	}
	var b strings.Builder
	if err := t.tmpl.Execute(&b, d); err != nil {
		return t.text + " (template error: " + cleanTemplateError(err).Error() + ")"
	}
	return b.String()
}

func renderAnnotations(r *Rule, d *templateData) map[string]string {
	if len(r.templates) == 0 {
		return nil
	}
	out := make(map[string]string, len(r.templates))
	for name, t := range r.templates {
		out[name] = t.render(d)
	}
	return out
}

// nan is the value of an alert without one.
var nan = math.NaN()
