#!/usr/bin/env bash
# Load test of many sites on one machine (issue 17, item 5): SITES daemons,
# each polling DEVICES simulated Modbus devices (one `facilityd sim` per
# site), all writing readings to one influxd and tickets to one PostgreSQL.
# After WARMUP seconds one pump per site gets a low-pressure fault; the
# script reports the ticket latency (fault injected -> ticket row visible
# in PostgreSQL) and the CPU and peak memory of each part.
#
#   scripts/loadtest.sh                      # 20 sites x 200 devices, ~3 min
#   SITES=5 DEVICES=50 RUN=60 scripts/loadtest.sh
#
# Needs: go, Debian's postgresql (initdb under /usr/lib/postgresql/*/bin),
# an influxd 1.8 (FACILITYD_INFLUXD, default bin/influxd). Not part of
# `make test`. Everything lives in a temp dir, removed at the end.
set -euo pipefail

SITES=${SITES:-20}
DEVICES=${DEVICES:-200}   # per site: a quarter pumps, the rest energy meters
INTERVAL=${INTERVAL:-5s}  # Modbus poll interval of every device
WARMUP=${WARMUP:-60}      # seconds before the faults
RUN=${RUN:-150}           # seconds of the whole measured run
INFLUXD=${FACILITYD_INFLUXD:-bin/influxd}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/facilityd-loadtest.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${PGDATA:-}" ] && pgrun "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgrun() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# cpu PID...: user+system seconds of the processes (and their children reaped).
cpu() { local t=0; for p in "$@"; do [ -r /proc/$p/stat ] && t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo "$t"; }
rss() { local t=0; for p in "$@"; do [ -r /proc/$p/status ] && t=$((t + $(awk '/^VmRSS/{print $2}' /proc/$p/status))); done; echo "$t"; }
pgpids() { pgrep -u postgres -f "postgres" 2>/dev/null | tr '\n' ' '; }

echo "building facilityd"
(cd "$ROOT" && go build -o "$WORK/facilityd" ./daemon)
FD=$WORK/facilityd

# PostgreSQL.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDATA=$WORK/pg
PGPORT=$(freeport)
mkdir -p "$PGDATA" "$WORK/pgsock"
[ "$(id -u)" = 0 ] && chown postgres "$PGDATA" "$WORK/pgsock"
pgrun "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
pgrun "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/pgsock/log" -w -o "-p $PGPORT -k $WORK/pgsock -c listen_addresses=127.0.0.1 -c max_connections=400" start >/dev/null
pgrun "$PGBIN/createdb" -h "$WORK/pgsock" -p "$PGPORT" -U postgres tickets
PGURL="postgres://postgres@127.0.0.1:$PGPORT/tickets?sslmode=disable"
psqlq() { psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d tickets -Atc "$1"; }

# InfluxDB 1.8.
IPORT=$(freeport)
RPORT=$(freeport)
# shellcheck source=scripts/influxd.sh
. "$(dirname "$0")/influxd.sh"
rc=0
start_influxd "$INFLUXD" "$WORK/influx" "$IPORT" "$RPORT" error "$WORK/influx/log" || rc=$?
INFLUXPID=$INFLUXD_PID
PIDS+=("$INFLUXPID")
[ "$rc" -eq 0 ] || exit 1

# One config per site.
PUMPS=$((DEVICES / 4))
for s in $(seq -w 1 "$SITES"); do
	dir=$WORK/site-$s
	mkdir -p "$dir"
	mb=127.0.0.1:$(freeport)
	{
		echo "site: site-$s"
		echo "state_dir: $dir/state"
		echo "influxdb: {url: \"http://127.0.0.1:$IPORT\", bucket: facility/autogen, flush_interval: 1s}"
		echo "http: {listen: \"127.0.0.1:$(freeport)\"}"
		echo "profile_files: [\"$ROOT/configs/profiles/*.yaml\"]"
		echo "tickets: {database: \"$PGURL\"}"
		echo "devices:"
		for u in $(seq 1 "$DEVICES"); do
			if [ "$u" -le "$PUMPS" ]; then id=s$s-pump-$u prof=booster_pump; else id=s$s-meter-$u prof=energy_meter; fi
			echo "  - {id: $id, profile: $prof, modbus: {address: \"$mb\", unit_id: $u, interval: $INTERVAL, timeout: 2s}}"
		done
		echo "rules:"
		echo "  - {name: pump_low_pressure, match: {type: pump}, expr: 'discharge_pressure < 1.5 && running', for: 1s, ticket: {priority: P2, category: plumbing}}"
	} >"$dir/facilityd.yaml"
