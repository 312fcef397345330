package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/respool/respool/resp"
	"github.com/respool/respool/respooltest"
)

func TestParseClusterSlots(t *testing.T) {
	node := func(host string, port int64) resp.Value {
		return resp.Array(resp.BulkString(host), resp.Integer(port), resp.BulkString("id"))
	}
	reply := resp.Array(
		resp.Array(resp.Integer(0), resp.Integer(5460), node("127.0.0.1", 7000), node("127.0.0.1", 7003)),
		resp.Array(resp.Integer(5461), resp.Integer(16383), node("::1", 7001)),
	)
	got, err := parseClusterSlots(reply)
	if err != nil {
		t.Fatal(err)
	}
	want := []slotRange{{0, 5460, "127.0.0.1:7000"}, {5461, 16383, "[::1]:7001"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	bad := resp.Array(resp.Array(resp.Integer(0), resp.Integer(hashSlots), node("h", 1)))
	if _, err := parseClusterSlots(bad); err == nil {
		t.Error("a range past the last slot was accepted")
	}
}

func TestClusterReferenceArgs(t *testing.T) {
	s, err := lookupScenario("cluster-get256")
	if err != nil {
		t.Fatal(err)
	}
	args := referenceArgs(s, "127.0.0.1", 7000, 5000)
	want := []string{"-h", "127.0.0.1", "-p", "7000", "-c", "256", "-n", "5000", "--cluster", "-t", "get", "-d", "16", "--csv"}
	if !slices.Equal(args, want) {
		t.Errorf("got %q, want %q", args, want)
	}
	if text := referenceCommandText(s, "N"); text != "redis-benchmark -h HOST -p PORT -c 256 -n N --cluster -t get -d 16 --csv" {
		t.Errorf("command text %q", text)
	}
}

// The cluster rows may be present or absent: the targets neither gain one
// for them nor lose any.
func TestTargetsWithClusterRows(t *testing.T) {
	count := func(names ...string) int {
		cfg := &config{clients: clientList}
		res := results{}
		for _, n := range names {
			s, err := lookupScenario(n)
			if err != nil {
				t.Fatal(err)
			}
			cfg.scenarios = append(cfg.scenarios, s)
			for _, c := range clientList {
				if s.runs(c.name) {
					res[runKey{n, c.name}] = []sample{{opsPerSec: 1000, bytesPerOp: 100}}
				}
			}
		}
		return len(evaluateTargets(cfg, res))
	}
	without := count("get256", "set256")
	if with := count("get256", "set256", "cluster-get256", "cluster-set256"); with != without {
		t.Errorf("%d targets with the cluster rows, %d without", with, without)
	}
	if only := count("cluster-get256", "cluster-set256"); only != without-1 {
		t.Errorf("%d targets with only the cluster rows, want %d (no bytes-per-GET target)", only, without-1)
	}
}

// One cluster checks the driver's key store and every cluster client: each
// writes and reads back keys of every primary.
func TestCluster(t *testing.T) {
	cl := respooltest.StartCluster(t)
	st, err := newClusterStore(cl.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(st.primaries) != 3 {
		t.Fatalf("%d primaries, want 3", len(st.primaries))
	}

	s, err := lookupScenario("cluster-get256")
	if err != nil {
		t.Fatal(err)
	}
	if err := preloadGetKeys(st, []int{s.valueSize}); err != nil {
		t.Fatal(err)
	}
	keys, values := keysAndValues(s)
	got, err := st.getKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	perPrimary := map[*rawConn]int{}
	for i, v := range got {
		if text, err := v.Str(); err != nil || text != values[i] {
			t.Fatalf("%s holds %s, want %q", keys[i], v.Format(), values[i])
		}
		perPrimary[st.owner[st.slots[keys[i]]]]++
	}
	if len(perPrimary) != 3 {
		t.Errorf("the keys landed on %d primaries, want 3", len(perPrimary))
	}

	set, err := lookupScenario("cluster-set256")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range clusterClients {
		t.Run(name, func(t *testing.T) {
			r, err := newRunner(name, runnerOptions{cluster: cl.Addrs(), goroutines: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := 0; i < len(keys); i += 97 {
				if v, err := r.get(ctx, keys[i]); err != nil || v != values[i] {
					t.Fatalf("GET %s = %q, %v; want %q", keys[i], v, err, values[i])
				}
			}
			if err := resetSetKeys(st, set); err != nil {
				t.Fatal(err)
			}
			setKeys, setValues := keysAndValues(set)
			for i := 0; i < len(setKeys); i += 97 {
				if v, err := r.set(ctx, setKeys[i], setValues[i]); err != nil || v != "OK" {
					t.Fatalf("SET %s = %q, %v", setKeys[i], v, err)
				}
			}
			chk, err := checkSetKeys(st, set)
			if err != nil {
				t.Fatal(err)
			}
			if want := (len(setKeys) + 96) / 97; chk.written != want || chk.wrong != 0 {
				t.Errorf("read back %+v, want %d written", chk, want)
			}
		})
	}
	if _, err := newRunner("redigo", runnerOptions{cluster: cl.Addrs()}); err == nil {
		t.Error("redigo built a cluster runner")
	}
}
