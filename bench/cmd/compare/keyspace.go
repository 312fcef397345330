package main

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/respool/respool/resp"
)

// The keyspaces. Every value is derived from its key, so a reply can be
// checked against the only value its key may hold:
//
//   - GET keys "bench:get<size>:NNNN" hold getValue(size, N), written by
//     the driver before the first run and never changed.
//   - SET keys "bench:set<size>:NNNN" are deleted before each SET run. In a
//     run with G goroutines, key N belongs to writer N mod G alone, which
//     writes setValue(size, N, N mod G); after the run the driver reads
//     every key back and checks it.
//
// A value is its seed ("g42|" or "s42w7|") repeated to the value's size,
// so a reply that belonged to another key, another writer or another size
// never matches.

// getKeyCount is how many GET keys a value size has: 1,000, or 100 for
// values over 64 KiB (10 MB at 100 KiB).
func getKeyCount(size int) int {
	if size > 64<<10 {
		return 100
	}
	return 1000
}

// setKeyCount is how many SET keys a run with goroutines writers uses: at
// least one per writer.
func setKeyCount(size, goroutines int) int {
	return max(getKeyCount(size), goroutines)
}

func getKey(size, i int) string { return fmt.Sprintf("bench:get%d:%04d", size, i) }
func setKey(size, i int) string { return fmt.Sprintf("bench:set%d:%04d", size, i) }

func getValue(size, i int) string { return repeatTo(fmt.Sprintf("g%d|", i), size) }

func setValue(size, i, writer int) string {
	return repeatTo(fmt.Sprintf("s%dw%d|", i, writer), size)
}

// repeatTo repeats seed and cuts the result to size bytes.
func repeatTo(seed string, size int) string {
	return strings.Repeat(seed, size/len(seed)+1)[:size]
}

// keysAndValues returns a scenario's keys and, for each, the value a GET
// must return (GET scenarios) or the value its writer SETs (SET scenarios).
func keysAndValues(s scenario) (keys, values []string) {
	if s.kind == opSet {
		n := setKeyCount(s.valueSize, s.goroutines)
		keys, values = make([]string, n), make([]string, n)
		for i := range keys {
			keys[i], values[i] = setKey(s.valueSize, i), setValue(s.valueSize, i, i%s.goroutines)
		}
		return keys, values
	}
	n := getKeyCount(s.valueSize)
	keys, values = make([]string, n), make([]string, n)
	for i := range keys {
		keys[i], values[i] = getKey(s.valueSize, i), getValue(s.valueSize, i)
	}
	return keys, values
}

// rawConn is a plain RESP connection for the driver's own set-up and
// checks, independent of every client under test.
type rawConn struct {
	conn net.Conn
	rd   *resp.Reader
	buf  []byte
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	return &rawConn{conn: c, rd: resp.NewReader(c)}, nil
}

func (c *rawConn) Close() error { return c.conn.Close() }

// queue adds one command to the next send.
func (c *rawConn) queue(args ...any) error {
	var err error
	c.buf, err = resp.AppendCommand(c.buf, args...)
	return err
}

// send writes the queued commands and reads their n replies. A server
// error reply becomes an error.
func (c *rawConn) send(n int) ([]resp.Value, error) {
	c.conn.SetDeadline(time.Now().Add(time.Minute))
	_, err := c.conn.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	out := make([]resp.Value, n)
	for i := range out {
		if out[i], err = c.rd.ReadValue(); err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		}
		if out[i].IsError() {
			return nil, fmt.Errorf("compare: server replied %s", out[i].Text())
		}
	}
	return out, nil
}

// do runs one command.
func (c *rawConn) do(args ...any) (resp.Value, error) {
	if err := c.queue(args...); err != nil {
		return resp.Value{}, err
	}
	v, err := c.send(1)
	if err != nil {
		return resp.Value{}, err
	}
	return v[0], nil
}

// preloadBatch is how many keys one MSET, MGET or UNLINK carries, or how
// many commands one pipelined send carries.
const preloadBatch = 100

