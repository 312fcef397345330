package respool

import (
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The layering of docs/ARCHITECTURE.md, enforced the way the Go tree's
// go/build/deps_test.go enforces its own: every package of the module may
// import only what its layer allows. Test files are free (they may import
// test kits and test-only libraries); the library's own files are not.

const modulePath = "github.com/respool/respool"

// layer is one row of the table: which packages it covers and what they may
// import besides the standard library.
type layer struct {
	name       string
	covers     func(pkg string) bool
	mayImport  func(imp string) bool
	thirdParty bool // may import modules outside the standard library
}

func isStd(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}

func under(pkg, dir string) bool {
	p := modulePath + "/" + dir
	return pkg == p || strings.HasPrefix(pkg, p+"/")
}

var layers = []layer{
	{
		name:      "resp (codec: standard library only)",
		covers:    func(pkg string) bool { return under(pkg, "resp") },
		mayImport: func(string) bool { return false },
	},
	{
		name:   "internal/... (pure logic: standard library, resp, other internal packages)",
		covers: func(pkg string) bool { return under(pkg, "internal") },
		mayImport: func(imp string) bool {
			return under(imp, "resp") || under(imp, "internal")
		},
	},
	{
		name:   "root package respool (standard library, resp, internal/...)",
		covers: func(pkg string) bool { return pkg == modulePath },
		mayImport: func(imp string) bool {
			return under(imp, "resp") || under(imp, "internal")
		},
	},
	{
		name:   "respooltest (test kit: standard library and resp)",
		covers: func(pkg string) bool { return under(pkg, "respooltest") },
		mayImport: func(imp string) bool {
			return under(imp, "resp")
		},
	},
	{
		name:       "cmd/... and examples/... (programs: anything)",
		covers:     func(pkg string) bool { return under(pkg, "cmd") || under(pkg, "examples") },
		mayImport:  func(string) bool { return true },
		thirdParty: true,
	},
}

// checkLayering returns one line per import that breaks the table; imports
// maps a package path to the imports of its non-test files.
func checkLayering(imports map[string][]string) []string {
	var bad []string
	for pkg, imps := range imports {
		var l *layer
		for i := range layers {
			if layers[i].covers(pkg) {
				l = &layers[i]
				break
			}
		}
		if l == nil {
			bad = append(bad, pkg+": not covered by any layer; add it to the table in layering_test.go and docs/ARCHITECTURE.md")
			continue
		}
		for _, imp := range imps {
			switch {
			case isStd(imp):
			case strings.HasPrefix(imp, modulePath+"/") || imp == modulePath:
				if !l.mayImport(imp) {
					bad = append(bad, pkg+" imports "+imp+": not allowed in layer "+l.name)
				}
			default:
				if !l.thirdParty {
					bad = append(bad, pkg+" imports "+imp+": third-party import not allowed in layer "+l.name)
				}
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// moduleImports parses the non-test Go files of the module rooted at dir
// (skipping nested modules such as bench/ and testdata) and returns each
// package's imports.
func moduleImports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := make(map[string][]string)
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != dir && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if p != dir {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // a module of its own
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if constraint.IsGoBuild(c.Text) {
					if expr, err := constraint.Parse(c.Text); err == nil && !expr.Eval(func(tag string) bool { return tag != "ignore" }) {
						return nil // a //go:build ignore program, not part of any package
					}
				}
			}
		}
		rel, err := filepath.Rel(dir, filepath.Dir(p))
		if err != nil {
			return err
		}
		pkg := modulePath
		if rel != "." {
			pkg = path.Join(modulePath, filepath.ToSlash(rel))
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		for _, is := range f.Imports {
			imp, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return err
			}
			out[pkg] = append(out[pkg], imp)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLayering(t *testing.T) {
	imports := moduleImports(t, ".")
	if _, ok := imports[modulePath+"/resp"]; !ok {
		t.Fatalf("package resp not found among %d packages: is the test running in the module root?", len(imports))
	}
	for _, line := range checkLayering(imports) {
		t.Error(line)
	}
}

// TestLayeringCatchesViolations is the test of the test: each import below
// breaks the table and must be reported.
func TestLayeringCatchesViolations(t *testing.T) {
	cases := []struct {
		pkg, imp string
	}{
		{modulePath + "/resp", modulePath},                                 // codec importing the client
		{modulePath + "/resp", modulePath + "/internal/cmdinfo"},           // codec importing internal
		{modulePath + "/resp", "github.com/redis/go-redis/v9"},             // third party in the codec
		{modulePath, "go.uber.org/goleak"},                                 // test library in the library
		{modulePath + "/internal/cmdinfo", modulePath},                     // internal importing the root
		{modulePath + "/respooltest", modulePath},                          // test kit importing the root
		{modulePath + "/respooltest", modulePath + "/internal/cluster"},    // test kit importing internal
		{modulePath + "/newpkg", "fmt"},                                    // a package nobody placed
		{modulePath + "/internal/cluster", "github.com/redis/rueidis/x/y"}, // third party in internal
	}
	for _, c := range cases {
		got := checkLayering(map[string][]string{c.pkg: {c.imp}})
		if len(got) != 1 {
			t.Errorf("%s importing %s: got %q, want one violation", c.pkg, c.imp, got)
		}
	}
	allowed := map[string][]string{
		modulePath:                       {"context", modulePath + "/resp", modulePath + "/internal/cmdinfo"},
		modulePath + "/resp":             {"io", "errors"},
		modulePath + "/internal/cmdinfo": {"strings"},
		modulePath + "/respooltest":      {"os/exec", modulePath + "/resp"},
		modulePath + "/cmd/respool":      {modulePath, "github.com/some/cli/lib"},
	}
	if got := checkLayering(allowed); len(got) != 0 {
		t.Errorf("allowed imports reported: %q", got)
	}
}

// TestExtraModulesAreSeparate checks that every directory under extra/ is a
// module of its own (so that the core's ./... and its imports leave it
// out), replacing the core with this tree, and that the core module
// requires none of their dependencies.
func TestExtraModulesAreSeparate(t *testing.T) {
	ents, err := os.ReadDir("extra")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		found++
		mod, err := os.ReadFile(filepath.Join("extra", e.Name(), "go.mod"))
		if err != nil {
			t.Errorf("extra/%s is not a module of its own: %v", e.Name(), err)
			continue
		}
		text := string(mod)
		if want := "module " + modulePath + "/extra/" + e.Name() + "\n"; !strings.HasPrefix(text, want) {
			t.Errorf("extra/%s/go.mod does not start with %q", e.Name(), want)
		}
		if !strings.Contains(text, "replace "+modulePath+" => ../..") {
			t.Errorf("extra/%s/go.mod does not replace %s with this tree", e.Name(), modulePath)
		}
	}
	if found == 0 {
		t.Fatal("no module under extra/")
	}
	for pkg := range moduleImports(t, ".") {
		if under(pkg, "extra") || under(pkg, "bench") {
			t.Errorf("%s is part of the core module", pkg)
		}
	}
	core, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range []string{"opentelemetry", "prometheus"} {
		if strings.Contains(string(core), dep) {
			t.Errorf("the core go.mod mentions %s: the extra modules' dependencies must stay theirs", dep)
		}
	}
}
