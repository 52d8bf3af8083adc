#!/usr/bin/env bash
# Starts the demo building on loopback: InfluxDB 1.8 (flux enabled), the
# Modbus simulator with a pump fault after 60 s, and the daemon. Ctrl-C stops
# all of it. Addresses come from the same FACILITYD_* variables as
# configs/demo.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

export FACILITYD_INFLUXDB_URL="${FACILITYD_INFLUXDB_URL:-http://127.0.0.1:8086}"
export FACILITYD_MODBUS_ADDR="${FACILITYD_MODBUS_ADDR:-127.0.0.1:5020}"
export FACILITYD_HTTP_ADDR="${FACILITYD_HTTP_ADDR:-127.0.0.1:8080}"
export FACILITYD_STATE_DIR="${FACILITYD_STATE_DIR:-./.demo/state}"
FAULT="${DEMO_FAULT:-pump-1:low_pressure@60s}"

influx_hostport="${FACILITYD_INFLUXDB_URL#http://}"
influx_port="${influx_hostport##*:}"
# A new database gets 400 days of history (15-minute steps, the last week
# at 1 minute; about 15 s), so the energy baselines are fitted at start
# and charts, energy reports and replays have something to show; a restart
# keeps what is there.
BACKFILL=()
if [ ! -d .demo/influxdb/data ]; then BACKFILL=(--backfill "${DEMO_BACKFILL:-400d}"); fi
mkdir -p .demo/influxdb "$FACILITYD_STATE_DIR"
export FACILITYD_API_TOKEN_FILE="${FACILITYD_API_TOKEN_FILE:-./.demo/api-token}"
if [ ! -s "$FACILITYD_API_TOKEN_FILE" ]; then
  (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$FACILITYD_API_TOKEN_FILE")
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping demo…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# shellcheck source=scripts/influxd.sh
. "$(dirname "$0")/influxd.sh"
rc=0
start_influxd ./bin/influxd "$PWD/.demo/influxdb" "$influx_port" "$((influx_port + 2))" warn .demo/influxd.log || rc=$?
pids+=("$INFLUXD_PID")
[ "$rc" -eq 0 ] || exit 1

./bin/facilityd check -c configs/demo.yaml
[ ${#BACKFILL[@]} -eq 0 ] || echo "writing ${BACKFILL[1]} of history into InfluxDB first (see .demo/sim.log)…"
./bin/facilityd sim -c configs/demo.yaml --fault "$FAULT" ${BACKFILL[@]+"${BACKFILL[@]}"} > .demo/sim.log 2>&1 &
sim_pid=$!
pids+=($sim_pid)
for _ in $(seq 1 600); do # wait until the simulator answers (after any backfill), so the daemon starts on a live building
  kill -0 "$sim_pid" 2>/dev/null || { echo "the simulator stopped; see .demo/sim.log"; tail -5 .demo/sim.log; exit 1; }
  (exec 3<>"/dev/tcp/${FACILITYD_MODBUS_ADDR%:*}/${FACILITYD_MODBUS_ADDR##*:}") 2>/dev/null && break
  sleep 0.1
done
# A new demo records two past visits, as a site moving to facilityd enters
# its paper log: the lift's half-monthly maintenance 20 days ago (so it is
# overdue now) and the water tank's cleaning 170 days ago (due within its
# 14-day lead: its ticket opens at once). The demo's door check (every 20
# trips, demo-inspections.yaml) falls due while the demo runs.
if [ ! -e "$FACILITYD_STATE_DIR/.inspections-seeded" ]; then
  ./bin/facilityd inspections done elevator_half_monthly elevator-1 -c configs/demo.yaml --at -20d --actor demo \
    -m "demo: last half-monthly visit, from the paper log" >/dev/null
  ./bin/facilityd inspections done water_tank_cleaning pump-1 -c configs/demo.yaml --at -170d --actor demo \
    -m "demo: last tank cleaning, from the contractor's report" >/dev/null
  touch "$FACILITYD_STATE_DIR/.inspections-seeded"
fi
./bin/facilityd run -c configs/demo.yaml 2> >(tee .demo/facilityd.log >&2) &
pids+=($!)
# The energy report of the last full month of the history, at the sample tariff.
REPORT_MONTH="$(date -d "$(date +%Y-%m-01) -1 day" +%Y-%m 2>/dev/null || true)"
REPORT=".demo/energy-report-${REPORT_MONTH}.html"
if [ -n "$REPORT_MONTH" ]; then
  ( ./bin/facilityd report energy -c configs/demo.yaml --period "$REPORT_MONTH" \
      --tariffs configs/tariffs/shanghai-commercial.yaml --format html -o "$REPORT" > .demo/report.log 2>&1 \
    || echo "energy report failed; see .demo/report.log" >&2 ) &
fi

cat <<MSG

  facilityd demo is running (Ctrl-C stops everything):
    dashboard     http://${FACILITYD_HTTP_ADDR}/
    API           http://${FACILITYD_HTTP_ADDR}/api/v1/devices  /api/v1/alerts  /api/v1/tickets
    InfluxDB      ${FACILITYD_INFLUXDB_URL}  (database "facility"; try: curl -G ${FACILITYD_INFLUXDB_URL}/query --data-urlencode 'db=facility' --data-urlencode 'q=SELECT last(*) FROM pump')
    Modbus sim    ${FACILITYD_MODBUS_ADDR}  (try: mbpoll -m tcp -a 2 -t 3:float -B -r 1 -c 6 -1 -p ${FACILITYD_MODBUS_ADDR##*:} ${FACILITYD_MODBUS_ADDR%:*})
    fault         ${FAULT}: a ticket opens ~10 s after it starts
    inspections   ./bin/facilityd inspections list -c configs/demo.yaml   (one overdue, one due soon, one falls due in ~15 min;
                  calendar: http://${FACILITYD_HTTP_ADDR}/api/v1/inspections.ics)
    energy report ${REPORT}  (last month, written in a few seconds; PDF, XLSX, zh-CN:
                  ./bin/facilityd report energy -c configs/demo.yaml --period ${REPORT_MONTH} --tariffs configs/tariffs/shanghai-commercial.yaml --lang zh-CN -o nov.pdf)
    reports       http://${FACILITYD_HTTP_ADDR}/api/v1/reports  (the reports: schedules of configs/demo.yaml: last month in
                  en and zh-CN, made at start and on the 1st at 08:00, archived in ${FACILITYD_STATE_DIR}/reports/)
    tickets       ./bin/facilityd tickets list -c configs/demo.yaml   (ack: ./bin/facilityd tickets ack -c configs/demo.yaml ID)
    API changes   curl -H "Authorization: Bearer \$(cat ${FACILITYD_API_TOKEN_FILE})" -XPOST http://${FACILITYD_HTTP_ADDR}/api/v1/tickets/ID/ack
    logs          .demo/*.log

MSG
wait -n "${pids[@]}"
