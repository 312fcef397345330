#!/usr/bin/env bash
# Breaks each of the six most important guarantees on purpose, one at a
# time, in a scratch copy of the tree, runs the root package's tests and
# reports which tests caught the break. A break that no test catches is a
# hole in the suite: the script then exits 1.
#
#   bash scripts/break-guarantees.sh            # all six
#   bash scripts/break-guarantees.sh replay     # one, by name
#
# Not part of `make test` (it runs the root suite six times, a few
# minutes). The working tree is never modified.
set -euo pipefail
cd "$(dirname "$0")/.."

# name|file|perl substitution (applied once; the script fails if it does not match)|what it breaks
breaks=(
'wrong-caller|mux.go|s/for _, m := range batch \{\n(\t+)for _, rq := range m\.reqs \{/for bi := len(batch) - 1; bi >= 0; bi-- {\n$1m := batch[bi]\n$1for _, rq := range m.reqs {/|a shared connection writes its batch in reverse, so replies reach the wrong callers'
'replay|retry.go|s/case OutcomeUnknown:\n(\t+)return safeToRepeat\(argv\)/case OutcomeUnknown:\n$1return true/|a command whose outcome is unknown is retried even when it writes'
'lost-cancel|wire.go|s/return context\.AfterFunc\(ctx, cn\.cutShort\)/return func() bool { return true }/|a cancelled context no longer cuts a blocked read or write short'
'dirty-reuse|conn.go|s/return !cn\.closed\.Load\(\) && cn\.broken == nil && cn\.pending == 0 &&\n\t+!cn\.inMulti && !cn\.watching && !cn\.subscribed && !cn\.sessionChanged/return !cn.closed.Load() && cn.broken == nil/|a connection with unread replies, an open MULTI, WATCH, subscription or session change goes back to the pool'
'drain-skip|conn_drain.go|s/\tif cn\.pending > 0 \{\n\t\tcn\.setReadDeadline\(noCaller, exactly\(dl\)\)/\tcn.pending = 0\n\tif cn.pending > 0 {\n\t\tcn.setReadDeadline(noCaller, exactly(dl))/|a drained connection goes back to the pool without reading the late replies it owes'
'unsolicited|wire.go|s/return cn\.r\.Buffered\(\) == 0 && cn\.peek\.check\(\)/return true/|bytes a server sent unasked, a close or a reset on an idle connection go unnoticed'
)

only=${1:-}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
missed=0
for b in "${breaks[@]}"; do
	IFS='|' read -r name file subst what <<<"$b"
	if [ -n "$only" ] && [ "$only" != "$name" ]; then
		continue
	fi
	dir="$scratch/$name"
	mkdir -p "$dir"
	git ls-files -z | xargs -0 cp --parents -t "$dir"
	before=$(cat "$dir/$file")
	perl -0pi -e "$subst" "$dir/$file"
	if [ "$before" = "$(cat "$dir/$file")" ]; then
		echo "$name: the break no longer applies to $file (the code changed): update this script" >&2
		exit 2
	fi
	echo "==> $name: $what ($file)"
	out=$(cd "$dir" && go test -count=1 -timeout 4m . 2>&1 || true)
	caught=$(printf '%s\n' "$out" | grep -E '^--- FAIL' | sed -E 's/^--- FAIL: ([^ ]+).*/\1/' | sort -u | tr '\n' ' ' || true)
	hung=$(printf '%s\n' "$out" | sed -n '/^running tests:/,/^$/p' | grep -E '^\s+Test' | awk '{print $1}' | sort -u | tr '\n' ' ' || true)
	if [ -n "$hung" ]; then
		echo "    hung (the package timed out) in: $hung"
	fi
	if [ -n "$caught" ]; then
		echo "    caught by: $caught"
	elif printf '%s\n' "$out" | grep -qE '^(FAIL|panic:)'; then
		echo "    caught: the package failed without a failing test (build failure, panic or timeout):"
		printf '%s\n' "$out" | grep -E '^(FAIL|panic:|\s+.*\.go:[0-9]+)' | head -5 | sed 's/^/      /'
	else
		echo "    NOT CAUGHT: every test passed"
		missed=1
	fi
	rm -rf "$dir"
done
exit $missed
