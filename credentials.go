package respool

import (
	"sync"
	"sync/atomic"
)

// credentialState is what RotateCredentials changes for the connections
// made with one Options (a Pool's, hence its Clients' shared connections
// and PubSubs too): the credentials they must be authenticated with, and
// their generation. A connection remembers the generation it last
// authenticated with (Conn.authGen); one whose generation is behind sends
// AUTH before its next command. withDefaults gives every Options a state
// of its own.
type credentialState struct {
	gen atomic.Uint64 // rotations so far; 0 until the first

	mu    sync.Mutex  // guards creds
	creds Credentials // those of generation gen

	reauths      atomic.Uint64 // connections that authenticated again
	reauthErrors atomic.Uint64 // re-authentications refused or failed
}

// generation returns the current generation; 0 for a nil state.
func (s *credentialState) generation() uint64 {
	if s == nil {
		return 0
	}
	return s.gen.Load()
}

// rotate makes creds the credentials of a new generation.
func (s *credentialState) rotate(creds Credentials) {
	s.mu.Lock()
	s.creds = creds
	s.gen.Add(1)
	s.mu.Unlock()
}

// current returns the latest credentials and their generation.
func (s *credentialState) current() (Credentials, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creds, s.gen.Load()
}
