package respool

import "testing"

// Replica connections send READONLY in the handshake's one write.
func TestClusterReadOnlyHandshake(t *testing.T) {
	opt := readOnlyOptions(Options{ClientName: "x"})
	steps := handshakeSteps(opt.withDefaults(), Credentials{}, 3)
	found := false
	for _, s := range steps {
		if s.kind == stepReadOnly && len(s.argv) == 1 && s.argv[0] == "READONLY" {
			found = true
		}
	}
	if !found {
		t.Fatalf("handshake steps %v lack READONLY", steps)
	}
	for _, s := range handshakeSteps((&Options{}).withDefaults(), Credentials{}, 3) {
		if s.kind == stepReadOnly {
			t.Fatal("READONLY sent without being asked for")
		}
	}
}
