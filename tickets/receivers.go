package tickets

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Receiver is one destination of notifications: exactly one of Webhook,
// MQTT or Email. Events, Priorities and Categories narrow what it gets.
type Receiver struct {
	Name string `yaml:"name"`
	// Events lists event kinds; empty means every kind but occurrence, so
	// that an alert storm does not become a notification storm.
	Events     []string       `yaml:"events"`
	Priorities []string       `yaml:"priorities"`
	Categories []string       `yaml:"categories"`
	Webhook    *WebhookConfig `yaml:"webhook"`
	MQTT       *MQTTConfig    `yaml:"mqtt"`
	Email      *EmailConfig   `yaml:"email"`
}

// WebhookConfig posts each notification to URL. The body is the
// Notification as JSON, or Template's output (text/template over the
// Notification, with the functions of TemplateFuncs) to match the
// receiver's own format.
type WebhookConfig struct {
	URL string `yaml:"url"`
	// SecretFile or SecretEnv holds the HMAC-SHA256 key of the signature
	// header; without one, requests are not signed.
	SecretFile  string            `yaml:"secret_file"`
	SecretEnv   string            `yaml:"secret_env"`
	Template    string            `yaml:"template"`
	ContentType string            `yaml:"content_type"`
	Headers     map[string]string `yaml:"headers"`
	Timeout     time.Duration     `yaml:"timeout"`
}

// MQTTConfig publishes each notification to Topic (a template) with QoS 1
// or 2; QoS 0 is not offered, since the outbox needs the broker's
// acknowledgment.
type MQTTConfig struct {
	// Broker is tcp://host:1883, ssl://host:8883 or ws://host/path.
	Broker       string        `yaml:"broker"`
	Topic        string        `yaml:"topic"`
	QoS          int           `yaml:"qos"`
	ClientID     string        `yaml:"client_id"`
	Username     string        `yaml:"username"`
	PasswordFile string        `yaml:"password_file"`
	PasswordEnv  string        `yaml:"password_env"`
	CAFile       string        `yaml:"ca_file"`
	Template     string        `yaml:"template"`
	Timeout      time.Duration `yaml:"timeout"`
}

// EmailConfig sends each notification by SMTP.
type EmailConfig struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is "starttls" (the default, required), "tls" (implicit TLS, port
	// 465) or "none" (loopback relays only).
	TLS          string   `yaml:"tls"`
	CAFile       string   `yaml:"ca_file"`
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	PasswordEnv  string   `yaml:"password_env"`
	From         string   `yaml:"from"`
	To           []string `yaml:"to"`
	// Subject and Template are text/templates over the Notification.
	Subject  string        `yaml:"subject"`
	Template string        `yaml:"template"`
	Timeout  time.Duration `yaml:"timeout"`
}

// TLS modes of EmailConfig.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
	TLSNone     = "none"
)

func (r *Receiver) problems(i int, seen map[string]bool) []Problem {
	var ps []Problem
	name := fmt.Sprintf("receivers[%d]", i)
	if r.Name != "" {
		name = fmt.Sprintf("receiver %q", r.Name)
	}
	add := func(at any, field, format string, args ...any) {
		ps = append(ps, Problem{At: at, Field: field, Msg: name + ": " + fmt.Sprintf(format, args...)})
	}
	switch {
	case r.Name == "":
		add(r, "", "name is required")
	case seen[r.Name]:
		add(r, "name", "defined twice")
	}
	for _, k := range r.Events {
		if !slices.Contains(EventKinds, EventKind(k)) {
			add(r, "events", "unknown event kind %q, want %s", k, orList(kindNames()))
		}
	}
	for _, p := range r.Priorities {
		if !validPriority(p) {
			add(r, "priorities", "unknown priority %q, want P1, P2, P3 or P4", p)
		}
	}
	kinds := 0
	tmpl := func(at any, field, text string) {
		if _, err := ParseTemplate(field, text); err != nil {
			add(at, field, "%v", err)
		}
	}
	secret := func(at any, field, file, env string) {
		if file != "" && env != "" {
			add(at, field, "set %s_file or %s_env, not both", field, field)
		}
	}
	if w := r.Webhook; w != nil {
		kinds++
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(w, "url", "webhook: url must be an http or https URL")
		}
		secret(w, "secret", w.SecretFile, w.SecretEnv)
		tmpl(w, "template", w.Template)
	}
	if m := r.MQTT; m != nil {
		kinds++
		if u, err := url.Parse(m.Broker); err != nil || u.Host == "" {
			add(m, "broker", "mqtt: broker must be a URL such as tcp://host:1883 or ssl://host:8883")
		}
		if m.Topic == "" {
			add(m, "topic", "mqtt: topic is required")
		}
		if m.QoS < 0 || m.QoS > 2 {
			add(m, "qos", "mqtt: qos %d: want 1 or 2", m.QoS)
		}
		secret(m, "password", m.PasswordFile, m.PasswordEnv)
		tmpl(m, "topic", m.Topic)
		tmpl(m, "template", m.Template)
	}
	if e := r.Email; e != nil {
		kinds++
		if e.Host == "" {
			add(e, "host", "email: host is required")
		}
		if e.Port < 0 || e.Port > 65535 {
			add(e, "port", "email: port %d is outside 1..65535", e.Port)
		}
		if e.TLS != "" && e.TLS != TLSStartTLS && e.TLS != TLSImplicit && e.TLS != TLSNone {
			add(e, "tls", "email: tls: unknown value %q, want starttls, tls or none", e.TLS)
		}
		if _, err := mail.ParseAddress(e.From); err != nil {
			add(e, "from", "email: from %q is not an address", e.From)
		}
		if len(e.To) == 0 {
			add(e, "to", "email: to needs at least one address")
		}
		for _, to := range e.To {
			if _, err := mail.ParseAddress(to); err != nil {
				add(e, "to", "email: to %q is not an address", to)
			}
		}
		secret(e, "password", e.PasswordFile, e.PasswordEnv)
		tmpl(e, "subject", e.Subject)
		tmpl(e, "template", e.Template)
	}
	if kinds != 1 {
		add(r, "", "set exactly one of webhook, mqtt or email")
	}
	return ps
}

func kindNames() []string {
	out := make([]string, len(EventKinds))
	for i, k := range EventKinds {
		out[i] = string(k)
	}
	return out
}

// wants reports whether r gets an event of kind about t.
func (r *Receiver) wants(kind EventKind, t *Ticket) bool {
	if len(r.Events) == 0 {
		if kind == EventOccurrence {
			return false
		}
	} else if !slices.Contains(r.Events, string(kind)) {
		return false
	}
	if len(r.Priorities) > 0 && !slices.Contains(r.Priorities, t.Priority) {
		return false
	}
	return len(r.Categories) == 0 || slices.Contains(r.Categories, t.Category)
}

// TemplateFuncs are the functions receiver templates may call besides the
// built-ins: json (a value as JSON, so strings are quoted and escaped),
// rfc3339 and unix (times), upper and lower.
func TemplateFuncs() template.FuncMap {
	return template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"unix":    func(t time.Time) int64 { return t.Unix() },
		"upper":   strings.ToUpper,
		"lower":   strings.ToLower,
	}
}

// ParseTemplate parses a receiver template; empty text is a nil template.
func ParseTemplate(name, text string) (*template.Template, error) {
	if text == "" {
		return nil, nil
	}
	t, err := template.New(name).Funcs(TemplateFuncs()).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}
