// Package httpjson writes the JSON answers of facilityd's HTTP APIs (the
// console's, the energy consumption's, the portfolio's) one way.
package httpjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
)

// Write encodes v, indented, before it writes anything, so that a value
// JSON cannot hold becomes a 500 with an error body rather than a 200 with
// an empty or cut body. Answers are live data: never cached.
func Write(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		slog.Error("http: response cannot be encoded as JSON", "err", err)
		code = http.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, "{\n  \"error\": %q\n}\n", "internal error: the response cannot be encoded as JSON: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
