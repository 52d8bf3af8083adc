// Package redact keeps secrets out of logs and error messages.
package redact

import (
	"net/url"
	"strings"
)

// URL hides a password written into a URL (http://user:pass@host becomes
// http://user:xxxxx@host). A string that does not parse as a URL loses
// everything before its last @, which may hold credentials.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "xxxxx" + s[i:]
		}
		return s
	}
	if _, has := u.User.Password(); !has {
		return s // nothing to hide: keep the text as written
	}
	return u.Redacted()
}
