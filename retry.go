package respool

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/respool/respool/internal/cmdinfo"
)

// retrier decides, for one call, whether a failed attempt is repeated and
// waits the backoff. All attempts of a call share its budget.
type retrier struct {
	attempts int
}

// wait spends one attempt of the budget and sleeps its backoff; it
// reports false when the budget or the context does not allow another
// attempt.
func (r *retrier) wait(ctx context.Context, opt *Options) bool {
	if opt.MaxRetries < 0 || r.attempts >= opt.MaxRetries || ctx.Err() != nil {
		return false
	}
	r.attempts++
	d := backoff(r.attempts, opt.MinRetryBackoff, opt.MaxRetryBackoff)
	if dl, ok := ctx.Deadline(); ok && opt.now().Add(d).After(dl) {
		return false
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff is exponential with full jitter: a random duration in
// [min, min(max, min*2^(attempt-1))].
func backoff(attempt int, minB, maxB time.Duration) time.Duration {
	if minB <= 0 {
		return 0
	}
	ceil := minB
	for i := 1; i < attempt && ceil < maxB; i++ {
		ceil *= 2
	}
	ceil = min(ceil, maxB)
	if ceil <= minB {
		return minB
	}
	return minB + rand.N(ceil-minB+1)
}

// retryable reports whether a command that failed with err may be run
// again: it provably did not reach the server, the server refused it
// without running it, or it is read-only and does not block.
func retryable(err error, argv []any) bool {
	var ae *AuthError
	if errors.As(err, &ae) {
		return false
	}
	var se *Error
	if errors.As(err, &se) {
		switch se.Prefix() {
		case "LOADING", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN":
			return true
		}
		return false
	}
	var ce *ConnError
	if !errors.As(err, &ce) {
		return false // Nil, pool timeouts, ErrClosed, argument errors...
	}
	if errors.Is(ce.Err, context.Canceled) || errors.Is(ce.Err, context.DeadlineExceeded) {
		return false
	}
	switch ce.Outcome {
	case OutcomeNotSent:
		return true
	case OutcomeUnknown:
		return safeToRepeat(argv)
	}
	return false
}

// safeToRepeat reports whether running argv twice has the effect of
// running it once: a read-only command that does not block.
func safeToRepeat(argv []any) bool {
	if len(argv) == 0 {
		return false
	}
	strs := make([]string, 0, 2)
	for i := 0; i < len(argv) && i < 2; i++ {
		s, ok := argString(argv[i])
		if !ok {
			break
		}
		strs = append(strs, s)
	}
	if len(strs) == 0 {
		return false
	}
	info, ok := cmdinfo.LookupArgs(strs)
	if !ok {
		return false
	}
	return info.IsReadOnly() && !info.IsBlocking() && !info.IsWrite()
}
