package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// runner is one client library under test, built once per worker process
// and shared by all of the scenario's goroutines. A missing value (a null
// reply) is returned as "" with a nil error: the worker counts it as a
// wrong reply, since every key it reads holds a value.
type runner interface {
	// get runs GET key and returns the value.
	get(ctx context.Context, key string) (string, error)
	// set runs SET key value and returns the status reply ("OK").
	set(ctx context.Context, key, value string) (string, error)
	// pipeGets sends GET for every key in one explicit pipeline and stores
	// the replies in out (len(out) == len(keys)).
	pipeGets(ctx context.Context, keys, out []string) error
	// mget runs MGET keys... and stores the values in out.
	mget(ctx context.Context, keys, out []string) error
	close() error
}

// runnerOptions is what a runner is built for.
type runnerOptions struct {
	addr string
	// cluster, when set, lists the nodes of a Redis Cluster: the runner
	// builds its library's cluster client with them as seeds, and addr is
	// unused.
	cluster    []string
	goroutines int
	// poolSize, when positive, caps the client's connections (and makes
	// redigo wait for one); zero keeps the library's default.
	poolSize int
}

// clientInfo names a client for flags and for the report.
type clientInfo struct {
	name  string // flag name
	title string // report column
	peer  bool   // not respool: a candidate for "best peer"
	// optIn: runs only in the scenarios that name it (respool with the
	// OpenTelemetry hooks has a row of its own, not a column of every row).
	optIn bool
}

// clientList is every client the driver knows, in report order.
var clientList = []clientInfo{
	{name: "respool", title: "respool"},
	{name: "respool-exclusive", title: "respool Exclusive"},
	{name: "respool-otel", title: "respool + OTel", optIn: true},
	{name: "goredis", title: "go-redis", peer: true},
	{name: "goredis-auto", title: "go-redis AutoPipeline", peer: true},
	{name: "goredis-otel", title: "go-redis + redisotel", peer: true, optIn: true},
	{name: "redigo", title: "redigo", peer: true},
	{name: "rueidis", title: "rueidis", peer: true},
	{name: "respool-cache", title: "respool Cached", optIn: true},
	{name: "rueidis-cache", title: "rueidis DoCache", peer: true, optIn: true},
}

// referenceName is the pseudo-client that runs redis-benchmark.
const referenceName = "redis-benchmark"

// lookupClient finds a client by flag name. respool-mux is accepted for
// respool: a respool Client multiplexes by default.
func lookupClient(name string) (clientInfo, error) {
	if name == "respool-mux" {
		name = "respool"
	}
	for _, c := range clientList {
		if c.name == name {
			return c, nil
		}
	}
	names := make([]string, len(clientList))
	for i, c := range clientList {
		names[i] = c.name
	}
	return clientInfo{}, fmt.Errorf("compare: unknown client %q (known: %s)", name, strings.Join(names, ","))
}

// clientTitle is the report's name for a client or the reference.
func clientTitle(name string) string {
	if name == referenceName {
		return name
	}
	if c, err := lookupClient(name); err == nil {
		return c.title
	}
	return name
}

// isOptIn reports whether name runs only in the scenarios that name it.
func isOptIn(name string) bool {
	c, err := lookupClient(name)
	return err == nil && c.optIn
}

// isPeer reports whether name is one of the peers.
func isPeer(name string) bool {
	c, err := lookupClient(name)
	return err == nil && c.peer
}

// newRunner builds the named client.
func newRunner(name string, opt runnerOptions) (runner, error) {
	switch name {
	case "respool":
		return newRespoolRunner(opt, false), nil
	case "respool-exclusive":
		return newRespoolRunner(opt, true), nil
	case "respool-otel":
		return newRespoolOtelRunner(opt)
	case "goredis":
		return newGoRedisRunner(opt, false)
	case "goredis-auto":
		return newGoRedisRunner(opt, true)
	case "goredis-otel":
		return newGoRedisOtelRunner(opt)
	case "redigo":
		if opt.cluster != nil {
			return nil, errors.New("compare: redigo has no cluster client")
		}
		return newRedigoRunner(opt), nil
	case "rueidis":
		return newRueidisRunner(opt)
	case "respool-cache":
		return newRespoolCacheRunner(opt), nil
	case "rueidis-cache":
		return newRueidisCacheRunner(opt)
	}
	return nil, fmt.Errorf("compare: unknown client %q", name)
}

// checkReplyCount reports a pipeline or MGET that answered with the wrong
// number of replies.
func checkReplyCount(got, want int) error {
	if got != want {
		return fmt.Errorf("compare: %d replies for %d keys", got, want)
	}
	return nil
}
