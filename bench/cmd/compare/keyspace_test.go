package main

import "testing"

// Every value must identify its key (and, for SET keys, its writer), or a
// reply meant for another caller could pass the check.
func TestValuesAreDistinct(t *testing.T) {
	for _, s := range scenarios {
		keys, values := keysAndValues(s)
		seen := map[string]string{}
		for i, v := range values {
			if len(v) != s.valueSize {
				t.Fatalf("%s: value of %s has %d bytes, want %d", s.name, keys[i], len(v), s.valueSize)
			}
			if k, dup := seen[v]; dup {
				t.Fatalf("%s: %s and %s hold the same value", s.name, k, keys[i])
			}
			seen[v] = keys[i]
		}
	}
	if setValue(16, 5, 1) == setValue(16, 5, 2) {
		t.Error("two writers of one key write the same value")
	}
}

func TestEveryScenarioResolves(t *testing.T) {
	for _, name := range quickScenarios {
		if _, err := lookupScenario(name); err != nil {
			t.Error(err)
		}
	}
	seen := map[string]bool{}
	for _, s := range scenarios {
		if seen[s.name] {
			t.Errorf("scenario %s listed twice", s.name)
		}
		seen[s.name] = true
		if s.kind == opSet && setKeyCount(s.valueSize, s.goroutines) < s.goroutines {
			t.Errorf("%s: fewer keys than writers", s.name)
		}
	}
}
