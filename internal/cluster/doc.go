// Package cluster holds the pure logic of a Redis Cluster client: the hash
// slot of a key (CRC16 with hash tags), the slot map parsed from CLUSTER
// SHARDS or CLUSTER SLOTS, the parsing of MOVED and ASK redirections, and
// the grouping of a multi-key command's keys by slot.
//
// Nothing here does I/O or starts goroutines, and apart from a Grouper's
// reusable buffers nothing keeps state between calls: the cluster client in package respool sends the commands, feeds the
// replies to these functions and owns the connections.
package cluster
