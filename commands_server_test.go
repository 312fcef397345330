package respool

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

func TestServerCommands(t *testing.T) {
	t.Parallel()
	forEachProtocol(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		cmdWant(t, c.Ping(ctx), "PONG")
		cmdWant(t, c.Echo(ctx, "hello"), "hello")
		cmdWant(t, c.Echo(ctx, 12), "12")

		info := cmdVal(t, c.Info(ctx, "server"))
		if !strings.Contains(info, "redis_version:7.") || strings.Contains(info, "# Clients") {
			t.Fatalf("INFO server = %q", info)
		}
		im := cmdVal(t, c.InfoMap(ctx, "server", "clients"))
		if v := im["server"]["redis_version"]; !strings.HasPrefix(v, "7.") {
			t.Fatalf("InfoMap server.redis_version = %q (sections %v)", v, im)
		}
		if n, err := strconv.Atoi(im["clients"]["connected_clients"]); err != nil || n < 1 {
			t.Fatalf("InfoMap clients.connected_clients = %q", im["clients"]["connected_clients"])
		}
		if _, ok := im["memory"]; ok {
			t.Fatal("InfoMap returned a section that was not asked for")
		}

		if n := cmdVal(t, c.DBSize(ctx)); n < 0 {
			t.Fatalf("DBSIZE = %d", n)
		}
		// Both clocks belong to this machine: they agree to well within a minute.
		if st := cmdVal(t, c.Time(ctx)); time.Until(st).Abs() > time.Minute {
			t.Fatalf("TIME = %v, local clock %v", st, time.Now())
		}
		if n := cmdVal(t, c.CommandCount(ctx)); n < 200 {
			t.Fatalf("COMMAND COUNT = %d, want the 200+ commands of Redis 7", n)
		}
		cmdWant(t, c.ConfigGet(ctx, "maxmemory"), map[string]string{"maxmemory": "0"})
		if m := cmdVal(t, c.ConfigGet(ctx, "list-max-*")); m["list-max-listpack-size"] != "-2" {
			t.Fatalf("CONFIG GET list-max-* = %v", m)
		}

		k := testKey(t, "k")
		cmdWant(t, c.Set(ctx, k, strings.Repeat("x", 1000), 0), "OK")
		if n := cmdVal(t, c.MemoryUsage(ctx, k)); n < 1000 {
			t.Fatalf("MEMORY USAGE of a 1000-byte string = %d", n)
		}
		if n := cmdVal(t, c.MemoryUsage(ctx, k, 0)); n < 1000 {
			t.Fatalf("MEMORY USAGE SAMPLES 0 = %d", n)
		}
		cmdWantNil(t, c.MemoryUsage(ctx, testKey(t, "none")))

		// WAIT with no replicas: 0 at once for 0 replicas, 0 after the
		// timeout for 1.
		cmdWant(t, c.Wait(ctx, 0, 0), int64(0))
		cmdWant(t, c.Wait(ctx, 1, 50*time.Millisecond), int64(0))
	})
}

func TestClientCommands(t *testing.T) {
	t.Parallel()
	forEachProtocol(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		cmdWantNil(t, c.ClientGetName(ctx))

		// A one-connection client, so CLIENT ID and CLIENT INFO describe
		// the same connection.
		name := fmt.Sprintf("cmdtest-%d-%d", c.Options().Protocol, time.Now().UnixNano())
		one := newTestClient(t, &Options{PoolSize: 1, ClientName: name, Protocol: c.Options().Protocol})
		cmdWant(t, one.ClientGetName(ctx), name)
		id := cmdVal(t, one.ClientID(ctx))
		if id <= 0 {
			t.Fatalf("CLIENT ID = %d", id)
		}
		self := parseClientList(cmdVal(t, one.ClientInfo(ctx)))
		if len(self) != 1 || self[0]["id"] != strconv.FormatInt(id, 10) || self[0]["name"] != name {
			t.Fatalf("CLIENT INFO = %v, want id=%d name=%s", self, id, name)
		}
		if !slices.ContainsFunc(parseClientList(cmdVal(t, c.ClientList(ctx))), func(m map[string]string) bool {
			return m["id"] == self[0]["id"] && m["name"] == name
		}) {
			t.Fatalf("CLIENT LIST lacks id=%d name=%s", id, name)
		}

		cmdWant(t, c.ClientKill(ctx, ClientKillArgs{ID: id}), int64(1))
		cmdWant(t, c.ClientKill(ctx, ClientKillArgs{ID: id}), int64(0))
		if slices.ContainsFunc(parseClientList(cmdVal(t, c.ClientList(ctx))), func(m map[string]string) bool {
			return m["id"] == self[0]["id"]
		}) {
			t.Fatalf("CLIENT LIST still has id=%d after CLIENT KILL", id)
		}
		if got := c.ClientKill(ctx, ClientKillArgs{ID: 1 << 40, Type: "pubsub", Addr: "127.0.0.1:1", IncludeSelf: true}).Args(); !slices.Equal(got,
			[]any{"CLIENT", "KILL", "ID", int64(1 << 40), "TYPE", "pubsub", "ADDR", "127.0.0.1:1", "SKIPME", "no"}) {
			t.Fatalf("CLIENT KILL args = %v", got)
		}
	})
}

