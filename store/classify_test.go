package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// answer is how a fake InfluxDB answers one write.
type answer struct {
	status int
	header map[string]string
	body   string
}

// json1 is InfluxDB 1.8's error answer: {"error": msg} and the same text in
// X-Influxdb-Error.
func json1(status int, msg string) answer {
	return answer{status, map[string]string{"Content-Type": "application/json", "X-Influxdb-Error": msg},
		fmt.Sprintf(`{"error":%q}`, msg)}
}

// json2 is InfluxDB 2.x's error answer: {"code": code, "message": msg} and
// the code in X-Platform-Error-Code.
func json2(status int, code, msg string) answer {
	return answer{status, map[string]string{"Content-Type": "application/json; charset=utf-8", "X-Platform-Error-Code": code},
		fmt.Sprintf(`{"code":%q,"message":%q}`, code, msg)}
}

// writeError sends one write through the writer's real request path to a
// server giving a, and returns the error the writer sees.
func writeError(t *testing.T, a answer) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
	}))
	defer srv.Close()
	w, err := NewWriter(Config{URL: srv.URL, Bucket: "b"}, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	post, _, closeClient := w.connect()
	defer closeClient()
	return post(context.Background(), gzipLines([][]byte{[]byte("m f=1 1\n")}))
}

// TestClassify: failed writes are sorted by status code first and by
// InfluxDB's structured code where the status alone is ambiguous, never by
// words in the message; a field named bucket_level, org or token in a type
// conflict is the points' fault.
func TestClassify(t *testing.T) {
	conflict := func(field string) string {
		return fmt.Sprintf(`partial write: field type conflict: input field %q on measurement "tank" is type string, already exists as type float dropped=1`, field)
	}
	cases := []struct {
		name string
		a    answer
		kind errorKind
		wait time.Duration
	}{
		{"1.8 type conflict on bucket_level", json1(400, conflict("bucket_level")), errRejected, 0},
		{"1.8 type conflict on org", json1(400, conflict("org")), errRejected, 0},
		{"1.8 type conflict on token", json1(400, conflict("token_count")), errRejected, 0},
		{"1.8 type conflict on authorized", json1(400, conflict("authorized")), errRejected, 0},
		{"1.8 bad line", json1(400, `unable to parse 'm a=1 1 junk': point is invalid`), errRejected, 0},
		{"2.x type conflict", json2(422, "unprocessable entity", "failure writing points to database: "+conflict("bucket_level")), errRejected, 0},
		{"2.x bad line", json2(400, "invalid", `unable to parse 'bucket a=': missing fields`), errRejected, 0},
		{"2.x no org", json2(400, "invalid", "Please provide either orgID or org"), errNotFound, 0},
		{"2.x token refused", json2(401, "unauthorized", "unauthorized access"), errAuth, 0},
		{"2.x no write permission", json2(403, "forbidden", "insufficient permissions for write"), errAuth, 0},
		{"1.8 user refused", json1(403, `"u" user is not authorized to write to database "facility"`), errAuth, 0},
		{"2.x bucket not found", json2(404, "not found", `bucket "x" not found`), errNotFound, 0},
		{"2.x org not found", json2(404, "not found", `organization name "x" not found`), errNotFound, 0},
		{"1.8 database not found", json1(404, `database not found: "nodb"`), errNotFound, 0},
		{"413", json2(413, "request too large", "unable to read data: points batch is too large"), errTooLarge, 0},
		{"413 bare", answer{status: 413}, errTooLarge, 0},
		{"429", answer{429, map[string]string{"Retry-After": "7"}, ""}, errRateLimited, 7 * time.Second},
		{"503 Retry-After", answer{503, map[string]string{"Retry-After": "2"}, ""}, errServer, 2 * time.Second},
		{"1.8 rp not found", json1(500, "retention policy not found: nope"), errServer, 0},
		{"502 from a proxy", answer{502, map[string]string{"Content-Type": "text/html"}, "<html>Bad Gateway</html>"}, errServer, 0},
		{"500 with broken JSON", answer{500, map[string]string{"Content-Type": "application/json"}, `{"code":`}, errServer, 0},
		{"408", answer{status: 408}, errTimeout, 0},
		{"405 from a proxy", answer{405, map[string]string{"Content-Type": "text/plain"}, "method not allowed: bucket"}, errUnexpected, 0},
		{"410", json2(410, "gone", "bucket"), errUnexpected, 0},
	}
	for _, c := range cases {
		err := writeError(t, c.a)
		kind, wait := classify(err)
		if kind != c.kind || wait != c.wait {
			t.Errorf("%s: classify(%v) = %s, %v; want %s, %v", c.name, err, errorKindNames[kind], wait, errorKindNames[c.kind], c.wait)
		}
	}
	if kind, _ := classify(errors.New("dial tcp: connection refused")); kind != errNetwork {
		t.Errorf("a plain error is %s, want network", errorKindNames[kind])
	}
}

// TestDroppedAll reads the count of InfluxDB's partial-write answer, which
// ends the message, and nothing else that looks like it.
func TestDroppedAll(t *testing.T) {
	cases := []struct {
		a    answer
		n    int
		want bool
	}{
		{json1(400, `partial write: field type conflict: input field "x" on measurement "m" is type string, already exists as type float dropped=3`), 3, true},
		{json1(400, `partial write: field type conflict: input field "x" on measurement "m" is type string, already exists as type float dropped=1`), 3, false},
		{json1(400, `partial write: field type conflict: input field "dropped=3" on measurement "m" is type string, already exists as type float dropped=1`), 3, false},
		{json2(422, "unprocessable entity", `failure writing points to database: partial write: points beyond retention policy dropped=2`), 2, true},
		{json1(400, `unable to parse 'm dropped=3': bad timestamp`), 3, false},
	}
	for _, c := range cases {
		err := writeError(t, c.a)
		if got := droppedAll(err, c.n); got != c.want {
			t.Errorf("droppedAll(%v, %d) = %v, want %v", err, c.n, got, c.want)
		}
	}
}

// FuzzClassify: whatever InfluxDB or a proxy answers, classify sorts it by
// status without panicking, and no message turns bad points (400, 422) into
// anything but rejected, except 2.x's fixed missing-org answer.
func FuzzClassify(f *testing.F) {
	f.Add(400, "invalid", `partial write: field type conflict: input field "bucket_level" on measurement "m" is type string, already exists as type float dropped=1`, "", 1)
	f.Add(422, "unprocessable entity", "failure writing points to database: partial write: x dropped=2", "not found", 2)
	f.Add(400, "invalid", noOrg, "invalid", 1)
	f.Add(503, "", "", "", 0)
	f.Fuzz(func(t *testing.T, status int, code, msg, platformCode string, n int) {
		herr := &http2.Error{StatusCode: status, Code: code, Message: msg, Header: http.Header{}}
		if platformCode != "" {
			herr.Header.Set("X-Platform-Error-Code", platformCode)
		}
		kind, wait := classify(herr)
		if kind < 0 || kind >= numErrorKinds || wait < 0 || wait > maxRetryAfter {
			t.Fatalf("classify = %d, %v", kind, wait)
		}
		if (status == 400 || status == 422) && msg != noOrg && kind != errRejected {
			t.Fatalf("status %d %q: %s, want rejected", status, msg, errorKindNames[kind])
		}
		droppedAll(herr, n)
		influxCode(herr)
	})
}
