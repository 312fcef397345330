// Package respooltest starts real Redis servers for tests: a standalone
// server, a 6-node cluster, or a sentinel set, each made of private
// redis-server processes on free 127.0.0.1 ports, in temporary directories of
// their own, stopped when the test ends.
//
// It is respool's own test kit and is public so that users can test their
// code against a real server the same way. It needs redis-server and
// redis-cli in PATH (Debian: apt-get install redis-server redis-tools
// redis-sentinel); without them, tests that call it are skipped, or fail when
// the environment variable CI is true (see RequireRedis). It runs on Unix
// systems; process-state checks in Pause and Resume use Linux's /proc when
// present.
//
// # What it starts
//
// StartServer runs
//
//	redis-server --port PORT --bind 127.0.0.1 --save "" --appendonly no
//	    --enable-debug-command local --repl-diskless-sync-delay 0
//	    --dir DIR [extra flags]
//
// and returns once the server answers. Nothing is persisted, DEBUG commands
// (DEBUG SLEEP, DEBUG SET-ACTIVE-EXPIRE ...) work, and a replica started
// with --replicaof syncs at once instead of after the default 5 s delay. Extra flags come
// from WithArgs; a password given with --requirepass is used by the Server's
// own helpers (CLI, Info).
//
// StartCluster runs 6 such servers with --cluster-enabled yes and
// --cluster-node-timeout 2000, joins them
// with `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`
// (3 primaries, 3 replicas) and returns once every node reports
// cluster_state:ok, all 16384 slots are served and every replica's link is
// up. It takes about 2 s: Redis keeps a new primary from reporting
// cluster_state:ok during its first 2 s.
//
// StartSentinel runs a primary, a replica of it, and 3 sentinels
// (`redis-server sentinel.conf --sentinel`, each with its own writable
// config) monitoring the primary as "mymaster" with a quorum of 2,
// down-after-milliseconds 1000 and failover-timeout 5000, and returns once
// the sentinels know each other and agree on the primary (a few seconds:
// sentinels announce themselves every 2 s).
//
// # TLS
//
// NewTLSFiles writes a private certificate authority, a server certificate
// for 127.0.0.1, ::1 and localhost, and a client certificate as PEM files;
// WithTLS(files, requireClientCert) makes StartServer also listen for TLS
// on Server.TLSAddr with them (the plain port stays open for the kit's
// helpers), and files.ClientConfig gives a client the matching
// *tls.Config.
//
// # Faults
//
// A Server can be killed (Kill, SIGKILL), restarted on the same port with the
// same flags (Restart), paused (Pause, SIGSTOP) and resumed (Resume,
// SIGCONT). Cluster.WaitHealthy and Sentinel.WaitPrimary wait for the
// failover that follows. Processes are signalled by PID (each runs in a
// process group of its own), never by name, and always reaped.
//
// A FaultProxy sits between a client and a real server and injects the
// network's failures on demand: drop or reset every connection, refuse new
// ones, stall, delay (with jitter) or blackhole a direction, cut a
// connection after n bytes with FIN or RST, re-chunk the stream down to one
// byte per write, inject bytes before the next reply, hold a named reply
// after n of its bytes, or cut a connection right after a named command
// reached the server (the server applied it; the client never sees the
// reply). It follows RESP in both directions, counts the commands that
// really reached the server, so a test knows the ground truth, and offers
// events to wait on (WaitCommand, WaitReplyStarted, WaitReplyReceived).
//
// A FakeServer is a scripted RESP server for what a real server never
// does: hostile or malformed replies, an error on connect, a reply cut at
// a chosen byte. FakeDefaults answers the handshake like a real server.
//
// # Sharing a cluster across a suite
//
// StartCluster and friends tie a deployment to one test. To start one cluster
// for a whole package, use NewCluster (or NewServer, NewSentinel) in
// TestMain and close it after the tests ran:
//
//	var cluster *respooltest.Cluster
//
//	func TestMain(m *testing.M) {
//		var err error
//		cluster, err = respooltest.NewCluster()
//		if err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//		code := m.Run()
//		cluster.Close()
//		os.Exit(code)
//	}
//
//	func TestSomething(t *testing.T) {
//		cluster.WaitHealthy(t) // in case an earlier test caused a failover
//		...
//	}
//
// Tests sharing a deployment should use keys of their own (for example
// prefixed with t.Name()) and leave the topology as they found it, or wait
// for it to heal.
package respooltest
