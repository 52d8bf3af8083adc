package web

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/facilityd/facilityd/rules"
)

// fileSilences serves silences from a rules.SilenceStore, as the app does.
type fileSilences struct {
	st      *rules.SilenceStore
	windows []*rules.MaintenanceWindow
}

var (
	_ SilenceService = fileSilences{}
	_ WindowLister   = fileSilences{}
)

func (f fileSilences) ListSilences(context.Context) ([]rules.Silence, error) { return f.st.List() }
func (f fileSilences) AddSilence(_ context.Context, s rules.Silence) (rules.Silence, error) {
	if s.StartsAt.IsZero() {
		s.StartsAt = time.Now()
	}
	return f.st.Add(s, time.Now())
}
func (f fileSilences) ExpireSilence(_ context.Context, id string) error {
	return f.st.Expire(id, time.Now())
}
func (f fileSilences) MaintenanceWindows(_ context.Context, now time.Time) []rules.WindowStatus {
	return rules.WindowStatuses(f.windows, now)
}

// TestMaintenanceWindowsListed lists recurring windows with the silences:
// one always in force, one almost never.
func TestMaintenanceWindowsListed(t *testing.T) {
	f, err := rules.ParseFile("w.yaml", []byte(`
maintenance_windows:
  - {name: always, matchers: ['type="pump"'], schedule: "* * * * *", duration: 2m, timezone: UTC}
  - {name: new_year, matchers: ['type="pump"'], schedule: "0 0 1 1 *", duration: 1s, timezone: UTC}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := rules.NewSilenceStore(filepath.Join(t.TempDir(), "silences.json"))
	s := New(Deps{Silences: fileSilences{st, f.Windows}, Auth: testAuth(t)}, slog.New(slog.DiscardHandler))
	var list []map[string]any
	if code := call(t, s, "GET", "/api/v1/silences?active=true", "", "", &list); code != http.StatusOK || len(list) != 1 {
		t.Fatalf("GET active: %d %+v", code, list)
	}
	if w := list[0]; w["id"] != "window:always" || w["recurring"] != true || w["schedule"] != "* * * * *" || w["kind"] != "maintenance" {
		t.Errorf("active window: %+v", w)
	}
	if code := call(t, s, "GET", "/api/v1/silences?active=false", "", "", &list); code != http.StatusOK || len(list) != 1 || list[0]["name"] != "new_year" {
		t.Errorf("GET inactive: %d %+v", code, list)
	}
	if code := call(t, s, "DELETE", "/api/v1/silences/window:always", operatorToken, "", nil); code != http.StatusBadRequest {
		t.Errorf("DELETE a recurring window: %d, want 400", code)
	}
}

func TestSilencesOverHTTP(t *testing.T) {
	st := rules.NewSilenceStore(filepath.Join(t.TempDir(), "silences.json"))
	s := New(Deps{Silences: fileSilences{st: st}, Auth: testAuth(t)}, slog.New(slog.DiscardHandler))
	body := `{"kind": "maintenance", "matchers": ["device=\"pump-1\""], "duration": "2h", "comment": "seal change"}`
	if code := call(t, s, "POST", "/api/v1/silences", "", body, nil); code != http.StatusUnauthorized {
		t.Errorf("POST without token: %d", code)
	}
	if code := call(t, s, "POST", "/api/v1/silences", viewerToken, body, nil); code != http.StatusForbidden {
		t.Errorf("POST as viewer: %d", code)
	}
	var created rules.Silence
	if code := call(t, s, "POST", "/api/v1/silences", operatorToken, body, &created); code != http.StatusCreated {
		t.Fatalf("POST as operator: %d", code)
	}
	if created.ID == "" || created.CreatedBy != "ana" || created.Kind != rules.KindMaintenance ||
		created.EndsAt.Sub(created.StartsAt) != 2*time.Hour || created.Matchers.Strings()[0] != `device="pump-1"` {
		t.Errorf("created = %+v", created)
	}
	var list []rules.Silence
	if code := call(t, s, "GET", "/api/v1/silences?active=true", "", "", &list); code != http.StatusOK || len(list) != 1 {
		t.Fatalf("GET active: %d %+v", code, list)
	}
	if code := call(t, s, "DELETE", "/api/v1/silences/"+created.ID, viewerToken, "", nil); code != http.StatusForbidden {
		t.Errorf("DELETE as viewer: %d", code)
	}
	if code := call(t, s, "DELETE", "/api/v1/silences/"+created.ID, operatorToken, "", nil); code != http.StatusOK {
		t.Errorf("DELETE: %d", code)
	}
	if code := call(t, s, "DELETE", "/api/v1/silences/nope", operatorToken, "", nil); code != http.StatusNotFound {
		t.Errorf("DELETE unknown: %d", code)
	}
	call(t, s, "GET", "/api/v1/silences?active=true", "", "", &list)
	if len(list) != 0 {
		t.Errorf("active after expiry: %+v", list)
	}
	call(t, s, "GET", "/api/v1/silences", "", "", &list)
	if len(list) != 1 {
		t.Errorf("all after expiry: %+v", list)
	}
	for _, bad := range []string{
		`{"matchers": ["device"], "duration": "1h", "comment": "x"}`,
		`{"matchers": ["device=\"x\""], "comment": "x"}`,
		`{"matchers": ["device=\"x\""], "duration": "1h"}`,
		`{"matchers": [], "duration": "1h", "comment": "x"}`,
		`{"matchers": ["device=\"x\""], "duration": "1h", "ends_at": "2030-01-01T00:00:00Z", "comment": "x"}`,
		`{"matcher": ["device=\"x\""], "duration": "1h", "comment": "x"}`,
		`{"kind": "holiday", "matchers": ["device=\"x\""], "duration": "1h", "comment": "x"}`,
	} {
		var e map[string]string
		if code := call(t, s, "POST", "/api/v1/silences", operatorToken, bad, &e); code != http.StatusBadRequest || e["error"] == "" {
			t.Errorf("%s: %d %v", bad, code, e)
		}
	}
}
