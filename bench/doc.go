// Package bench holds respool's side-by-side benchmarks against go-redis,
// redigo and rueidis. It is a module of its own so that respool itself
// never depends on its peers.
//
// The Go benchmarks (go test -bench . -benchmem) measure each client in
// one process against one private redis-server; cmd/compare runs every
// client in a process of its own (the cluster rows against a private
// 6-node cluster, with each library's cluster client) and prints Markdown
// tables. See README.md.
package bench
