#!/usr/bin/env bash
# Installs redis-server, redis-tools and redis-sentinel from Debian's packages
# when any of them is missing. Needs root or sudo. Safe to run again.
set -euo pipefail

missing=()
for bin in redis-server redis-cli redis-sentinel; do
	command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "==> redis: $(redis-server --version | cut -d' ' -f1-3) already installed"
	exit 0
fi

echo "==> redis: ${missing[*]} missing; installing redis-server redis-tools redis-sentinel"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "error: not root and no sudo: install redis-server redis-tools redis-sentinel yourself" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq redis-server redis-tools redis-sentinel >/dev/null
# The packages start system services where an init system runs; our tests and
# demo start private servers on free ports and need none of them.
echo "==> redis: installed $(redis-server --version | cut -d' ' -f1-3)"
