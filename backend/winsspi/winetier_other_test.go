//go:build !windows

package winsspi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// wineScript runs the Wine tier: the conformance suite, built for Windows,
// against Wine's real secur32.
const wineScript = "../../.ci/wine/run.sh"

// TestWineTier points at the Wine tier from a plain `go test ./...`.
//
// The tier installs Wine, MIT krb5 and Samba's ntlm_auth with apt, so it is
// not part of a plain run: it skips with directions. GOSSPI_WINE_TIER=1 runs
// it from here. Under GOSSPI_REQUIRE_TIERS=1 (which .ci/run sets) it never
// skips: .ci/run runs the tier before the tests, and this test fails if the
// Wine it needs is not installed.
func TestWineTier(t *testing.T) {
	switch {
	case os.Getenv("GOSSPI_WINE_TIER") == "1":
		script, err := filepath.Abs(wineScript)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", script)
		out, err := cmd.CombinedOutput()
		t.Logf("%s", out)
		if err != nil {
			t.Fatalf("the Wine tier failed: %v", err)
		}
	case os.Getenv("GOSSPI_REQUIRE_TIERS") == "1":
		if _, err := os.Stat("/usr/lib/wine/wine64"); err != nil {
			t.Fatalf("GOSSPI_REQUIRE_TIERS=1 but Wine is not installed (%v): .ci/run must run bash .ci/wine/run.sh before the tests", err)
		}
		t.Log("the Wine tier ran in .ci/run (bash .ci/wine/run.sh)")
	default:
		t.Skip("the conformance suite against the real SSPI runs as a separate tier under Wine: " +
			"run `bash .ci/wine/run.sh` (or `make wine`, or GOSSPI_WINE_TIER=1 go test -v -run WineTier ./backend/winsspi); " +
			"it installs Wine, MIT krb5 and Samba's ntlm_auth with apt, as root on Debian")
	}
}