// TestServerAdminCommands runs what changes the whole server (flushing,
// configuration, saving, the slow log) on a private server.
func TestServerAdminCommands(t *testing.T) {
	t.Parallel()
	srv := respooltest.StartServer(t)
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprintf("resp%d", proto), func(t *testing.T) {
			// Not parallel: both subtests flush the same server.
			ctx := context.Background()
			c := newTestClient(t, &Options{Addr: srv.Addr, Protocol: proto})
			db1 := newTestClient(t, &Options{Addr: srv.Addr, Protocol: proto, DB: 1})

			cmdWant(t, c.FlushAll(ctx), "OK")
			cmdWant(t, c.DBSize(ctx), int64(0))
			cmdWantNil(t, c.RandomKey(ctx))
			cmdWant(t, c.MSet(ctx, "a", 1, "b", 2), "OK")
			cmdWant(t, db1.Set(ctx, "c", 3, 0), "OK")
			cmdWant(t, c.DBSize(ctx), int64(2))
			if k := cmdVal(t, c.RandomKey(ctx)); k != "a" && k != "b" {
				t.Fatalf("RANDOMKEY = %q", k)
			}
			cmdWant(t, c.FlushDB(ctx), "OK")
			cmdWant(t, c.DBSize(ctx), int64(0))
			cmdWant(t, db1.DBSize(ctx), int64(1))
			cmdWant(t, c.FlushAll(ctx), "OK")
			cmdWant(t, db1.DBSize(ctx), int64(0))
			cmdWant(t, c.Set(ctx, "a", 1, 0), "OK")
			cmdWant(t, c.FlushDBAsync(ctx), "OK")
			cmdWant(t, c.DBSize(ctx), int64(0))
			cmdWant(t, db1.Set(ctx, "c", 3, 0), "OK")
			cmdWant(t, c.FlushAllAsync(ctx), "OK")
			cmdWant(t, db1.DBSize(ctx), int64(0))

			// CONFIG SET/GET, and OBJECT FREQ once an LFU policy is on.
			cmdWant(t, c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lfu"), "OK")
			cmdWant(t, c.ConfigGet(ctx, "maxmemory-policy"), map[string]string{"maxmemory-policy": "allkeys-lfu"})
			cmdWant(t, c.Set(ctx, "hot", "v", 0), "OK")
			if f := cmdVal(t, c.ObjectFreq(ctx, "hot")); f < 0 || f > 255 {
				t.Fatalf("OBJECT FREQ = %d, want a counter in [0, 255]", f)
			}
			cmdWantNil(t, c.ObjectFreq(ctx, "cold"))
			cmdWantServerErr(t, c.ObjectIdleTime(ctx, "hot"), "ERR")
			cmdWant(t, c.ConfigSet(ctx, "maxmemory-policy", "noeviction"), "OK")
			cmdWantServerErr(t, c.ConfigSet(ctx, "no-such-parameter", "1"), "ERR")

			// CONFIG RESETSTAT zeroes the counters INFO shows.
			for range 5 {
				cmdWant(t, c.Ping(ctx), "PONG")
			}
			cmdWant(t, c.ConfigResetStat(ctx), "OK")
			stats := cmdVal(t, c.InfoMap(ctx, "stats"))["stats"]
			if n, err := strconv.Atoi(stats["total_commands_processed"]); err != nil || n > 2 {
				t.Fatalf("total_commands_processed after CONFIG RESETSTAT = %q", stats["total_commands_processed"])
			}

			// SLOWLOG: log every command, then find ours.
			cmdWant(t, c.ConfigSet(ctx, "slowlog-log-slower-than", "0"), "OK")
			cmdWant(t, c.SlowLogReset(ctx), "OK")
			cmdWant(t, c.Echo(ctx, "slow-marker"), "slow-marker")
			if n := cmdVal(t, c.SlowLogLen(ctx)); n < 1 {
				t.Fatalf("SLOWLOG LEN = %d", n)
			}
			entries := cmdVal(t, c.SlowLogGet(ctx, -1))
			i := slices.IndexFunc(entries, func(e SlowLogEntry) bool {
				return slices.Equal(e.Args, []string{"ECHO", "slow-marker"})
			})
			if i < 0 {
				t.Fatalf("SLOWLOG GET lacks ECHO slow-marker: %+v", entries)
			}
			if e := entries[i]; e.ClientAddr == "" || e.Time.IsZero() || e.Duration < 0 {
				t.Fatalf("SLOWLOG entry = %+v", e)
			}
			if got := cmdVal(t, c.SlowLogGet(ctx, 1)); len(got) != 1 {
				t.Fatalf("SLOWLOG GET 1 gave %d entries", len(got))
			}
			cmdWant(t, c.ConfigSet(ctx, "slowlog-log-slower-than", "10000"), "OK")
			cmdWant(t, c.SlowLogReset(ctx), "OK")
			cmdWant(t, c.SlowLogLen(ctx), int64(0))

			// SAVE moves LASTSAVE to now; BGSAVE starts in the background.
			before := cmdVal(t, c.LastSave(ctx))
			cmdWant(t, c.Save(ctx), "OK")
			after := cmdVal(t, c.LastSave(ctx))
			if after.Before(before) || time.Until(after).Abs() > time.Minute {
				t.Fatalf("LASTSAVE %v before SAVE, %v after", before, after)
			}
			cmdWant(t, c.BgSave(ctx), "Background saving started")
			waitBgSaveDone(t, c)
		})
	}
}

