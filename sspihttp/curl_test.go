package sspihttp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireTool finds an external program. Where it is missing the test
// skips, unless GOSSPI_REQUIRE_TIERS=1 (as CI sets), where it fails.
func requireTool(t *testing.T, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("GOSSPI_REQUIRE_TIERS") == "1" {
		t.Fatalf("GOSSPI_REQUIRE_TIERS=1 but %s is missing (%v): %s", name, err, why)
	}
	t.Skipf("%s not found; install it or run `bash .ci/http-tier.sh` to run this test", name)
	return ""
}

// curl runs curl with args and returns its standard output.
func curl(t *testing.T, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"-sS", "--max-time", "20"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "curl %v: %s", args, stderr.String())
	return string(out)
}

// TestCurlNTLM authenticates a real curl against the middleware with NTLM:
// two requests on one connection (the second served by the kept
// identity), a POST whose body curl sends again, and a wrong password.
func TestCurlNTLM(t *testing.T) {
	path := requireTool(t, "curl", "the real-curl NTLM test needs it")
	if !strings.Contains(curl(t, path, "--version"), "NTLM") {
		if os.Getenv("GOSSPI_REQUIRE_TIERS") == "1" {
			t.Fatal("GOSSPI_REQUIRE_TIERS=1 but this curl has no NTLM")
		}
		t.Skip("this curl was built without NTLM")
	}
	e := newEnv(t, envOpts{})
	user := testDomain + `\` + testUser + ":" + testPassword

	out := curl(t, path, "--ntlm", "-u", user, "-w", "|%{http_code}\n", e.ts.URL+"/a", e.ts.URL+"/b")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	for _, l := range lines {
		assert.True(t, strings.HasPrefix(l, `CONTOSO\alice|NTLM|NTLM|`), l)
		assert.True(t, strings.HasSuffix(l, "|200"), l)
	}
	codes := e.statuses.take()
	t.Logf("server answered %v", codes)
	assert.Equal(t, 200, codes[len(codes)-1])
	assert.Equal(t, []int{200, 200}, codes[len(codes)-2:], "the second request rides on the connection's identity: %v", codes)

	out = curl(t, path, "--ntlm", "-u", user, "-d", "posted", "-w", "|%{http_code}", e.ts.URL)
	assert.True(t, strings.HasSuffix(out, "|posted|200"), out)

	out = curl(t, path, "--ntlm", "-u", testDomain+`\`+testUser+":wrong", "-o", os.DevNull, "-w", "%{http_code}", e.ts.URL)
	assert.Equal(t, "401", out)
}

// TestCurlNegotiate authenticates a real curl with Negotiate: MIT GSSAPI's
// SPNEGO over gss-ntlmssp, whose NTLM credentials come from the file
// NTLM_USER_FILE names. It needs a curl with SPNEGO and the gss-ntlmssp
// mechanism (Debian: gss-ntlmssp); .ci/http-tier.sh installs both.
func TestCurlNegotiate(t *testing.T) {
	path := requireTool(t, "curl", "the real-curl Negotiate test needs it")
	if !strings.Contains(curl(t, path, "--version"), "SPNEGO") {
		if os.Getenv("GOSSPI_REQUIRE_TIERS") == "1" {
			t.Fatal("GOSSPI_REQUIRE_TIERS=1 but this curl has no SPNEGO")
		}
		t.Skip("this curl was built without SPNEGO")
	}
	if m, _ := filepath.Glob("/etc/gss/mech.d/*ntlmssp*"); len(m) == 0 {
		if os.Getenv("GOSSPI_REQUIRE_TIERS") == "1" {
			t.Fatal("GOSSPI_REQUIRE_TIERS=1 but gss-ntlmssp is not installed")
		}
		t.Skip("gss-ntlmssp is not installed; apt-get install gss-ntlmssp or run `bash .ci/http-tier.sh` to run this test")
	}
	e := newEnv(t, envOpts{})
	dir := t.TempDir()
	creds := func(password string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "users"), []byte(testDomain+":"+testUser+":"+password+"\n"), 0o600))
	}
	// No Kerberos: SPNEGO must offer NTLM, whatever ticket cache the host has.
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(dir, "no-ccache"))
	t.Setenv("NTLM_USER_FILE", filepath.Join(dir, "users"))

	creds(testPassword)
	out := curl(t, path, "--negotiate", "-u", ":", "-w", "|%{http_code}\n", e.ts.URL+"/a", e.ts.URL+"/b")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	for _, l := range lines {
		assert.True(t, strings.HasPrefix(l, `CONTOSO\alice|NTLM|Negotiate|`), l)
		assert.True(t, strings.HasSuffix(l, "|200"), l)
	}
	codes := e.statuses.take()
	t.Logf("server answered %v", codes)
	assert.Equal(t, []int{200, 200}, codes[len(codes)-2:])

	creds("wrong")
	out = curl(t, path, "--negotiate", "-u", ":", "-o", os.DevNull, "-w", "%{http_code}", e.ts.URL)
	assert.Equal(t, "401", out)
}

// TestCurlExtendedProtection: curl's NTLM does not bind to the TLS
// channel, so a server that allows bindings lets it in and one that
// requires them does not.
func TestCurlExtendedProtection(t *testing.T) {
	path := requireTool(t, "curl", "the real-curl Extended Protection test needs it")
	user := testDomain + `\` + testUser + ":" + testPassword
	for p, want := range map[ExtendedProtection]string{ProtectionAllow: "200", ProtectionRequire: "401"} {
		e := newEnv(t, envOpts{tls: true, cfg: ServerConfig{ExtendedProtection: p}})
		out := curl(t, path, "-k", "--ntlm", "-u", user, "-o", os.DevNull, "-w", "%{http_code}", e.ts.URL)
		assert.Equal(t, want, out, p.String())
	}
}