// keyStore is where the driver writes, deletes and reads back the
// scenarios' keys, on connections of its own that no client under test
// shares: the single server (*rawConn) or the cluster's primaries
// (*clusterStore).
type keyStore interface {
	// setKeys writes values[i] to keys[i].
	setKeys(keys, values []string) error
	// unlinkKeys deletes keys.
	unlinkKeys(keys []string) error
	// getKeys reads keys, in order; a missing key is a null Value.
	getKeys(keys []string) ([]resp.Value, error)
}

var (
	_ keyStore = (*rawConn)(nil)
	_ keyStore = (*clusterStore)(nil)
)

// setKeys writes the keys with one MSET per preloadBatch keys.
func (c *rawConn) setKeys(keys, values []string) error {
	for start := 0; start < len(keys); start += preloadBatch {
		args := []any{"MSET"}
		for i := start; i < min(len(keys), start+preloadBatch); i++ {
			args = append(args, keys[i], values[i])
		}
		if _, err := c.do(args...); err != nil {
			return err
		}
	}
	return nil
}

// unlinkKeys deletes the keys with one UNLINK per preloadBatch keys.
func (c *rawConn) unlinkKeys(keys []string) error {
	for start := 0; start < len(keys); start += preloadBatch {
		if _, err := c.do(keyArgs("UNLINK", keys[start:min(len(keys), start+preloadBatch)])...); err != nil {
			return err
		}
	}
	return nil
}

// getKeys reads the keys with one MGET per preloadBatch keys.
func (c *rawConn) getKeys(keys []string) ([]resp.Value, error) {
	out := make([]resp.Value, 0, len(keys))
	for start := 0; start < len(keys); start += preloadBatch {
		end := min(len(keys), start+preloadBatch)
		v, err := c.do(keyArgs("MGET", keys[start:end])...)
		if err != nil {
			return nil, err
		}
		elems, err := v.Elems()
		if err != nil {
			return nil, err
		}
		if len(elems) != end-start {
			return nil, errors.New("compare: MGET returned the wrong number of values")
		}
		out = append(out, elems...)
	}
	return out, nil
}

// keyArgs is a command's name followed by keys, as arguments.
func keyArgs(name string, keys []string) []any {
	args := make([]any, 0, 1+len(keys))
	args = append(args, name)
	for _, k := range keys {
		args = append(args, k)
	}
	return args
}

// preloadGetKeys writes every GET key of the given value sizes.
func preloadGetKeys(st keyStore, sizes []int) error {
	for _, size := range sizes {
		n := getKeyCount(size)
		keys, values := make([]string, n), make([]string, n)
		for i := range n {
			keys[i], values[i] = getKey(size, i), getValue(size, i)
		}
		if err := st.setKeys(keys, values); err != nil {
			return fmt.Errorf("compare: preload: %w", err)
		}
	}
	return nil
}

// resetSetKeys deletes every SET key a scenario may write.
func resetSetKeys(st keyStore, s scenario) error {
	keys, _ := keysAndValues(s)
	return st.unlinkKeys(keys)
}

// setCheck is what reading back a SET scenario's keys found.
type setCheck struct {
	written int // keys holding their writer's value
	wrong   int // keys holding anything else
	first   string
}

// checkSetKeys reads back every key a SET run wrote. A key never written
// (a writer that did not get round to it) is neither written nor wrong.
func checkSetKeys(st keyStore, s scenario) (setCheck, error) {
	var res setCheck
	keys, values := keysAndValues(s)
	got, err := st.getKeys(keys)
	if err != nil {
		return res, err
	}
	for i, v := range got {
		if v.IsNull() {
			continue
		}
		text, err := v.Str()
		if err == nil && text == values[i] {
			res.written++
			continue
		}
		res.wrong++
		if res.first == "" {
			res.first = fmt.Sprintf("%s holds %.40q, want %.40q", keys[i], text, values[i])
		}
	}
	return res, nil
}

// serverVersion reads redis_version from INFO server.
func serverVersion(c *rawConn) (string, error) {
	v, err := c.do("INFO", "server")
	if err != nil {
		return "", err
	}
	text, err := v.Str()
	if err != nil {
		return "", fmt.Errorf("compare: INFO: %w", err)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "unknown", nil
}
