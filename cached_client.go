package respool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/respool/respool/internal/cmdinfo"
	"github.com/respool/respool/resp"
)

// CachedClient is a read-only view of a Client or ClusterClient whose
// reads are answered from the client-side cache when it holds them
// (Options.ClientCache), and otherwise sent to the server and kept. Get
// it with Cached; it is safe for concurrent use, costs nothing to keep,
// and is closed with its client.
//
// A value is kept until the server says its key changed (CLIENT
// TRACKING), for at most the view's ttl, CacheOptions.MaxTTL and the
// key's own time to live, read in the same round trip; until the
// tracking connection it was read on closes or fails; or until it is
// evicted to stay within CacheOptions.MaxBytes. A change made by any
// client reaches the cache as soon as the server's invalidation arrives,
// which follows the write's own reply: a read that starts after that
// does not return the old value.
//
// Each method's context bounds its call as on the Client: waiting for
// another caller's read of the same key (concurrent misses of one
// command on one key send one read), dialling a tracking connection,
// retries, writing and reading. A hit returns the stored reply itself
// and allocates nothing for a string, integer, boolean or float result;
// a result that is a slice or a map is a fresh one the caller owns.
//
// Only read-only commands go through a view: Do refuses any other
// before anything is sent. On a client without Options.ClientCache every
// read fails with an error saying so; on a RESP2 server with one that
// is ErrCacheNeedsRESP3.
type CachedClient struct {
	src cacheSource
	ttl time.Duration
}

// cacheSource finds the cache that holds a key: the Client's own, or,
// on a ClusterClient, that of the Client of the node serving the key's
// slot.
type cacheSource interface {
	cacheFor(ctx context.Context, key string) (*clientCache, error)
	// redirected is given an error reply v to the read of sig on key
	// from cache from, and returns the reply for the caller: a
	// ClusterClient follows MOVED and ASK, a Client returns v.
	redirected(ctx context.Context, from *clientCache, ttl time.Duration, key string, sig []string, v resp.Value) (resp.Value, error)
}

// errNoCache is the error of a cached read on a client without a cache.
var errNoCache = errors.New("respool: Cached: the client has no Options.ClientCache")

// Cached returns a view of c whose reads use the client-side cache and
// keep what they read for at most ttl (<= 0: CacheOptions.MaxTTL). The
// view needs Options.ClientCache; it works with Options.Exclusive too, as
// cached reads always go out on the cache's own tracking connections.
func (c *Client) Cached(ttl time.Duration) *CachedClient {
	return &CachedClient{src: c, ttl: ttl}
}

// CacheStats returns the counters of the client-side cache: all zero
// without Options.ClientCache.
func (c *Client) CacheStats() CacheStats {
	if c.cache == nil {
		return CacheStats{}
	}
	return c.cache.stats()
}

func (c *Client) redirected(_ context.Context, _ *clientCache, _ time.Duration, _ string, _ []string, v resp.Value) (resp.Value, error) {
	return v, nil
}

func (c *Client) cacheFor(context.Context, string) (*clientCache, error) {
	switch {
	case c.cache == nil:
		return nil, errNoCache
	case c.closed.Load():
		return nil, ErrClosed
	}
	return c.cache, nil
}

// read is the cached read of sig (the command's name and its arguments
// after the key) on key.
func (cv *CachedClient) read(ctx context.Context, key string, sig []string) (resp.Value, error) {
	cc, err := cv.src.cacheFor(ctx, key)
	if err != nil {
		return resp.Value{}, err
	}
	v, err := cc.read(ctx, cv.ttl, key, sig)
	if err == nil && v.IsError() {
		// Passed on as a copy: sig stays on its caller's stack.
		return cv.src.redirected(ctx, cc, cv.ttl, key, slices.Clone(sig), v)
	}
	return v, err
}

// readMany is read of sig on each of keys, grouped by cache.
func (cv *CachedClient) readMany(ctx context.Context, keys []string, sig []string) ([]resp.Value, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	first, err := cv.src.cacheFor(ctx, keys[0])
	if err != nil {
		return nil, err
	}
	caches := make([]*clientCache, len(keys))
	same := true
	for i, k := range keys {
		if caches[i], err = cv.src.cacheFor(ctx, k); err != nil {
			return nil, err
		}
		same = same && caches[i] == first
	}
	if same {
		vals, err := first.readMany(ctx, cv.ttl, keys, sig)
		if err != nil {
			return nil, err
		}
		return cv.followRedirects(ctx, keys, sig, vals)
	}
	// Keys of several nodes: one batch per node, one node after the other.
	vals := make([]resp.Value, len(keys))
	done := make([]bool, len(keys))
	for i := range keys {
		if done[i] {
			continue
		}
		var group []string
		var at []int
		for j := i; j < len(keys); j++ {
			if !done[j] && caches[j] == caches[i] {
				group, at = append(group, keys[j]), append(at, j)
				done[j] = true
			}
		}
		got, err := caches[i].readMany(ctx, cv.ttl, group, sig)
		if err != nil {
			return nil, err
		}
		for g, j := range at {
			vals[j] = got[g]
		}
	}
	return cv.followRedirects(ctx, keys, sig, vals)
}

