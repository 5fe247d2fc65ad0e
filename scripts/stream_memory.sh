#!/usr/bin/env bash
# Peak resident memory of `coalition serve` while it sends each statement form and each export
# of one large settlement cycle, a fresh server per download (VmHWM is a process's peak).
#
#   target/release/coalition bench --settle-entries 1000000 --database sqlite:///tmp/big.db
#   scripts/stream_memory.sh sqlite:///tmp/big.db
#
# Prints one line per download: what, bytes, seconds, the server's peak resident MB.
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:?usage: stream_memory.sh DATABASE_URL (a database the settle bench filled)}"
bin=target/release/coalition
work=$(mktemp -d)
trap 'if [ -n "${server:-}" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

start() {
    RUST_LOG=warn "$bin" serve --database "$db" --listen "127.0.0.1:$port" \
        --network-key "$work/network.pem" &
    server=$!
    curl -s --retry 50 --retry-connrefused --retry-delay 1 -o /dev/null "$base/readyz"
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=; }

start
token=$("$bin" token --role operator --network-key "$work/network.pem")
settlement=$(curl -s -H "Authorization: Bearer $token" "$base/v1/settlements?limit=1" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["settlement_id"])')
stop
printf '%-34s %12s %8s %10s\n' what bytes seconds peak_MB
measure() {
    local what=$1 path=$2 accept=$3
    start
    local before=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
    local out
    out=$(curl -s -o /dev/null -w '%{size_download} %{time_total}' \
        -H "Authorization: Bearer $token" -H "Accept: $accept" "$base$path")
    local peak=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
    printf '%-34s %12s %8s %10s\n' "$what" ${out} "$((peak / 1024)) (idle $((before / 1024)))"
    stop
}
for party in aroma network; do
    measure "statement $party JSON" "/v1/settlements/$settlement/statements/$party" application/json
    measure "statement $party CSV" "/v1/settlements/$settlement/statements/$party" text/csv
    measure "statement $party camt.053" "/v1/settlements/$settlement/statements/$party" application/xml
done
for format in csv ledger beancount; do
    measure "export $format" "/v1/ledger/export?format=$format" text/plain
done
