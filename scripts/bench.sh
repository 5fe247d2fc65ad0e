#!/usr/bin/env bash
# The benchmark: `coalition bench` on SQLite and on PostgreSQL, and in the same run PostgreSQL's
# own TPC-B (pgbench, scale 10, 64 clients, 2 threads, 20 s) on the same server, with the ratio.
# Then a settlement cycle over SETTLE_ENTRIES (default 1 000 000) entries on each backend.
# Usage: scripts/bench.sh [DURATION_SECS] [CONCURRENCY]   (SETTLE_ENTRIES=0 skips the settlement)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
concurrency=${2:-64}
settle_entries=${SETTLE_ENTRIES:-1000000}
# The in-process settlement bench logs like the service; only problems are worth showing here.
export RUST_LOG=${RUST_LOG:-warn}
pg_server=${COALITION_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}

cargo build --release -q
bin=target/release/coalition

# Each measurement starts on a quiet disk: the page cache's dirty pages (the build's, the previous
# run's) written out, and PostgreSQL's last checkpoint just behind it. Otherwise the kernel's
# write-back or a timed checkpoint left over from earlier work can land in whichever run comes
# next. Checkpoints the runs cause themselves (every ~0.5 GB of PostgreSQL log) still fall inside
# them.
quiesce() {
  sync
  psql -q "$pg_server/postgres" -c "CHECKPOINT" >/dev/null 2>&1 \
    || echo "(CHECKPOINT refused: it needs a superuser or pg_checkpoint; carrying on without it)"
}

quiesce
echo "== coalition bench, SQLite (${duration} s, ${concurrency} clients)"
sqlite=$("$bin" bench --duration "$duration" --concurrency "$concurrency" --json)
echo "$sqlite"

quiesce
echo "== coalition bench, PostgreSQL"
postgres=$("$bin" bench --database "$pg_server/postgres" --duration "$duration" --concurrency "$concurrency" --json)
echo "$postgres"

echo "== pgbench TPC-B on the same server (scale 10, 64 clients, 2 threads, 20 s)"
db="pgbench_$$"
psql -q "$pg_server/postgres" -c "CREATE DATABASE $db"
trap 'psql -q "$pg_server/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
pgbench -q -i -s 10 "$pg_server/$db" >/dev/null 2>&1
quiesce
tps=$(pgbench -c 64 -j 2 -T 20 "$pg_server/$db" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -n1)
echo "pgbench tps: $tps"

settle_sqlite='{}'
settle_postgres='{}'
if [ "$settle_entries" -gt 0 ]; then
  echo "== settlement of $settle_entries entries, SQLite (the entries are written first; that takes a while)"
  settle_sqlite=$("$bin" bench --settle-entries "$settle_entries" --json)
  echo "$settle_sqlite"
  echo "== settlement of $settle_entries entries, PostgreSQL"
  settle_postgres=$("$bin" bench --database "$pg_server/postgres" --settle-entries "$settle_entries" --json)
  echo "$settle_postgres"
fi

python3 - "$sqlite" "$postgres" "$tps" "$settle_sqlite" "$settle_postgres" <<'PY'
import json, sys
s, p, tps = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
ss, sp = json.loads(sys.argv[4]), json.loads(sys.argv[5])
print()
print(f"{'':22} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'RSS MB':>7} {'verified':>8}   CPU µs/op: server, load generator, PostgreSQL")
for name, r in (("coalition SQLite", s), ("coalition PostgreSQL", p)):
    cpu = r.get('cpu_us_per_op', {})
    print(f"{name:22} {r['throughput_per_s']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:7} {r['peak_rss_mb'] or 0:7.0f} {str(r['verified']):>8}   "
          f"{cpu.get('server', 0):.0f}, {cpu.get('load_generator', 0):.0f}, {cpu.get('postgres', 0):.0f}")
print(f"{'pgbench TPC-B':22} {tps:9.0f}")
print(f"ratio PostgreSQL / pgbench: {p['throughput_per_s'] / tps:.2f}")
for name, r in (("SQLite", ss), ("PostgreSQL", sp)):
    if r:
        print(f"settlement, {name}: {r['entries']} entries closed in {r['settle_s']:.2f} s "
              f"({r['parties']} parties; verify {r['verify_s']:.1f} s, {'passed' if r['verified'] else 'FAILED'})")
PY
