#!/usr/bin/env bash
# tests/bench/agent_soak.sh - soak run of 'mcapkit agent': a writer drops a small new recording
# into the watched folder every INTERVAL seconds (written in two pieces, like a recorder) for
# MINUTES minutes, while the agent uploads, verifies and deletes them (--delete-after-verify)
# against a local 'mcapkit serve'. Every SAMPLE seconds it prints the agent's resident memory
# (VmRSS), its open file descriptors, its threads and the counts; at the end it checks that
# every file arrived exactly once (the server's count of received uploads) and prints the
# growth of memory and descriptors between the first sample after warm-up and the last.
#
#   tests/bench/agent_soak.sh [MINUTES=3] [BUILD_DIR=build] [INTERVAL=0.2] [SAMPLE=15]
#
# Exit status 0 when every file was verified exactly once, 1 otherwise.
set -euo pipefail

minutes=${1:-3}
build=${2:-build}
interval=${3:-0.2}
sample=${4:-15}
bin=$(cd "$build/bin" && pwd)/mcapkit
[[ -x "$bin" ]] || { echo "agent_soak: no $bin (build first)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mcapkit-soak-XXXXXX")
serve_pid=
agent_pid=
cleanup() {
  [[ -n "$agent_pid" ]] && kill "$agent_pid" 2>/dev/null || true
  [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/rec" "$work/src"
"$bin" serve --data "$work/data" --listen 127.0.0.1:0 --no-fsync >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 100); do [[ -s "$work/serve.out" ]] && grep -q listening "$work/serve.out" && break; sleep 0.1; done
url=$(sed -n 's/^mcapkit serve: listening on //p' "$work/serve.out" | head -1)
sed -n 's/.*(saved in .*): //p' "$work/serve.out" | head -1 >"$work/key"
chmod 600 "$work/key"
[[ -n "$url" && -s "$work/key" ]] || { echo "agent_soak: the server did not start" >&2; exit 1; }

"$bin" agent --watch "$work/rec" --device-name soak --api-url "$url" --api-key-file "$work/key" \
  --settle 0.3 --rescan 5 --delete-after-verify --parallel 2 --no-notify \
  2>"$work/agent.log" &
agent_pid=$!

# The writer: distinct recordings (seeds), each written in two pieces.
(
  i=0
  end=$(( $(date +%s) + minutes * 60 ))
  while (( $(date +%s) < end )); do
    i=$((i + 1))
    "$bin" synth -o "$work/src/s.mcap" --profile tiny --duration 2 --seed "$i" >/dev/null
    size=$(stat -c %s "$work/src/s.mcap")
    half=$((size / 2))
    head -c "$half" "$work/src/s.mcap" >"$work/rec/rec_$i.mcap"
    sleep "$interval"
    tail -c +"$((half + 1))" "$work/src/s.mcap" >>"$work/rec/rec_$i.mcap"
    echo "$i" >"$work/written"
  done
) &
writer_pid=$!

counts() {
  "$bin" agent status --state "$work/rec/.mcapkit" --json 2>/dev/null |
    python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(c["verified"], c["deleted"], c["failed"], c["pending"])' ||
    echo "? ? ? ?"
}

printf '%8s %10s %6s %8s %9s %8s %7s %8s\n' seconds rss_kib fds threads written verified failed pending
start=$(date +%s)
first_rss= first_fds=
while kill -0 "$writer_pid" 2>/dev/null; do
  sleep "$sample"
  t=$(( $(date +%s) - start ))
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status")
  thr=$(awk '/^Threads/ {print $2}' "/proc/$agent_pid/status")
  fds=$(ls "/proc/$agent_pid/fd" | wc -l)
  read -r ver del fail pend < <(counts)
  printf '%8s %10s %6s %8s %9s %8s %7s %8s\n' "$t" "$rss" "$fds" "$thr" "$(cat "$work/written" 2>/dev/null || echo 0)" "$ver" "$fail" "$pend"
  if [[ -z "$first_rss" && $t -ge 30 ]]; then first_rss=$rss; first_fds=$fds; fi
  last_rss=$rss
  last_fds=$fds
done
wait "$writer_pid"
written=$(cat "$work/written")
# let the last files through
for _ in $(seq 300); do
  read -r ver del fail pend < <(counts)
  [[ "$ver" == "$written" ]] && break
  sleep 0.2
done
kill -TERM "$agent_pid"
wait "$agent_pid" && agent_rc=0 || agent_rc=$?
agent_pid=
received=$("$bin" remote pending-imports --show-completed --show-quarantined --json \
  --api-url "$url" --api-key-file "$work/key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
left=$(find "$work/rec" -name '*.mcap' | wc -l)
echo "written $written, verified $ver, deleted $del, failed $fail, uploads received by the server $received, files left $left, agent exit $agent_rc"
echo "memory after warm-up ${first_rss:-?} KiB -> ${last_rss:-?} KiB; descriptors ${first_fds:-?} -> ${last_fds:-?}"
[[ "$ver" == "$written" && "$received" == "$written" && "$left" == 0 && "$agent_rc" == 0 ]]
