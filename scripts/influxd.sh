# shellcheck shell=bash
# start_influxd BINARY DIR HTTP_PORT RPC_PORT LEVEL LOG: writes DIR/influxdb.conf
# (loopback only, Flux on, query and HTTP logs off), starts influxd 1.8 with
# it in the background (INFLUXD_PID), waits for /ping and creates the
# database facility. Sourced by demo.sh and loadtest.sh.
start_influxd() {
  local bin=$1 dir=$2 http=$3 rpc=$4 level=$5 log=$6
  mkdir -p "$dir"
  cat > "$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$http"
  flux-enabled = true
  log-enabled = false
[logging]
  level = "$level"
CONF
  "$bin" run -config "$dir/influxdb.conf" > "$log" 2>&1 &
  INFLUXD_PID=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$http/ping" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$http/ping" >/dev/null || { echo "influxd did not start; see $log" >&2; return 1; }
  curl -fsS -XPOST "http://127.0.0.1:$http/query" --data-urlencode 'q=CREATE DATABASE facility' >/dev/null
}