done

SIMPIDS=() DPIDS=()
T0=$(date +%s.%N)
for s in $(seq -w 1 "$SITES"); do
	dir=$WORK/site-$s
	"$FD" sim -c "$dir/facilityd.yaml" --fault "s$s-pump-1:low_pressure@${WARMUP}s" >"$dir/sim.log" 2>&1 &
	SIMPIDS+=($!)
done
sleep 2
for s in $(seq -w 1 "$SITES"); do
	dir=$WORK/site-$s
	"$FD" run -c "$dir/facilityd.yaml" >"$dir/daemon.log" 2>&1 &
	DPIDS+=($!)
done
PIDS+=("${SIMPIDS[@]}" "${DPIDS[@]}")
FAULT=$(echo "$T0 + $WARMUP" | bc)
echo "started $SITES daemons x $DEVICES devices; faults at +${WARMUP}s; measuring for ${RUN}s"

c0i=$(cpu $INFLUXPID) c0p=$(cpu $(pgpids)) c0d=$(cpu "${DPIDS[@]}") c0s=$(cpu "${SIMPIDS[@]}")
m_i=0 m_p=0 m_d=0 m_s=0
declare -A seen
END=$(echo "$T0 + $RUN" | bc)
while (($(echo "$(date +%s.%N) < $END" | bc))); do
	m_i=$(( $(rss $INFLUXPID) > m_i ? $(rss $INFLUXPID) : m_i ))
	m_p=$(( $(rss $(pgpids)) > m_p ? $(rss $(pgpids)) : m_p ))
	m_d=$(( $(rss "${DPIDS[@]}") > m_d ? $(rss "${DPIDS[@]}") : m_d ))
	m_s=$(( $(rss "${SIMPIDS[@]}") > m_s ? $(rss "${SIMPIDS[@]}") : m_s ))
	if (($(echo "$(date +%s.%N) > $FAULT" | bc))); then
		now=$(date +%s.%N)
		for key in $(psqlq "SELECT device FROM tickets" 2>/dev/null); do
			[ -z "${seen[$key]:-}" ] && seen[$key]=$(echo "$now - $FAULT" | bc)
		done
	fi
	sleep 0.5
done
c1i=$(cpu $INFLUXPID) c1p=$(cpu $(pgpids)) c1d=$(cpu "${DPIDS[@]}") c1s=$(cpu "${SIMPIDS[@]}")
HZ=$(getconf CLK_TCK)
pct() { echo "scale=1; 100 * ($2 - $1) / $HZ / $RUN" | bc; }

points=$(curl -s -G "http://127.0.0.1:$IPORT/query" --data-urlencode "db=facility" \
	--data-urlencode "q=SELECT count(current_l1) FROM energy_meter WHERE time > now() - 60s" | grep -o '"values":\[\[[^]]*' | awk -F, '{print $2}')
tickets=$(psqlq "SELECT count(*) FROM tickets")
dups=$(psqlq "SELECT count(*) - count(DISTINCT key) FROM tickets")
lat=$(for k in "${!seen[@]}"; do echo "${seen[$k]}"; done | sort -n)
n=$(echo "$lat" | grep -c . || true)

echo
echo "== $SITES sites x $DEVICES devices, poll every $INTERVAL, ${RUN}s on $(nproc) cores =="
printf "%-14s %8s %12s\n" part "cpu %" "peak RSS MB"
printf "%-14s %8s %12s\n" "daemons (all)" "$(pct $c0d $c1d)" $((m_d / 1024))
printf "%-14s %8s %12s\n" "simulators" "$(pct $c0s $c1s)" $((m_s / 1024))
printf "%-14s %8s %12s\n" influxd "$(pct $c0i $c1i)" $((m_i / 1024))
printf "%-14s %8s %12s\n" postgresql "$(pct $c0p $c1p)" $((m_p / 1024))
echo "(cpu %: of one core, averaged over the run; 100 = one core busy)"
echo "energy_meter rows with current_l1 in InfluxDB, last 60 s: ${points:-?}"
echo "tickets in PostgreSQL: $tickets (duplicates by key: $dups), want $SITES"
if [ "$n" -gt 0 ]; then
	echo "ticket latency, fault -> row visible (s, 0.5 s polling): min $(echo "$lat" | head -1) median $(echo "$lat" | sed -n "$(((n + 1) / 2))p") max $(echo "$lat" | tail -1) over $n"
fi
grep -h "level=ERROR" "$WORK"/site-*/daemon.log | head -5 || true
