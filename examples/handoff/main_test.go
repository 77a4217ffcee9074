package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/hostid"
)

// TestMain lets the test binary play the child process: parent() re-runs
// os.Executable() with childArg.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		if err := child(os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString("handoff child: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestHandoff runs the example end to end in two real OS processes.
func TestHandoff(t *testing.T) {
	if _, err := hostid.MachineID(); err != nil {
		if os.Getenv("GOSSPI_REQUIRE_TIERS") == "1" {
			t.Fatalf("GOSSPI_REQUIRE_TIERS=1 and the host has no machine identity (.ci/run gives it one): %v", err)
		}
		t.Skipf("this host has no machine identity (%v); the host-bound machine needs one", err)
	}
	t.Setenv(hostid.KeyDirEnv, t.TempDir())
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		done <- b.Bytes()
	}()
	err = parent()
	os.Stdout = stdout
	w.Close()
	out := string(<-done)
	require.NoError(t, err, out)
	assert.Contains(t, out, `signed by CONTOSO\alice`)
	assert.Contains(t, out, "the old server handle is gone")
	assert.Contains(t, out, "a second import of the same blob is refused")
}

// BenchmarkHandoff is the whole example, parent and child process, on a
// host whose import ledger already holds live entries: what a user waits
// for when `go run ./examples/handoff` starts on a busy host. The entries
// are claims of other blobs exported now, the worst case for the ledger
// (they all share the current table).
func BenchmarkHandoff(b *testing.B) {
	if _, err := hostid.MachineID(); err != nil {
		b.Skipf("this host has no machine identity: %v", err)
	}
	for _, live := range []int{0, 10000, 100000} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			dir := b.TempDir()
			b.Setenv(hostid.KeyDirEnv, dir)
			l, err := hostid.OpenLedger(dir)
			require.NoError(b, err)
			now := time.Now()
			var id [12]byte
			id[0] = 'b'
			for i := 0; i < live; i++ {
				binary.LittleEndian.PutUint64(id[1:], uint64(i))
				ok, err := l.Claim(id[:], now)
				require.NoError(b, err)
				require.True(b, ok)
			}
			require.NoError(b, l.Close())
			devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			require.NoError(b, err)
			defer devnull.Close()
			stdout := os.Stdout
			os.Stdout = devnull
			defer func() { os.Stdout = stdout }()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := parent(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
