package main

import (
	"bytes"
	"os"
	"testing"

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