// waitBgSaveDone polls INFO persistence until no background save runs.
func waitBgSaveDone(t *testing.T, c *Client) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		p := cmdVal(t, c.InfoMap(context.Background(), "persistence"))["persistence"]
		if p["rdb_bgsave_in_progress"] == "0" {
			if p["rdb_last_bgsave_status"] != "ok" {
				t.Fatalf("background save failed: %v", p)
			}
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("background save still running after 10s")
		}
	}
}

func TestDecodeServerReplies(t *testing.T) {
	t.Parallel()
	b := resp.BulkString
	tm, err := decodeServerTime(resp.Array(b("1700000000"), b("250000")))
	if err != nil || !tm.Equal(time.Unix(1700000000, 250000000)) {
		t.Fatalf("decodeServerTime = %v, %v", tm, err)
	}
	for _, bad := range []resp.Value{resp.Array(b("1")), resp.Array(b("x"), b("1")), resp.Integer(1), resp.Null()} {
		if got, err := decodeServerTime(bad); err == nil {
			t.Errorf("decodeServerTime(%v) = %v, want an error", bad, got)
		}
	}

	e, err := decodeSlowLogEntry(resp.Array(resp.Integer(7), resp.Integer(1700000000), resp.Integer(1500),
		resp.Array(b("GET"), b("k")), b("127.0.0.1:5000"), b("app")))
	want := SlowLogEntry{ID: 7, Time: time.Unix(1700000000, 0), Duration: 1500 * time.Microsecond,
		Args: []string{"GET", "k"}, ClientAddr: "127.0.0.1:5000", ClientName: "app"}
	if err != nil || e.ID != want.ID || !e.Time.Equal(want.Time) || e.Duration != want.Duration ||
		!slices.Equal(e.Args, want.Args) || e.ClientAddr != want.ClientAddr || e.ClientName != want.ClientName {
		t.Fatalf("decodeSlowLogEntry = %+v, %v", e, err)
	}
	for _, bad := range []resp.Value{resp.Array(resp.Integer(7)), b("x"),
		resp.Array(b("x"), resp.Integer(1), resp.Integer(1), resp.Array())} {
		if got, err := decodeSlowLogEntry(bad); err == nil {
			t.Errorf("decodeSlowLogEntry(%v) = %+v, want an error", bad, got)
		}
	}

	info := parseInfo("# Server\r\nredis_version:7.0.15\r\nos:Linux 6.1 x86_64\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=0\r\n")
	if info["server"]["redis_version"] != "7.0.15" || info["server"]["os"] != "Linux 6.1 x86_64" ||
		info["keyspace"]["db0"] != "keys=1,expires=0" {
		t.Fatalf("parseInfo = %v", info)
	}
	if _, err := decodeInfoMap(resp.Array(b("x"))); err == nil {
		t.Fatal("decodeInfoMap accepted an array")
	}
}
