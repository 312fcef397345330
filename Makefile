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
