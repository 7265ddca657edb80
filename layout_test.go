package meridian_test

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/meridiankv/meridian"

// ladder lists, for each top-level folder, the folders of ours its packages
// may import (STYLE.md): dependencies point one way, down.
var ladder = map[string][]string{
	"":            nil, // the root holds only these tests
	"crdt":        nil,
	"ring":        nil,
	"wire":        {"crdt"},
	"storage":     {"crdt", "wire"},
	"sync":        {"crdt", "wire"},
	"client":      {"crdt", "wire"},
	"region":      {"crdt", "ring", "wire", "storage", "sync", "client"},
	"simulations": {"crdt", "ring", "wire", "storage", "sync", "region", "client"},
	"cmd":         {"crdt", "ring", "wire", "storage", "sync", "region", "client"},
}

// testTools are packages of checkers that the tests of any folder may
// import, whatever the ladder says: they import nothing of ours but wire,
// and nothing but tests imports them.
var testTools = []string{module + "/simulations/linear"}

// pure folders do no I/O, read no clock and start no goroutines.
var pure = []string{"crdt", "ring", "wire", "sync", "region/membership"}

// pureFolder returns the pure folder path is in, or "".
func pureFolder(path string) string {
	path = filepath.ToSlash(path)
	for _, p := range pure {
		if strings.HasPrefix(path, p+"/") {
			return p
		}
	}
	return ""
}

// narrow lists, for pure folders below the top level, the only folders of
// ours they may import, and they may import nothing from outside the module
// but the standard library: the membership logic the simulator drives must
// not reach memberlist or a socket.
var narrow = map[string][]string{
	"region/membership": {"crdt", "ring", "sync", "wire"},
}

type listedPackage struct {
	ImportPath, Dir                    string
	Imports, TestImports, XTestImports []string
	GoFiles, TestGoFiles, XTestGoFiles []string
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// folder returns the top-level folder of one of our import paths and true,
// or false for a path outside the module.
func folder(path string) (string, bool) {
	if path == module {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return "", false
	}
	top, _, _ := strings.Cut(rest, "/")
	return top, true
}

func TestDependencyLadder(t *testing.T) {
	for _, p := range listPackages(t) {
		from, _ := folder(p.ImportPath)
		allowed, known := ladder[from]
		if !known {
			t.Errorf("%s: top-level folder %q is not on the dependency ladder in layout_test.go; add it there and to STYLE's map", p.ImportPath, from)
			continue
		}
		for i, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
			to, ours := folder(imp)
			if !ours || to == from || imp == p.ImportPath {
				continue
			}
			if i >= len(p.Imports) && slices.Contains(testTools, imp) {
				continue // a checker, in a test
			}
			if slices.Contains(testTools, p.ImportPath) && imp != module+"/wire" {
				t.Errorf("%s imports %s: a test tool may import only wire of ours", p.ImportPath, imp)
			}
			if !slices.Contains(allowed, to) {
				t.Errorf("%s imports %s: %s may import only %v of ours", p.ImportPath, imp, from, allowed)
			}
		}
	}
}

// TestSyncImportedAsKvsync: our sync package shadows the standard
// library's, so every import of it must be named kvsync.
func TestSyncImportedAsKvsync(t *testing.T) {
	eachFile(t, func(path string, f *ast.File) {
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == module+"/sync" && (imp.Name == nil || imp.Name.Name != "kvsync") {
				t.Errorf("%s imports %s without the alias kvsync", path, p)
			}
		}
	})
}

// forbidden names calls that read the clock, sleep or draw unseeded
// randomness; they belong at the edges, not in the pure packages.
var forbidden = map[string][]string{
	"time": {"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "Tick", "NewTimer", "NewTicker"},
	"rand": {"Int", "IntN", "Int32", "Int32N", "Int64", "Int64N", "Uint32", "Uint64", "Float32", "Float64", "N", "Perm", "Shuffle", "Intn", "Int31", "Int31n", "Int63", "Int63n", "Read", "Seed", "ExpFloat64", "NormFloat64", "UintN", "Uint32N", "Uint64N"},
}

var impure = []string{"os", "net", "net/http", "syscall", "os/exec", "io/ioutil"}

func TestPurePackagesDoNoIO(t *testing.T) {
	eachFile(t, func(path string, f *ast.File) {
		top := pureFolder(path)
		if top == "" || strings.HasSuffix(path, "_test.go") {
			return
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if slices.Contains(impure, p) {
				t.Errorf("%s imports %s: %s must do no I/O", path, p, top)
			}
			allowed, ok := narrow[top]
			if !ok {
				continue
			}
			if to, ours := folder(p); ours && !slices.Contains(allowed, to) || !ours && strings.Contains(strings.Split(p, "/")[0], ".") {
				t.Errorf("%s imports %s: %s may import only the standard library and %v of ours", path, p, top, allowed)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: a go statement: %s must start no goroutines", path, top)
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && slices.Contains(forbidden[id.Name], n.Sel.Name) {
					t.Errorf("%s calls %s.%s: pass time and randomness in", path, id.Name, n.Sel.Name)
				}
			}
			return true
		})
	})
}

// eachFile parses every Go file of the module (test files included).
func eachFile(t *testing.T, fn func(path string, f *ast.File)) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		fn(path, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
