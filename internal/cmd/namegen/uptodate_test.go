package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCheckedInUpToDate regenerates, in memory, every file that a
// //go:generate line in this module makes with namegen, and fails if the
// checked-in file differs: someone edited a constant and did not run
// go generate. It reads the go:generate lines themselves, so the check and
// the command cannot disagree on the arguments.
func TestCheckedInUpToDate(t *testing.T) {
	root := moduleRoot(t)
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// The go tool ignores these directories too.
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		for _, args := range namegenLines(t, p) {
			dir := filepath.Dir(p)
			rel, _ := filepath.Rel(root, dir)
			rel = filepath.ToSlash(rel)
			found[rel] = true
			checkUpToDate(t, dir, rel, args)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The packages namegen was written for; were none found, the walk and
	// not the files would be broken.
	for _, pkg := range []string{"flags", "backend"} {
		if !found[pkg] {
			t.Errorf("no namegen //go:generate line found in %s/", pkg)
		}
	}
}

// checkUpToDate compares what namegen makes of args in dir with the file
// checked in there.
func checkUpToDate(t *testing.T, dir, rel string, args []string) {
	t.Helper()
	output, want, err := run(dir, args, io.Discard)
	if err != nil {
		t.Errorf("%s: namegen %s: %v", rel, strings.Join(args, " "), err)
		return
	}
	got, err := os.ReadFile(filepath.Join(dir, output))
	if err != nil {
		t.Errorf("%s: %v (run go generate ./%s)", rel, err, rel)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s/%s is stale: run go generate ./%s and commit it\nfirst difference: %s", rel, output, rel, firstDiff(got, want))
	}
}

// namegenLines returns the arguments of every //go:generate line in file
// that runs namegen.
func namegenLines(t *testing.T, file string) [][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "//go:generate ")
		if !ok {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "go" || fields[1] != "run" || path.Base(fields[2]) != "namegen" {
			continue
		}
		// go generate would expand quotes and $NAME; splitting on spaces
		// matches it only when there are none.
		if strings.ContainsAny(line, "\"`$") {
			t.Errorf("%s: keep namegen's //go:generate line free of quotes and $: %s", file, line)
			continue
		}
		out = append(out, fields[3:])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// moduleRoot is the directory above this one that holds go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// firstDiff describes the first line on which got and want differ.
func firstDiff(got, want []byte) string {
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		gl, wl := "(end of file)", "(end of file)"
		if i < len(g) {
			gl = strconv.Quote(g[i])
		}
		if i < len(w) {
			wl = strconv.Quote(w[i])
		}
		if gl != wl {
			return fmt.Sprintf("line %d: checked in %s, generated %s", i+1, gl, wl)
		}
	}
	return "none"
}
