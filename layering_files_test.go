package respool

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The layers inside the root package, lowest first, as docs/ARCHITECTURE.md
// gives them. A file may use what its own layer and the layers below it
// declare (types, functions, variables, constants, methods and fields),
// never what a layer above declares: a connection knows no pool, the pool
// no multiplexer, and so on. The check type-checks the package, so a local
// name that happens to match a declaration elsewhere is not taken for it.
var fileLayers = []struct {
	name  string
	files []string // file names, or prefixes ending in '*'
}{
	{"foundation", []string{"options.go", "url.go", "errors.go", "version.go", "slice_pool.go", "logging.go", "credentials.go", "cache_options.go"}},
	{"wire", []string{"wire.go", "reply_direct.go", "conn.go", "conn_state.go", "conn_drain.go", "handshake.go", "dial.go", "alive_*", "sendawait_*", "sockio_*", "rawsys_*", "sockopt_*"}},
	{"pool", []string{"pool*", "leak.go"}},
	{"muxer", []string{"mux.go", "muxer.go", "mux_drain.go", "mux_large.go"}},
	{"client", []string{"cmd.go", "cmd_fast.go", "decode.go", "retry.go", "hooks.go", "job.go", "client.go", "cache.go", "cache_store.go"}},
	{"commands", []string{"client_fast.go", "commands_*", "pipeline.go", "tx.go", "scan.go", "pubsub*", "cached_*"}},
	{"topologies", []string{"cluster_*", "failover_*", "universal.go", "cmdable_iface.go", "connect.go"}},
}

// fileLayer returns the index of name's layer in fileLayers, or -1.
func fileLayer(name string) int {
	for i, l := range fileLayers {
		for _, f := range l.files {
			if f == name || (strings.HasSuffix(f, "*") && strings.HasPrefix(name, strings.TrimSuffix(f, "*"))) {
				return i
			}
		}
	}
	return -1
}

// upwardUses type-checks the root package's non-test files in dir and
// returns, sorted, every use of a declaration of a higher layer, as
// "file (layer) uses name from file (layer)", and the files no layer
// covers.
func upwardUses(t *testing.T, dir string) (uses, uncovered []string) {
	t.Helper()
	fset := token.NewFileSet()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, name); err != nil || !ok {
			continue // built on other platforms (alive_other.go...)
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		if fileLayer(name) < 0 {
			uncovered = append(uncovered, name)
		}
	}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	if _, err := conf.Check(modulePath, fset, files, info); err != nil {
		t.Fatalf("type-check the package: %v", err)
	}
	seen := map[string]bool{}
	for id, obj := range info.Uses {
		if obj.Pkg() == nil || obj.Pkg().Path() != modulePath || !obj.Pos().IsValid() {
			continue
		}
		if v, ok := obj.(*types.Var); ok && !v.IsField() && obj.Parent() != obj.Pkg().Scope() {
			continue // a local variable or parameter
		}
		if _, ok := obj.(*types.PkgName); ok {
			continue
		}
		from := filepath.Base(fset.Position(id.Pos()).Filename)
		to := filepath.Base(fset.Position(obj.Pos()).Filename)
		lf, lt := fileLayer(from), fileLayer(to)
		if lf < 0 || lt < 0 || lt <= lf {
			continue
		}
		u := fmt.Sprintf("%s (%s) uses %s from %s (%s)", from, fileLayers[lf].name, obj.Name(), to, fileLayers[lt].name)
		if !seen[u] {
			seen[u] = true
			uses = append(uses, u)
		}
	}
	sort.Strings(uses)
	return uses, uncovered
}

func TestLayeringInsideRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the package from source")
	}
	uses, uncovered := upwardUses(t, ".")
	for _, f := range uncovered {
		t.Errorf("%s is in no layer: add it to fileLayers and to docs/ARCHITECTURE.md", f)
	}
	for _, u := range uses {
		t.Errorf("layer order broken: %s", u)
	}
}

// The check finds a use that reaches up: a copy of the package in which the
// wire layer calls the pool.
func TestLayeringInsideRootCatchesViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the package from source")
	}
	dir := t.TempDir()
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "wire.go" {
			b = append(b, "\nfunc wireReachesUp(p *Pool) { p.Put(nil) }\n"...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	uses, _ := upwardUses(t, dir)
	for _, want := range []string{"wire.go (wire) uses Pool from pool.go (pool)", "wire.go (wire) uses Put from pool.go (pool)"} {
		if !slices.Contains(uses, want) {
			t.Errorf("the check missed %q; it found %q", want, uses)
		}
	}
}
