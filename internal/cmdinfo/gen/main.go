// Command gen writes commands_gen.go, the cmdinfo command table, from the
// COMMAND INFO and COMMAND DOCS replies of a private redis-server it starts
// on a free loopback port and stops when done.
//
// Run it through go generate from the cmdinfo directory:
//
//	go generate ./internal/cmdinfo
//
// Flags: -o names the output file (default commands_gen.go), -server the
// redis-server binary (default: redis-server on PATH), -addr uses an
// already running server instead of starting one.
//
// It speaks RESP3 with the small reader in resp.go rather than the
// project's resp package, so that the table can be regenerated even when the
// rest of the module does not build.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("cmdinfo/gen: ")
	out := flag.String("o", "commands_gen.go", "output file")
	serverBin := flag.String("server", "redis-server", "redis-server binary to start")
	addr := flag.String("addr", "", "use the server at this address instead of starting one")
	flag.Parse()

	if *addr == "" {
		srv, err := startServer(*serverBin)
		if err != nil {
			log.Fatal(err)
		}
		defer srv.stop()
		*addr = srv.addr
	}
	src, err := generate(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

// server is a redis-server process started by the generator.
type server struct {
	addr string
	dir  string
	cmd  *exec.Cmd
}

func startServer(bin string) (*server, error) {
	dir, err := os.MkdirTemp("", "cmdinfo-gen-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &server{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir}
	s.cmd = exec.Command(bin, "--save", "", "--appendonly", "no",
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("redis-server on %s did not start: %w", s.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// command is one COMMAND INFO entry merged with its COMMAND DOCS entry.
type command struct {
	name                    string
	arity                   int
	flags                   []string
	acl                     []string
	firstKey, lastKey, step int
	tips                    []string
	specs                   []keySpec
	subcommands             []string
	summary, group, since   string
	deprecated              bool
}

type keySpec struct {
	flags              []string
	begin              string // index, keyword, unknown
	index              int
	keyword            string
	startFrom          int
	find               string // range, keynum, unknown
	lastKey, keyStep   int
	limit              int
	keyNumIdx, firstKy int
}

func generate(addr string) ([]byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &client{w: conn, r: bufio.NewReader(conn)}

	if _, err := c.do("HELLO", "3"); err != nil {
		return nil, err
	}
	hello, err := c.do("INFO", "server")
	if err != nil {
		return nil, err
	}
	version := infoField(hello.str, "redis_version")
	infos, err := c.do("COMMAND", "INFO")
	if err != nil {
		return nil, err
	}
	docs, err := c.do("COMMAND", "DOCS")
	if err != nil {
		return nil, err
	}

	byName := map[string]*command{}
	for _, e := range infos.elems {
		if err := parseInfo(e, byName); err != nil {
			return nil, err
		}
	}
	if err := parseDocs(docs, byName); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	cmds := make([]*command, len(names))
	for i, n := range names {
		cmds[i] = byName[n]
	}
	return render(version, cmds)
}

func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// parseInfo reads one COMMAND INFO entry, and its subcommands, into byName.
func parseInfo(v value, byName map[string]*command) error {
	e := v.elems
	if v.kind != '*' || len(e) < 10 {
		return fmt.Errorf("unexpected COMMAND INFO entry %v", v)
	}
	c := &command{
		name:     strings.ToLower(e[0].str),
		arity:    int(e[1].num),
		flags:    strs(e[2]),
		firstKey: int(e[3].num),
		lastKey:  int(e[4].num),
		step:     int(e[5].num),
		tips:     strs(e[7]),
	}
	for _, a := range strs(e[6]) {
		c.acl = append(c.acl, strings.TrimPrefix(a, "@"))
	}
	for _, s := range e[8].elems {
		ks, err := parseKeySpec(s)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		c.specs = append(c.specs, ks)
	}
	for _, sub := range e[9].elems {
		if err := parseInfo(sub, byName); err != nil {
			return err
		}
		c.subcommands = append(c.subcommands, strings.ToLower(sub.elems[0].str))
	}
	slices.Sort(c.subcommands)
	if _, dup := byName[c.name]; dup {
		return fmt.Errorf("command %q listed twice", c.name)
	}
	byName[c.name] = c
	return nil
}

func parseKeySpec(v value) (keySpec, error) {
	var ks keySpec
	m := v.fields()
	ks.flags = strs(m["flags"])
	bs, fk := m["begin_search"].fields(), m["find_keys"].fields()
	ks.begin, ks.find = bs["type"].str, fk["type"].str
	bspec, fspec := bs["spec"].fields(), fk["spec"].fields()
	switch ks.begin {
	case "index":
		ks.index = int(bspec["index"].num)
	case "keyword":
		ks.keyword = bspec["keyword"].str
		ks.startFrom = int(bspec["startfrom"].num)
	case "unknown":
	default:
		return ks, fmt.Errorf("unknown begin_search type %q", ks.begin)
	}
	switch ks.find {
	case "range":
		ks.lastKey = int(fspec["lastkey"].num)
		ks.keyStep = int(fspec["keystep"].num)
		ks.limit = int(fspec["limit"].num)
	case "keynum":
		ks.keyNumIdx = int(fspec["keynumidx"].num)
		ks.firstKy = int(fspec["firstkey"].num)
		ks.keyStep = int(fspec["keystep"].num)
	case "unknown":
	default:
		return ks, fmt.Errorf("unknown find_keys type %q", ks.find)
	}
	return ks, nil
}

// parseDocs merges a COMMAND DOCS map (name => fields, with nested
// "subcommands" maps) into byName.
func parseDocs(v value, byName map[string]*command) error {
	if v.kind != '%' {
		return fmt.Errorf("COMMAND DOCS: expected a map, got %q", v.kind)
	}
	for i := 0; i+1 < len(v.elems); i += 2 {
		name := strings.ToLower(v.elems[i].str)
		c, ok := byName[name]
		if !ok {
			return fmt.Errorf("COMMAND DOCS lists %q, COMMAND INFO does not", name)
		}
		d := v.elems[i+1].fields()
		c.summary = d["summary"].str
		c.group = d["group"].str
		c.since = d["since"].str
		c.deprecated = slices.Contains(strs(d["doc_flags"]), "deprecated")
		if subs, ok := d["subcommands"]; ok {
			if err := parseDocs(subs, byName); err != nil {
				return err
			}
		}
	}
	return nil
}

// The Go names of the server's flags. A flag missing here stops the
// generator: add it to flags.go and here.
var flagIdents = map[string]string{
	"write": "Write", "readonly": "ReadOnly", "denyoom": "DenyOOM",
	"module": "Module", "admin": "Admin", "pubsub": "PubSub",
	"noscript": "NoScript", "blocking": "Blocking", "loading": "Loading",
	"stale": "Stale", "skip_monitor": "SkipMonitor", "skip_slowlog": "SkipSlowlog",
	"asking": "Asking", "fast": "Fast", "no_auth": "NoAuth",
	"may_replicate": "MayReplicate", "sentinel": "Sentinel",
	"only_sentinel": "OnlySentinel", "no_mandatory_keys": "NoMandatoryKeys",
	"protected": "Protected", "no_async_loading": "NoAsyncLoading",
	"no_multi": "NoMulti", "movablekeys": "Movablekeys", "allow_busy": "AllowBusy",
	"module_getkeys": "ModuleGetKeys", "module_no_cluster": "ModuleNoCluster",
}

var keyFlagIdents = map[string]string{
	"RO": "KeyRO", "RW": "KeyRW", "OW": "KeyOW", "RM": "KeyRM",
	"access": "KeyAccess", "update": "KeyUpdate", "insert": "KeyInsert",
	"delete": "KeyDelete", "not_key": "KeyNotKey", "incomplete": "KeyIncomplete",
	"variable_flags": "KeyVariableFlags",
}

func idents(names []string, table map[string]string, what string) (string, error) {
	if len(names) == 0 {
		return "0", nil
	}
	ids := make([]string, len(names))
	for i, n := range names {
		id, ok := table[n]
		if !ok {
			return "", fmt.Errorf("unknown %s %q: add it to flags.go and gen/main.go", what, n)
		}
		ids[i] = id
	}
	return strings.Join(ids, " | "), nil
}

func render(version string, cmds []*command) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by gen; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "// From the COMMAND INFO and COMMAND DOCS replies of redis-server %s.\n\n", version)
	b.WriteString("package cmdinfo\n\n")
	b.WriteString("// ServerVersion is the version of the redis-server the table was generated from.\n")
	fmt.Fprintf(&b, "const ServerVersion = %q\n\n", version)
	b.WriteString("// commands holds every command and subcommand, sorted by name.\n")
	b.WriteString("var commands = []Info{\n")
	for _, c := range cmds {
		flags, err := idents(c.flags, flagIdents, "command flag")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Fprintf(&b, "{\nName: %q,\nArity: %d,\n", c.name, c.arity)
		if flags != "0" {
			fmt.Fprintf(&b, "Flags: %s,\n", flags)
		}
		if len(c.acl) > 0 {
			fmt.Fprintf(&b, "ACLCategories: %s,\n", strList(c.acl))
		}
		if c.firstKey != 0 || c.lastKey != 0 || c.step != 0 {
			fmt.Fprintf(&b, "FirstKey: %d,\nLastKey: %d,\nStep: %d,\n", c.firstKey, c.lastKey, c.step)
		}
		if len(c.specs) > 0 {
			b.WriteString("KeySpecs: []KeySpec{\n")
			for _, ks := range c.specs {
				kf, err := idents(ks.flags, keyFlagIdents, "key spec flag")
				if err != nil {
					return nil, fmt.Errorf("%s: %w", c.name, err)
				}
				fmt.Fprintf(&b, "{Flags: %s, ", kf)
				switch ks.begin {
				case "index":
					fmt.Fprintf(&b, "BeginSearch: BeginIndex, Index: %d, ", ks.index)
				case "keyword":
					fmt.Fprintf(&b, "BeginSearch: BeginKeyword, Keyword: %q, StartFrom: %d, ", ks.keyword, ks.startFrom)
				default:
					b.WriteString("BeginSearch: BeginUnknown, ")
				}
				switch ks.find {
				case "range":
					fmt.Fprintf(&b, "FindKeys: FindRange, LastKey: %d, KeyStep: %d, Limit: %d", ks.lastKey, ks.keyStep, ks.limit)
				case "keynum":
					fmt.Fprintf(&b, "FindKeys: FindKeynum, KeyNumIdx: %d, FirstKey: %d, KeyStep: %d", ks.keyNumIdx, ks.firstKy, ks.keyStep)
				default:
					b.WriteString("FindKeys: FindUnknown")
				}
				b.WriteString("},\n")
			}
			b.WriteString("},\n")
		}
		if len(c.tips) > 0 {
			fmt.Fprintf(&b, "Tips: %s,\n", strList(c.tips))
		}
		if len(c.subcommands) > 0 {
			fmt.Fprintf(&b, "Subcommands: %s,\n", strList(c.subcommands))
		}
		fmt.Fprintf(&b, "Summary: %q,\nGroup: %q,\nSince: %q,\n", c.summary, c.group, c.since)
		if c.deprecated {
			b.WriteString("Deprecated: true,\n")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, errors.Join(errors.New("generated code does not parse"), err)
	}
	return src, nil
}

func strList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}
