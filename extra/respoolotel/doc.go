// Package respoolotel traces and measures a respool client with
// OpenTelemetry. It is a module of its own, so that the respool module
// keeps importing only the standard library.
//
// InstrumentTracing adds a hook that makes one span per command, and one
// per pipeline or transaction; InstrumentMetrics adds a hook that records
// each one's duration, and observes the figures of the client's pools
// (PoolStats) whenever the meter collects. Both take a *respool.Client or
// a *respool.ClusterClient (whose figures are those of every node's pool):
//
//	c := respool.NewClient(&respool.Options{Addr: "127.0.0.1:6379"})
//	if err := respoolotel.InstrumentTracing(c); err != nil { ... }
//	if _, err := respoolotel.InstrumentMetrics(c); err != nil { ... }
//
// By default they use the global TracerProvider and MeterProvider
// (otel.GetTracerProvider, otel.GetMeterProvider); WithTracerProvider and
// WithMeterProvider choose others.
//
// # Spans
//
// Spans follow OpenTelemetry's semantic conventions for Redis: kind
// CLIENT, named after the operation, with
//
//	db.system.name            "redis"
//	db.operation.name         the command as the caller wrote it ("GET", "HSET"); for a pipeline
//	                          "BATCH <command>" when all its commands are the same, else "BATCH";
//	                          for a transaction (MULTI ... EXEC) "MULTI"
//	db.operation.batch.size   the number of commands of a pipeline or transaction (not set for one)
//	db.namespace              the database index, "0" for a cluster
//	server.address, server.port  the server of a Client (not set for a ClusterClient, whose hooks
//	                          run before a command is routed)
//	db.query.text             only with WithQueryText: the command with every argument
//	                          replaced by "?" (WithQueryTextFunc chooses what to show)
//
// A command that failed (a null reply, respool.Nil, is not a failure)
// ends its span with status Error and the error's text, and the attributes
// error.type (the server's error prefix, such as "WRONGTYPE"; "timeout";
// "canceled"; or the Go type of the error), db.response.status_code (the
// server's error prefix, for an error reply) and respool.outcome (what
// respool.OutcomeOf says of the error: "not sent", "rejected" or
// "unknown", which tells whether the command may have run). A pipeline's
// span is an error when one of its commands failed, with that command's
// attributes.
//
// # Metrics
//
// The hook records db.client.operation.duration (a histogram in seconds,
// with the span's attributes except db.query.text, and error.type for a
// failure). The pool instruments are observed from each pool's Stats:
//
//	db.client.connection.count             {connection}  by db.client.connection.state: idle, used
//	db.client.connection.max               {connection}  PoolSize
//	db.client.connection.pending_requests  {request}     Gets waiting for a connection
//	db.client.connection.timeouts          {timeout}     Gets that failed with a pool timeout
//	respool.pool.dialing                   {connection}  dials in flight
//	respool.pool.waits                     {wait}        Gets that had to wait
//	respool.pool.wait_time                 s             the time they waited, in total
//	respool.pool.dials                     {dial}        by respool.dial.reason: get, min_idle, shared
//	respool.pool.dial_errors               {dial}        dials that failed
//	respool.pool.closed                    {connection}  by respool.close.reason: idle_timeout,
//	                                                     lifetime, unusable, health_check, max_idle,
//	                                                     pool_closed
//	respool.pool.reauths                   {connection}  re-authentications after RotateCredentials
//	respool.pool.draining                  {connection}  connections being drained of the replies owed
//	                                                     to a caller that timed out (counted as used)
//	respool.pool.drains                    {drain}       drains ended, by respool.drain.result: drained
//	                                                     (the connection reused), failed (closed)
//
// each with db.system.name, db.client.connection.pool.name ("host:port/db")
// and server.address and server.port. A ClusterClient reports the pool of
// every node it uses; a FailoverClient, the pool of its primary (named
// after the master, "mymaster/0"), whichever server that is.
//
// # Cost
//
// The hooks make what they can once per operation name and kind of
// failure (attribute sets, span options), so that a command allocates only
// what the providers do. On the no-op providers a GET from many goroutines
// takes about a quarter longer with both hooks than without
// (BenchmarkGetParallel). The SDK itself costs more than a whole GET:
// BenchmarkSDKFloor, which starts and ends one span and records one
// duration with no client and no server, takes about 1.1 µs a command
// when every span is recorded and about 0.5 µs when 1% are
// (ParentBased(TraceIDRatioBased(0.01))), while respool's GET at 256
// goroutines takes about 1 µs, server included. No instrumentation on the
// SDK can cost less than that floor; under load, sample rather than
// record every command.
package respoolotel
