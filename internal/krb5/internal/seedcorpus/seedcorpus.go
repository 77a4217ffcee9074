// Package seedcorpus keeps the fuzz seed corpora of the krb5 packages in
// testdata/fuzz, in the file format of go test -fuzz. A fuzz target adds
// its seeds with f.Add as usual and passes them to Sync too; with
// -update-seeds (go test -run '^Fuzz' . -args -update-seeds) they are written
// out, so that the committed corpus follows the message formats.
package seedcorpus

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update-seeds", false, "write the fuzz seeds of the krb5 packages to testdata/fuzz")

// Sync adds each seed to f and, with -update-seeds, writes it to
// testdata/fuzz/<target>/<name>, named by its content so that rewriting
// the same seed changes nothing.
func Sync(f *testing.F, seeds ...[]byte) {
	f.Helper()
	for _, s := range seeds {
		f.Add(s)
	}
	if !*update {
		return
	}
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		sum := sha256.Sum256(s)
		name := "seed-" + hex.EncodeToString(sum[:8])
		data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			f.Fatal(err)
		}
	}
}
