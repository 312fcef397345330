# The README's quick start: `make demo` and `make test`.
.PHONY: demo test bench fuzz

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

# Short fuzzing of the RESP reader (longer: FUZZTIME=10m make fuzz).
FUZZTIME ?= 30s
fuzz:
	go test ./resp -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME)
	go test ./resp -run '^$$' -fuzz '^FuzzRoundTrip$$' -fuzztime $(FUZZTIME)
	go test ./resp -run '^$$' -fuzz '^FuzzChunked$$' -fuzztime $(FUZZTIME)
	go test ./resp -run '^$$' -fuzz '^FuzzReadString$$' -fuzztime $(FUZZTIME)

# Side-by-side benchmarks against go-redis, redigo and rueidis, with
# redis-benchmark as the reference (about 20-25 minutes on 2 cores): writes
# BENCHMARKS.md and the plots in docs/bench/. bench-quick (under 2 minutes)
# writes bench/quick/ instead. Extra flags: BENCH_FLAGS='-note "..."'.
.PHONY: bench-quick
BENCH_FLAGS ?=
bench:
	cd bench && go run ./cmd/compare -out ../BENCHMARKS.md -plots ../docs/bench $(BENCH_FLAGS)

bench-quick:
	cd bench && go run ./cmd/compare -quick -out quick/BENCHMARKS.md -plots quick $(BENCH_FLAGS)
