package main

import (
	"context"
	"fmt"
	"strings"
)

// runner is one client library under test, built once per worker process
// and shared by all of the workload's goroutines.
type runner interface {
	// get runs GET key and checks that a value came back.
	get(ctx context.Context, key string) error
	// set runs SET key value.
	set(ctx context.Context, key, value string) error
	// pipeGets sends GET for every key in one pipeline and checks every reply.
	pipeGets(ctx context.Context, keys []string) error
	close() error
}

// clientInfo names a client for flags and for the report.
type clientInfo struct {
	name  string // flag name
	title string // report column
	peer  bool   // not respool: gets a "respool / peer" ratio column
}

// clientList is every client the driver knows, in report order.
var clientList = []clientInfo{
	{name: "respool", title: "respool"},
	{name: "respool-exclusive", title: "respool Exclusive"},
	{name: "goredis", title: "go-redis", peer: true},
	{name: "goredis-auto", title: "go-redis AutoPipeline", peer: true},
	{name: "redigo", title: "redigo", peer: true},
	{name: "rueidis", title: "rueidis", peer: true},
}

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

// newRunner builds the named client for a workload run by goroutines
// goroutines against addr.
func newRunner(name, addr string, goroutines int) (runner, error) {
	switch name {
	case "respool":
		return newRespoolRunner(addr, false)
	case "respool-exclusive":
		return newRespoolRunner(addr, true)
	case "goredis":
		return newGoRedisRunner(addr, false)
	case "goredis-auto":
		return newGoRedisRunner(addr, true)
	case "redigo":
		return newRedigoRunner(addr, goroutines), nil
	case "rueidis":
		return newRueidisRunner(addr)
	}
	return nil, fmt.Errorf("compare: unknown client %q", name)
}

// checkPipeLen reports a pipeline that answered with the wrong number of replies.
func checkPipeLen(got, want int) error {
	if got != want {
		return fmt.Errorf("compare: pipeline returned %d replies for %d commands", got, want)
	}
	return nil
}
