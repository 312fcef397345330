#!/usr/bin/env bash
# Mass insertion: `respool --pipe` against `redis-cli --pipe`, both loading
# the same 100,000 SETs (the protocol, as redis.io's mass-insertion page
# produces it) into a private redis-server on a free loopback port.
#
#   bash bench/pipe.sh            # 100,000 SETs, hyperfine when installed
#   N=1000000 RUNS=5 bash bench/pipe.sh
#
# Each run starts from an empty database (FLUSHALL before it) and must end
# with every key loaded; the script stops the server it started.
set -euo pipefail

N=${N:-100000}
RUNS=${RUNS:-10}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

go build -o "$work/respool" ./cmd/respool
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --daemonize yes \
	--logfile "$work/redis.log" >/dev/null
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) { k = "key:" i; v = "value:" i;
	printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' >"$work/sets.resp"

echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $N SETs ($(wc -c <"$work/sets.resp") bytes), $(nproc) cores"
for tool in "redis-cli" "$work/respool"; do
	redis-cli -p "$port" flushall >/dev/null
	"$tool" -p "$port" --pipe <"$work/sets.resp" | tail -1
	keys=$(redis-cli -p "$port" dbsize)
	[ "$keys" = "$N" ] || { echo "$tool loaded $keys keys, want $N" >&2; exit 1; }
done

flush="redis-cli -p $port flushall"
if command -v hyperfine >/dev/null; then
	hyperfine --runs "$RUNS" --warmup 1 --prepare "$flush" --export-json "$work/runs.json" \
		-n "redis-cli --pipe" "redis-cli -p $port --pipe <$work/sets.resp" \
		-n "respool --pipe" "$work/respool -p $port --pipe <$work/sets.resp"
	# Medians resist the outliers of a busy machine better than means.
	python3 - "$work/runs.json" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f'{r["command"]}: median {statistics.median(r["times"])*1000:.1f} ms, '
          f'min {min(r["times"])*1000:.1f} ms, user {r["user"]*1000:.1f} ms, system {r["system"]*1000:.1f} ms')
PY
else
	for tool in "redis-cli" "$work/respool"; do
		for _ in $(seq "$RUNS"); do
			$flush >/dev/null
			/usr/bin/env time -f "$tool %e s %M KB" "$tool" -p "$port" --pipe <"$work/sets.resp" >/dev/null
		done
	done
fi