// followRedirects reads again, one by one, the keys whose reply is a
// redirection or a refusal to wait out, which a ClusterClient follows.
func (cv *CachedClient) followRedirects(ctx context.Context, keys []string, sig []string, vals []resp.Value) ([]resp.Value, error) {
	for i, v := range vals {
		if isRedirectReply(v) {
			var err error
			if vals[i], err = cv.read(ctx, keys[i], sig); err != nil {
				return nil, err
			}
		}
	}
	return vals, nil
}

// isRedirectReply reports a reply that a ClusterClient follows or waits
// out: MOVED, ASK, TRYAGAIN, CLUSTERDOWN, MASTERDOWN, LOADING.
func isRedirectReply(v resp.Value) bool {
	if !v.IsError() {
		return false
	}
	switch NewError(v.Text()).Prefix() {
	case "MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "LOADING":
		return true
	}
	return false
}

// The signatures of the typed reads without arguments beyond the key.
var (
	sigGet      = []string{"GET"}
	sigExists   = []string{"EXISTS"}
	sigHGetAll  = []string{"HGETALL"}
	sigSMembers = []string{"SMEMBERS"}
)

// cacheOp names a typed read of at most one argument after its key.
type cacheOp uint8

const (
	cacheGet cacheOp = iota
	cacheHGet
	cacheStrLen
	cacheExists
	cacheSIsMember
	cacheZScore
)

// cacheOps gives each cacheOp its name and whether it has an argument
// after the key.
var cacheOps = [...]struct {
	name string
	arg  bool
}{
	cacheGet:       {"GET", false},
	cacheHGet:      {"HGET", true},
	cacheStrLen:    {"STRLEN", false},
	cacheExists:    {"EXISTS", false},
	cacheSIsMember: {"SISMEMBER", true},
	cacheZScore:    {"ZSCORE", true},
}

// readOp is the cached read of op on key (with arg, for an op that has
// one). The signature is built on this frame's stack.
func (cv *CachedClient) readOp(ctx context.Context, op cacheOp, key, arg string) (resp.Value, error) {
	sig := [2]string{cacheOps[op].name, arg}
	n := 1
	if cacheOps[op].arg {
		n = 2
	}
	return cv.read(ctx, key, sig[:n])
}

// The decoders of the view's typed results that the command table's
// static ones (stringExt, intExt) do not cover, shared in the same way:
// never written.
var (
	cachedBoolExt  = staticExt(&cmdExt[bool]{decode: DecodeBool}, false)
	cachedFloatExt = staticExt(&cmdExt[float64]{decode: DecodeFloat}, true)
)

// Get returns the value of key; Nil when the key does not exist.
func (cv *CachedClient) Get(ctx context.Context, key string) *Cmd[string] {
	cmd := &Cmd[string]{ext: stringExt}
	cachedString(cv, ctx, cmd, cacheGet, key, "")
	return cmd
}

// HGet returns the value of field in the hash at key; Nil when the field
// or the key does not exist.
func (cv *CachedClient) HGet(ctx context.Context, key, field string) *Cmd[string] {
	cmd := &Cmd[string]{ext: stringExt}
	cachedString(cv, ctx, cmd, cacheHGet, key, field)
	return cmd
}

// StrLen returns the length of the string at key (0 when missing).
func (cv *CachedClient) StrLen(ctx context.Context, key string) *Cmd[int64] {
	cmd := &Cmd[int64]{ext: intExt}
	cachedInt(cv, ctx, cmd, cacheStrLen, key, "")
	return cmd
}

// SIsMember reports whether member is in the set at key.
func (cv *CachedClient) SIsMember(ctx context.Context, key, member string) *Cmd[bool] {
	cmd := &Cmd[bool]{ext: cachedBoolExt}
	cachedBool(cv, ctx, cmd, cacheSIsMember, key, member)
	return cmd
}

// ZScore returns the score of member in the sorted set at key; Nil when
// the member or the key does not exist.
func (cv *CachedClient) ZScore(ctx context.Context, key, member string) *Cmd[float64] {
	cmd := &Cmd[float64]{ext: cachedFloatExt}
	cachedFloat(cv, ctx, cmd, cacheZScore, key, member)
	return cmd
}

