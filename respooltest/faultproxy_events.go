package respooltest

import (
	"context"
	"errors"
	"strings"
)

// errProxyClosed is returned by the waits of a FaultProxy closed while
// they wait.
var errProxyClosed = errors.New("respooltest: fault proxy closed")

// WaitCommand returns nil once at least n commands named name
// (case-insensitive) have been forwarded to the target since the proxy
// started, that is once Commands(name) >= n; at once when that already
// holds. A command counts as soon as the proxy starts writing it to the
// target, so when WaitCommand returns the server has it, or will have it
// as soon as the kernel delivers it, and its reply has not reached the
// client yet. Counting from the start rather than from the call makes it
// race-free: read Commands(name) before starting the command, then wait for
// one more. It returns ctx's error when ctx ends first, and an error when
// the proxy is closed while it waits. It does not poll: it wakes when the
// proxy counts a command.
func (p *FaultProxy) WaitCommand(ctx context.Context, name string, n int) error {
	name = strings.ToUpper(name)
	return p.waitEvent(ctx, func() bool { return p.commands[name] >= n })
}

// RepliesStarted returns how many replies to commands named name
// (case-insensitive) have had their first byte written to the client so
// far, over all connections; "" counts every reply, including replies
// that could not be matched with a command (see FaultProxy). Injected
// bytes and RESP3 pushes are not replies.
func (p *FaultProxy) RepliesStarted(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started[strings.ToUpper(name)]
}

// WaitReplyStarted returns nil once RepliesStarted(name) >= n: the first
// byte of the n-th reply to a command named name ("" for any) has been
// written to the client. It is WaitCommand's counterpart for "the client
// started receiving the reply", with the same contract for ctx and Close.
func (p *FaultProxy) WaitReplyStarted(ctx context.Context, name string, n int) error {
	name = strings.ToUpper(name)
	return p.waitEvent(ctx, func() bool { return p.started[name] >= n })
}

// waitEvent waits until cond, called with p.mu held, reports true.
func (p *FaultProxy) waitEvent(ctx context.Context, cond func() bool) error {
	p.mu.Lock()
	for !cond() {
		if p.closed {
			p.mu.Unlock()
			return errProxyClosed
		}
		events := p.events
		p.waiters++
		p.mu.Unlock()
		var err error
		select {
		case <-events:
		case <-p.quit:
		case <-ctx.Done():
			err = ctx.Err()
		}
		p.mu.Lock()
		p.waiters--
		if err != nil && !cond() {
			p.mu.Unlock()
			return err
		}
	}
	p.mu.Unlock()
	return nil
}

// notifyLocked wakes the callers of waitEvent after a counter changed.
func (p *FaultProxy) notifyLocked() {
	if p.waiters > 0 {
		close(p.events)
		p.events = make(chan struct{})
	}
}

// RepliesReceived returns how many replies to commands named name
// (case-insensitive; "" for all) the proxy has begun to read from the
// target so far, whatever became of them: forwarded, held, delayed, or
// dropped by Blackhole or a cut. Once it counts a reply, the faults that
// apply to it (Blackhole, InjectNextReply, StallReply) are decided.
func (p *FaultProxy) RepliesReceived(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.received[strings.ToUpper(name)]
}

// WaitReplyReceived returns nil once RepliesReceived(name) >= n, with the
// same contract for ctx and Close as WaitCommand: for instance, once a
// reply the proxy blackholes has been dropped.
func (p *FaultProxy) WaitReplyReceived(ctx context.Context, name string, n int) error {
	name = strings.ToUpper(name)
	return p.waitEvent(ctx, func() bool { return p.received[name] >= n })
}
