package httpjson

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, http.StatusCreated, map[string]any{"a": 1})
	var got map[string]int
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got["a"] != 1 || rec.Code != http.StatusCreated ||
		rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("%d %v %q: %v", rec.Code, rec.Header(), rec.Body, err)
	}
	// NaN has no JSON: a 500 with an error, never a 200 with a cut body.
	rec = httptest.NewRecorder()
	Write(rec, http.StatusOK, map[string]float64{"x": math.NaN()})
	var e struct{ Error string }
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != http.StatusInternalServerError || !strings.Contains(e.Error, "cannot be encoded") {
		t.Errorf("%d %q: %v", rec.Code, rec.Body, err)
	}
}