// Exists returns how many of keys exist (a key named twice counts
// twice). Each key is cached on its own, as EXISTS of that key.
func (cv *CachedClient) Exists(ctx context.Context, keys ...string) *Cmd[int64] {
	cmd := &Cmd[int64]{ext: intExt}
	cachedExists(cv, ctx, cmd, keys)
	return cmd
}

// cachedString, cachedInt, cachedBool, cachedFloat and cachedExists run
// a cached read for a typed method. As the Client's fast forms
// (client_fast.go), they are kept out of line and not generic, so that
// the compiler can prove across packages that the method's *Cmd does not
// escape: a hit then allocates nothing.
//
//go:noinline
func cachedString(cv *CachedClient, ctx context.Context, cmd *Cmd[string], op cacheOp, key, arg string) {
	v, err := cv.readOp(ctx, op, key, arg)
	if err != nil {
		cmd.setErr(err)
		return
	}
	cmd.setReply(v)
}

//go:noinline
func cachedInt(cv *CachedClient, ctx context.Context, cmd *Cmd[int64], op cacheOp, key, arg string) {
	v, err := cv.readOp(ctx, op, key, arg)
	if err != nil {
		cmd.setErr(err)
		return
	}
	cmd.setReply(v)
}

//go:noinline
func cachedBool(cv *CachedClient, ctx context.Context, cmd *Cmd[bool], op cacheOp, key, arg string) {
	v, err := cv.readOp(ctx, op, key, arg)
	if err != nil {
		cmd.setErr(err)
		return
	}
	cmd.setReply(v)
}

//go:noinline
func cachedFloat(cv *CachedClient, ctx context.Context, cmd *Cmd[float64], op cacheOp, key, arg string) {
	v, err := cv.readOp(ctx, op, key, arg)
	if err != nil {
		cmd.setErr(err)
		return
	}
	cmd.setReply(v)
}

//go:noinline
func cachedExists(cv *CachedClient, ctx context.Context, cmd *Cmd[int64], keys []string) {
	if len(keys) == 1 {
		cachedInt(cv, ctx, cmd, cacheExists, keys[0], "")
		return
	}
	vals, err := cv.readMany(ctx, keys, sigExists)
	if err != nil {
		cmd.setErr(err)
		return
	}
	for _, v := range vals {
		n, err := DecodeInt(v)
		if v.IsError() {
			err = NewError(v.Text())
		}
		if err != nil {
			cmd.setErr(err)
			return
		}
		cmd.val += n
	}
}

// cachedCmd runs a cached read for a typed method whose result the
// caller owns anyway (a slice or a map).
func cachedCmd[T any](cv *CachedClient, ctx context.Context, decode func(resp.Value) (T, error), key string, sig []string) *Cmd[T] {
	cmd := &Cmd[T]{ext: &cmdExt[T]{decode: decode}}
	v, err := cv.read(ctx, key, sig)
	if err != nil {
		cmd.setErr(err)
		return cmd
	}
	cmd.setReply(v)
	return cmd
}

// HGetAll returns every field and value of the hash at key; an empty map
// when the key does not exist.
func (cv *CachedClient) HGetAll(ctx context.Context, key string) *Cmd[map[string]string] {
	return cachedCmd(cv, ctx, DecodeStringMap, key, sigHGetAll)
}

// HMGet returns the values of fields in the hash at key, in order; a
// missing field has OK false.
func (cv *CachedClient) HMGet(ctx context.Context, key string, fields ...string) *Cmd[[]Optional[string]] {
	sig := append([]string{"HMGET"}, fields...)
	return cachedCmd(cv, ctx, DecodeOptionalStrings, key, sig)
}

// SMembers returns the members of the set at key.
func (cv *CachedClient) SMembers(ctx context.Context, key string) *Cmd[[]string] {
	return cachedCmd(cv, ctx, DecodeStrings, key, sigSMembers)
}

// LRange returns the elements of the list at key from start to stop,
// both included; negative indexes count from the end.
func (cv *CachedClient) LRange(ctx context.Context, key string, start, stop int64) *Cmd[[]string] {
	sig := [3]string{"LRANGE", strconv.FormatInt(start, 10), strconv.FormatInt(stop, 10)}
	return cachedCmd(cv, ctx, DecodeStrings, key, sig[:])
}

// ZRange returns the members of the sorted set at key from rank start to
// stop, both included, lowest score first.
func (cv *CachedClient) ZRange(ctx context.Context, key string, start, stop int64) *Cmd[[]string] {
	sig := [3]string{"ZRANGE", strconv.FormatInt(start, 10), strconv.FormatInt(stop, 10)}
	return cachedCmd(cv, ctx, DecodeStrings, key, sig[:])
}

