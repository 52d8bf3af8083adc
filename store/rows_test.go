package store

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestQueryInfluxQL: the token goes in the header, db and rp come from the
// bucket, chunks and statements arrive in order, and an error InfluxDB
// echoes the token in does not carry it.
func TestQueryInfluxQL(t *testing.T) {
	const token = "admin:s3cret-passw0rd"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Token "+token {
			http.Error(w, `{"error":"authorization failed"}`, http.StatusUnauthorized)
			return
		}
		_ = r.ParseForm()
		if r.URL.Path != "/query" || r.Form.Get("db") != "facility" || r.Form.Get("rp") != "autogen" || r.Form.Get("epoch") != "ns" {
			http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		if strings.Contains(r.Form.Get("q"), "fail") {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "bad credentials " + token + " in Authorization: Token " + token})
			return
		}
		_, _ = w.Write([]byte(`{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"device":"a"},"columns":["time","count"],"values":[[1700000000000000001,4]],"partial":true}],"partial":true}]}
{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"device":"a"},"columns":["time","count"],"values":[[1700000000000000002,3]]}]}]}
{"results":[{"statement_id":1,"error":"statement failed near ` + token + `"}]}
`))
	}))
	defer srv.Close()
	q, err := NewQuerier(Config{URL: srv.URL, Bucket: "facility/autogen", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var got []InfluxQLSeries
	err = q.QueryInfluxQL(context.Background(), "SELECT count(v) FROM m; SELECT 1", func(s InfluxQLSeries) error {
		got = append(got, s)
		return nil
	})
	if len(got) != 2 || got[0].Tags["device"] != "a" || got[1].Values[0][0].(json.Number) != "1700000000000000002" {
		t.Errorf("series %+v", got)
	}
	if err == nil || !strings.Contains(err.Error(), "statement 1") {
		t.Errorf("error %v, want statement 1's", err)
	}
	err2 := q.QueryInfluxQL(context.Background(), "fail", func(InfluxQLSeries) error { return nil })
	for _, err := range []error{err, err2} {
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %v: want one without the password", err)
		}
	}
	if InfluxQLString(`it's a \ "x"`+"\n") != `'it\'s a \\ "x"\n'` || InfluxQLIdent(`a"b`) != `"a\"b"` {
		t.Errorf("quoting: %s %s", InfluxQLString(`it's a \ "x"`+"\n"), InfluxQLIdent(`a"b`))
	}
}
