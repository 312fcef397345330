package main

import "fmt"

// The client-side caching scenarios: GET through a cache (respool's
// Client.Cached, rueidis's DoCache, with the same ttl) against the same
// GET without one. Each goroutine reads the GET keyspace (1,000 keys of
// 16 bytes, cached after the first pass) and, once in every coldEvery
// calls, a key of its own that was never read and does not exist, which
// no cache holds: a miss. coldEvery 10 gives a 90% hit ratio, 100 a 99%
// one, 1 a miss on every call (the miss path's cost, to compare with
// the uncached GET of the same keys), 0 only hits.

// cacheTTL is the ttl both caches are given.
const cacheTTL = 10 * 60e9 // 10 minutes, in nanoseconds

// cacheClients run in the cache scenarios: the cached clients and the
// same libraries without a cache.
var cacheClients = []string{"respool-cache", "rueidis-cache", "respool", "rueidis"}

func cacheScenario(g, coldEvery int) scenario {
	name, title := "", ""
	switch coldEvery {
	case 0:
		name, title = fmt.Sprintf("cache-hit%d", g), fmt.Sprintf("cached GET, every call a hit, %s", goroutinesText(g))
	case 1:
		name, title = fmt.Sprintf("cache-miss%d", g), fmt.Sprintf("cached GET, every call a miss, %s", goroutinesText(g))
	default:
		pct := 100 - 100/coldEvery
		name, title = fmt.Sprintf("cache-get%d-h%d", g, pct), fmt.Sprintf("cached GET, %d%% hits, %s", pct, goroutinesText(g))
	}
	return scenario{name: name, title: title, kind: opGet, goroutines: g, valueSize: size16,
		clients: cacheClients, ours: "respool-cache", noReference: true, cache: true, coldEvery: coldEvery}
}

// cacheScenarios are appended to scenarios.
var cacheScenarios = []scenario{
	cacheScenario(1, 10), cacheScenario(16, 10), cacheScenario(256, 10),
	cacheScenario(1, 100), cacheScenario(16, 100), cacheScenario(256, 100),
	cacheScenario(256, 0),
	cacheScenario(1, 1), cacheScenario(16, 1),
}