// MGet returns the values of keys in order; a missing key, or one that
// holds another type than a string, has OK false, as MGET gives them.
// Each key is cached on its own, as GET of that key: the keys found in
// memory are not sent, the others go in one write (on a ClusterClient,
// one per node).
func (cv *CachedClient) MGet(ctx context.Context, keys ...string) *Cmd[[]Optional[string]] {
	cmd := &Cmd[[]Optional[string]]{}
	vals, err := cv.readMany(ctx, keys, sigGet)
	if err != nil {
		cmd.setErr(err)
		return cmd
	}
	out := make([]Optional[string], len(vals))
	for i, v := range vals {
		if v.IsError() {
			if err := NewError(v.Text()); err.Prefix() != "WRONGTYPE" {
				cmd.setErr(err)
				return cmd
			}
			continue // MGET gives a key of another type as missing
		}
		if !v.IsNull() {
			s, err := DecodeString(v)
			if err != nil {
				cmd.setErr(err)
				return cmd
			}
			out[i] = Optional[string]{Val: s, OK: true}
		}
	}
	cmd.val = out
	return cmd
}

// Do runs a read-only command through the cache and returns its reply,
// as Client.Do does. The command must be one the server's command table
// marks read-only and not blocking, with one key, right after its name
// (GET k, HGET k f, LRANGE k 0 9, ZRANGEBYSCORE k 0 10...), and a reply
// that does not change without a write (not SRANDMEMBER, TTL...);
// anything else is refused with an error before anything is sent. The
// Value may share its elements with the cached entry: do not modify
// them.
func (cv *CachedClient) Do(ctx context.Context, args ...any) (resp.Value, error) {
	strs, err := cacheableArgs(args)
	if err != nil {
		return resp.Value{}, err
	}
	sig := make([]string, 0, len(strs)-1)
	sig = append(append(sig, strs[0]), strs[2:]...)
	v, err := cv.read(ctx, strs[1], sig)
	if err != nil {
		return v, err
	}
	if v.IsError() {
		return v, NewError(v.Text())
	}
	return v, nil
}

// timeBound are read-only commands whose reply changes with time alone:
// no invalidation would come.
var timeBound = map[string]bool{"ttl": true, "pttl": true}

// cacheableArgs returns args as text when they are a command a view may
// run: read-only, not blocking, deterministic, with its one key at
// position 1.
func cacheableArgs(args []any) ([]string, error) {
	strs := make([]string, len(args))
	for i, a := range args {
		s, err := doArgText(a)
		if err != nil {
			return nil, fmt.Errorf("respool: CachedClient.Do: argument %d: %w", i, err)
		}
		strs[i] = s
	}
	if len(strs) < 2 {
		return nil, errors.New("respool: CachedClient.Do: a command and its key are needed")
	}
	info, ok := cmdinfo.LookupArgs(strs)
	name := strings.ToUpper(strs[0])
	switch {
	case !ok:
		return nil, fmt.Errorf("respool: CachedClient.Do: unknown command %s, not sent", name)
	case !info.IsReadOnly() || info.IsBlocking():
		return nil, fmt.Errorf("respool: CachedClient.Do: %s is not a read-only command, not sent: a cached view only reads", name)
	case timeBound[info.Name]:
		return nil, fmt.Errorf("respool: CachedClient.Do: the reply of %s changes with time, not cached, not sent", name)
	}
	for _, tip := range info.Tips {
		if tip == "nondeterministic_output" || tip == "nondeterministic_output_order" {
			return nil, fmt.Errorf("respool: CachedClient.Do: the reply of %s is not deterministic, not cached, not sent", name)
		}
	}
	if keys := info.KeyIndexes(strs); len(keys) != 1 || keys[0] != 1 {
		return nil, fmt.Errorf("respool: CachedClient.Do: %s must have one key, right after its name, to be cached; not sent", name)
	}
	return strs, nil
}

// doArgText returns an argument of Do as the text the server receives.
func doArgText(a any) (string, error) {
	if s, ok := argString(a); ok {
		return s, nil
	}
	b, err := resp.AppendCommand(nil, a)
	if err != nil {
		return "", err
	}
	// "*1\r\n$N\r\n<text>\r\n": keep the text.
	s := string(b)
	i := strings.Index(s[4:], "\r\n")
	if i < 0 {
		return "", fmt.Errorf("type %T cannot be cached", a)
	}
	return strings.TrimSuffix(s[4+i+2:], "\r\n"), nil
}
