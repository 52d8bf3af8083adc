package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestCheckSecrets: check refuses what run would refuse — a missing token
// file, a token too short, an empty InfluxDB token file, a receiver's
// missing secret — each at its place, without printing any secret.
func TestCheckSecrets(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "short"), []byte("tooshort-secret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)
	cfg := filepath.Join(dir, "f.yaml")
	os.WriteFile(cfg, []byte(`site: t
state_dir: `+dir+`
influxdb: {url: "http://127.0.0.1:8086", bucket: f/autogen, token_file: `+dir+`/empty}
http:
  tokens:
    - {name: ops, role: operator, file: `+dir+`/missing}
    - {name: view, role: viewer, file: `+dir+`/short}
tickets:
  receivers:
    - name: cmms
      webhook: {url: "http://127.0.0.1:9/hook", secret_file: `+dir+`/nosecret}
profiles:
  m: {type: energy_meter, points: [{name: kwh, register: holding, address: 0, type: uint32}]}
devices:
  - {id: m1, profile: m, modbus: {address: "127.0.0.1:1502"}}
`), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "-c", cfg}, &out, &errOut); code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s%s", code, out.String(), errOut.String())
	}
	got := errOut.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`f\.yaml:6:7: http token "ops": .*missing: no such file`),
		regexp.MustCompile(`f\.yaml:7:7: http token "view": secret missing or shorter than 16`),
		regexp.MustCompile(`f\.yaml:3:\d+: influxdb: token_file: secret file .*empty is empty`),
		regexp.MustCompile(`f\.yaml:11:\d+: receiver "cmms": secret: secret file: open .*nosecret`),
	} {
		if !want.MatchString(got) {
			t.Errorf("missing %v in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "tooshort-secret") {
		t.Errorf("a secret was printed:\n%s", got)
	}
}

func TestCheck(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "api-token")
	os.WriteFile(tok, []byte("0123456789abcdef0123\n"), 0o600)
	t.Setenv("FACILITYD_API_TOKEN_FILE", tok)
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "-c", "../configs/demo.yaml"}, &out, &errOut); code != 0 {
		t.Fatalf("check demo.yaml: exit %d\n%s", code, errOut.String())
	}
	if !regexp.MustCompile(`^\.\./configs/demo\.yaml: ok: [1-9]\d* devices, [1-9]\d* points, [1-9]\d* profiles, [1-9]\d* rules, [1-9]\d* inspection plans \([1-9]\d* plan × device pairs\)\n$`).MatchString(out.String()) {
		t.Errorf("summary = %q", out.String())
	}
	out.Reset()
	errOut.Reset()
	bad := "../config/testdata/bad/rules.yaml"
	if code := run([]string{"check", "-c", bad}, &out, &errOut); code != 1 {
		t.Fatalf("check %s: exit %d, want 1", bad, code)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) < 5 {
		t.Errorf("want every error, got %d lines:\n%s", len(lines), errOut.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, bad+":") {
			t.Errorf("error without file:line:col: %q", l)
		}
	}
	if code := run([]string{"nonsense"}, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSignals runs the real binary: SIGHUP reloads a good config, keeps the
// old one on a bad config, and SIGTERM stops it cleanly — with InfluxDB and
// the device both unreachable, which must not stop it.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "facilityd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	httpAddr := freeAddr(t)
	cfgPath := filepath.Join(dir, "facilityd.yaml")
	root, _ := filepath.Abs("..")
	write := func(extra string) {
		text := fmt.Sprintf(`site: t
state_dir: %s
influxdb: {url: "http://%s", bucket: facility/autogen}
http: {listen: %q}
profile_files: [%q]
devices:
  - {id: pump-1, profile: booster_pump, modbus: {address: %q, timeout: 100ms}}
%s`, filepath.Join(dir, "state"), freeAddr(t), httpAddr, filepath.Join(root, "configs/profiles/*.yaml"), freeAddr(t), extra)
		if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	cmd := exec.Command(bin, "run", "-c", cfgPath)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "healthz", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	write("rules:\n  - {name: r1, match: {type: pump}, expr: running}\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload", func() bool { return strings.Contains(logs.String(), "config reloaded") })

	write("rules:\n  - {name: r1, match: {type: pump}, expr: runing}\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "failed reload", func() bool { return strings.Contains(logs.String(), "reload failed") })
	if !strings.Contains(logs.String(), "unknown name runing") {
		t.Errorf("failed reload does not say why:\n%s", logs.String())
	}

	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stopping took %v", d)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHelpExitsZero: every command and subcommand prints its own usage for
// --help and exits 0, without opening a file named --help; --version works.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range [][]string{{"--help"}, {"run"}, {"check"}, {"sim"}, {"tickets"}, {"tickets", "list"}, {"tickets", "show"},
		{"tickets", "outbox"}, {"rules"}, {"rules", "test"}, {"rules", "replay"}, {"silences"}, {"silences", "add"},
		{"modbus"}, {"modbus", "read"}} {
		var out, errOut bytes.Buffer
		code := run(append(cmd, "--help"), &out, &errOut)
		text := out.String() + errOut.String()
		if code != 0 || !strings.Contains(strings.ToLower(text), "usage") && !strings.Contains(text, "facilityd") ||
			strings.Contains(text, "no such file") || strings.Contains(text, "unknown") {
			t.Errorf("%v --help: exit %d\n%s", cmd, code, text)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "facilityd ") {
		t.Errorf("--version: exit %d, %q", code, out.String())
	}
}

func TestParseWhenDays(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"-7d": now.AddDate(0, 0, -7), "7d": now.AddDate(0, 0, -7), "-1d12h": now.Add(-36 * time.Hour),
		"-24h": now.Add(-24 * time.Hour), "now": now, "2026-03-01T08:00:00Z": time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
	} {
		if got, err := parseWhen(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"-7x", "d", "-d3", "1.5d", "soon", "--7d"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
	var f durationFlag
	if err := f.Set("2d"); err != nil || time.Duration(f) != 48*time.Hour {
		t.Errorf("durationFlag 2d = %v, %v", time.Duration(f), err)
	}
}

// TestReplayUnknownRule: a --rule that names no rule is an error with a
// hint, before any history is read.
func TestReplayUnknownRule(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "api-token")
	os.WriteFile(tok, []byte("0123456789abcdef0123\n"), 0o600)
	t.Setenv("FACILITYD_API_TOKEN_FILE", tok)
	var out, errOut bytes.Buffer
	code := run([]string{"rules", "replay", "-c", "../configs/demo.yaml", "--rule", "pump_low_presure"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), `no such rule`) || !strings.Contains(errOut.String(), `did you mean "pump_low_pressure"?`) {
		t.Errorf("exit %d, %q", code, errOut.String())
	}
}

// TestDefaultActor: without $USER the OS account name is recorded.
func TestDefaultActor(t *testing.T) {
	t.Setenv("USER", "")
	if defaultActor() == "" {
		t.Error("no actor without $USER, want the OS user name")
	}
	t.Setenv("USER", "ana")
	if got := defaultActor(); got != "ana" {
		t.Errorf("defaultActor = %q, want $USER", got)
	}
	if err := needActor("tickets ack", ""); err == nil || !strings.Contains(err.Error(), "--actor") {
		t.Errorf("needActor(\"\") = %v", err)
	}
}
