package respool

import "context"

// ProcessFunc runs one command; a hook wraps the next one.
type ProcessFunc func(ctx context.Context, cmd Cmder) error

// ProcessPipelineFunc runs the commands of one pipeline or transaction.
type ProcessPipelineFunc func(ctx context.Context, cmds []Cmder) error

// Hook is middleware around the commands of one Client, for logging,
// tracing and metrics: each non-nil field receives the next function in
// the chain and returns the one to call instead. A hook must call next
// exactly once unless it answers the command itself (with Cmd.SetVal or
// SetErr). Dialling is hooked through Options.Dialer.
type Hook struct {
	Process         func(next ProcessFunc) ProcessFunc
	ProcessPipeline func(next ProcessPipelineFunc) ProcessPipelineFunc
}

// hookChain is the composed chain; nil functions mean no hook.
type hookChain struct {
	hooks    []Hook
	process  ProcessFunc
	pipeline ProcessPipelineFunc
}

// AddHook adds h around the Client's commands; the hook added last runs
// first. It is safe to call while commands run: each command uses the
// chain that was current when it started. Hooks are per Client: several
// Clients sharing a Pool each have their own.
func (c *Client) AddHook(h Hook) {
	c.hooksMu.Lock()
	defer c.hooksMu.Unlock()
	old := c.hooks.Load()
	hooks := append(append([]Hook(nil), old.hooks...), h)
	chain := &hookChain{hooks: hooks}
	var process ProcessFunc = c.runCmd
	var pipeline ProcessPipelineFunc = c.runPipeline
	hasProcess, hasPipeline := false, false
	for _, hk := range hooks {
		if hk.Process != nil {
			process = hk.Process(process)
			hasProcess = true
		}
		if hk.ProcessPipeline != nil {
			pipeline = hk.ProcessPipeline(pipeline)
			hasPipeline = true
		}
	}
	if hasProcess {
		chain.process = process
	}
	if hasPipeline {
		chain.pipeline = pipeline
	}
	c.hooks.Store(chain)
}
