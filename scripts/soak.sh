#!/usr/bin/env bash
# Soak test (not run in CI): the controller on a 1-second schedule against
# the simulator answering 5% of requests with 500, 502 or 429, for MINUTES
# minutes (default 10), while seats.yaml is edited every 30 seconds.
# Prints reconciles, failures and the daemon's RSS over time, then whether
# the org converged once the edits stopped. Talks only to 127.0.0.1.
#
#   bash scripts/soak.sh [MINUTES] [FAULT_RATE]
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${1:-10}
FAULT_RATE=${2:-0.05}
cargo build --release --quiet
BIN=$PWD/target/release/seatkeeper
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SIM_PORT=$(free_port)
CTL_PORT=$(free_port)

"$BIN" simulator --listen "127.0.0.1:$SIM_PORT" --fault-rate "$FAULT_RATE" --fault-seed 7 \
  > "$work/sim.out" 2> "$work/sim.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "simulator listening" "$work/sim.out" 2>/dev/null && break; sleep 0.1; done
SIM_URL="http://127.0.0.1:$SIM_PORT"

cp examples/demo/seats.yaml "$work/seats.yaml"
echo sim-token > "$work/token"
"$BIN" --log-format json run --config "$work/seats.yaml" --github-url "$SIM_URL" \
  --token-file "$work/token" --schedule '* * * * * *' --listen "127.0.0.1:$CTL_PORT" \
  > /dev/null 2> "$work/daemon.log" &
DAEMON=$!
pids+=($DAEMON)

metric() { # metric NAME_WITH_LABELS -> value or 0
  curl -s "http://127.0.0.1:$CTL_PORT/metrics" | awk -v m="$1" '$1==m {print $2; found=1} END {if (!found) print 0}'
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON/status"; }

echo "soak: ${MINUTES} min, fault rate ${FAULT_RATE}, simulator $SIM_URL, controller 127.0.0.1:$CTL_PORT"
printf '%8s %10s %10s %10s %10s\n' "t(s)" "rss(KiB)" "ok" "error" "guarded"
start=$(date +%s)
end=$((start + MINUTES * 60))
rss_max=0
rss_first=""
toggle=0
while [ "$(date +%s)" -lt "$end" ]; do
  sleep 30
  # Edit the desired state: alternately add and remove two members.
  if [ $((toggle % 2)) -eq 0 ]; then
    printf '  - quinn\n  - rosa\n' >> "$work/seats.yaml"
  else
    cp examples/demo/seats.yaml "$work/seats.yaml"
  fi
  toggle=$((toggle + 1))
  rss=$(rss_kib)
  [ -z "$rss_first" ] && rss_first=$rss
  [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  printf '%8d %10d %10s %10s %10s\n' "$(( $(date +%s) - start ))" "$rss" \
    "$(metric 'seatkeeper_reconcile_total{org="acme",result="success"}')" \
    "$(metric 'seatkeeper_reconcile_total{org="acme",result="error"}')" \
    "$(metric 'seatkeeper_reconcile_total{org="acme",result="guarded"}')"
done

# Stop editing, let a few reconciles run, then ask whether the org matches.
cp examples/demo/seats.yaml "$work/seats.yaml"
sleep 10
converged=no
for _ in 1 2 3 4 5; do
  set +e
  GITHUB_TOKEN=sim-token "$BIN" plan "$work/seats.yaml" --github-url "$SIM_URL" > "$work/plan.txt" 2>&1
  code=$?
  set -e
  case $code in
    0) converged=yes; break ;;
    2) converged=no; break ;;
    *) sleep 2 ;; # a fault on every retry of one request: ask again
  esac
done
# Faulted answers the controller's client saw (and retried): 429, 500, 502.
faulted=$(curl -s "http://127.0.0.1:$CTL_PORT/metrics" \
  | awk '/^seatkeeper_github_requests_total/ && /status="(429|500|502)"/ {n += $2} END {print n + 0}')
requests=$(curl -s "http://127.0.0.1:$CTL_PORT/metrics" \
  | awk '/^seatkeeper_github_requests_total/ {n += $2} END {print n + 0}')
ok=$(metric 'seatkeeper_reconcile_total{org="acme",result="success"}')
err=$(metric 'seatkeeper_reconcile_total{org="acme",result="error"}')
panics=$(grep -c '"level":"ERROR".*panick' "$work/daemon.log" || true)
echo
echo "GitHub requests: $requests, of which $faulted answered 429/500/502 by the fault injection and retried"
echo "reconciles: $ok ok, $err failed; RSS first ${rss_first:-?} KiB, max $rss_max KiB, last $(rss_kib) KiB; panics: $panics"
echo "converged: $converged"
[ "$converged" = yes ] || { cat "$work/plan.txt"; exit 1; }
