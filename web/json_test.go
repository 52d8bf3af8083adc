package web

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWriteJSONEncodeError: a value JSON cannot hold (NaN) gives a 500 with
// an error body, never a 200 with an empty body.
func TestWriteJSONEncodeError(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]any{"value": math.NaN()})
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if rec.Code != http.StatusInternalServerError || !strings.Contains(body["error"], "cannot be encoded") {
		t.Errorf("status %d, body %v", rec.Code, body)
	}
	rec = httptest.NewRecorder()
	writeJSON(rec, http.StatusCreated, map[string]any{"value": 1.5})
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"value": 1.5`) {
		t.Errorf("status %d, body %q", rec.Code, rec.Body.String())
	}
}
