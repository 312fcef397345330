#!/usr/bin/env bash
# The README's second command: every check and every test, real servers included.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2

bash scripts/ensure-redis.sh

echo "==> gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-ed:" $unformatted >&2
	exit 1
fi

echo "==> go vet ./..., and the root package built for other systems (the socket system calls differ)"
go vet ./...
GOOS=darwin go vet .
GOARCH=386 go vet .
GOOS=windows go build -o /dev/null .

echo "==> staticcheck ($STATICCHECK_VERSION) ./..."
go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...

echo "==> go test -race ./... (real redis-server processes are started on free loopback ports)"
go test -race -count=1 -timeout 9m ./...

echo "==> go test ./... again without -race: the allocation tests (the race detector allocates on its own), and the quiet socket system calls of rawsys_linux.go, which race builds replace"
go test -count=1 -timeout 5m ./...

# The integrations are modules of their own (the core imports only the
# standard library); each is vetted, checked and tested on its own.
for mod in extra/*/; do
	mod=${mod%/}
	echo "==> $mod: go vet, staticcheck, go test -race ./..."
	(
		cd "$mod"
		go vet ./...
		go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...
		go test -race -count=1 -timeout 4m ./...
	)
done
