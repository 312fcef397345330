package respool

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/respool/respool/resp"
)

// ProcessFunc runs one command; a hook wraps the next one.
type ProcessFunc func(ctx context.Context, cmd Cmder) error

// ProcessPipelineFunc runs the commands of one pipeline or transaction.
type ProcessPipelineFunc func(ctx context.Context, cmds []Cmder) error

// Hook is middleware around the commands of one client, for logging,
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

// front is what Client and ClusterClient share in front of their run
// paths: the hooks, Do and Process. Each embeds one and gives it its own
// runners with init.
type front struct {
	run         ProcessFunc         // the client's command runner, under the hooks
	runPipeline ProcessPipelineFunc // its pipeline runner, under the hooks

	hooksMu sync.Mutex // serialises AddHook
	hooks   atomic.Pointer[hookChain]
}

func (f *front) init(run ProcessFunc, runPipeline ProcessPipelineFunc) {
	f.run, f.runPipeline = run, runPipeline
	f.hooks.Store(&hookChain{})
}

// AddHook adds h around the client's commands and pipelines; the hook
// added last runs first. It is safe to call while commands run: each
// command uses the chain that was current when it started. Hooks are per
// client: several Clients sharing a Pool each have their own, and the
// per-node Clients of a ClusterClient have none of the ClusterClient's.
// A hook sees each call once, before a ClusterClient routes it: the
// redirections and retries happen inside it.
func (f *front) AddHook(h Hook) {
	f.hooksMu.Lock()
	defer f.hooksMu.Unlock()
	hooks := append(append([]Hook(nil), f.hooks.Load().hooks...), h)
	chain := &hookChain{hooks: hooks}
	process, pipeline := f.run, f.runPipeline
	for _, hk := range hooks {
		if hk.Process != nil {
			process = hk.Process(process)
			chain.process = process
		}
		if hk.ProcessPipeline != nil {
			pipeline = hk.ProcessPipeline(pipeline)
			chain.pipeline = pipeline
		}
	}
	f.hooks.Store(chain)
}

// hooked reports whether a hook wraps single commands.
func (f *front) hooked() bool { return f.hooks.Load().process != nil }

// processCmd is the client's cmdable: the hooks, then its runner.
func (f *front) processCmd(ctx context.Context, cmd Cmder) {
	if h := f.hooks.Load(); h.process != nil {
		_ = h.process(ctx, cmd)
		return
	}
	_ = f.run(ctx, cmd)
}

// processPipeline runs a pipeline or transaction: the hooks, then the
// client's pipeline runner.
func (f *front) processPipeline(ctx context.Context, cmds []Cmder) error {
	if h := f.hooks.Load(); h.pipeline != nil {
		return h.pipeline(ctx, cmds)
	}
	return f.runPipeline(ctx, cmds)
}

// Do runs any command and returns its reply as a resp.Value. A server
// error reply comes back as an *Error; a null reply is a Value whose IsNull
// is true, with a nil error (unlike the typed methods, which return Nil).
// ctx bounds the whole call, as for every command.
func (f *front) Do(ctx context.Context, args ...any) (resp.Value, error) {
	cmd := newCmd(DecodeValue, args...)
	f.processCmd(ctx, cmd)
	return cmd.val, cmd.Err()
}

// Process runs cmd (one made with NewCmd, or taken from a typed method of
// a Pipeline that was never executed), through the hooks, and returns its
// error.
func (f *front) Process(ctx context.Context, cmd Cmder) error {
	f.processCmd(ctx, cmd)
	return cmd.Err()
}
