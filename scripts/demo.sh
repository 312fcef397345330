#!/usr/bin/env bash
# The README's first command: shows respool doing its main job.
# `respool demo` uses REDIS_URL when it is set; otherwise it starts a private
# redis-server on a free loopback port and stops it when it is done.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-redis.sh

echo "==> go run ./cmd/respool demo ${REDIS_URL:+-u $REDIS_URL}"
exec go run ./cmd/respool demo ${REDIS_URL:+-u "$REDIS_URL"}
