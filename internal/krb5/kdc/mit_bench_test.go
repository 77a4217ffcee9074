package kdc_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkMIT times MIT krb5's GSSAPI on the rows the Kerberos package of
// the fake is measured on (BenchmarkKerberos* in ./backend/fake), in C
// through testdata/mitbench/mitbench.c, against a real MIT KDC and keytab
// on this machine: the AP exchange with mutual authentication from a
// cached service ticket, a MIC of 1 KiB made and verified, and 64 KiB
// wrapped with confidentiality and unwrapped. MIT's replay cache is off
// (KRB5RCACHETYPE=none), which makes its handshake faster, not slower.
// Needs gcc and the GSSAPI headers (Debian libkrb5-dev) besides the MIT
// KDC; it skips without them (benchmarks are not a CI tier).
//
//	go test -run '^$' -bench MIT -benchtime 2000x ./internal/krb5/kdc/
func BenchmarkMIT(b *testing.B) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		b.Skip("gcc not found")
	}
	if _, err := os.Stat("/usr/include/gssapi/gssapi_krb5.h"); err != nil {
		b.Skip("MIT's GSSAPI headers not found (Debian: apt-get install libkrb5-dev)")
	}
	d, _ := mitKDC(b)
	// No trace log: it would be on MIT's clock.
	env := d.env[:0:0]
	for _, e := range d.env {
		if !strings.HasPrefix(e, "KRB5_TRACE=") {
			env = append(env, e)
		}
	}
	d.env = env
	d.mustRun(b, "s3cret\n", "kinit", "alice")
	bin := filepath.Join(b.TempDir(), "mitbench")
	out, err := exec.Command(gcc, "-O2", "-o", bin, "testdata/mitbench/mitbench.c", "-lgssapi_krb5").CombinedOutput()
	require.NoError(b, err, "%s", out)
	target := "HTTP@web01.mit.test"
	for _, tc := range []struct {
		name, mode string
		bytes      int64
	}{
		{"APHandshakeCachedTicket", "handshake", 0},
		{"MICSignVerify1K", "mic", 1024},
		{"WrapUnwrap64K", "wrap", 64 << 10},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cmd := exec.Command(bin, tc.mode, target, strconv.Itoa(b.N))
			cmd.Env = d.env
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			require.NoError(b, err)
			ns, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			require.NoError(b, err, "mitbench printed %q", out)
			// The program times its own loop, without its start-up.
			b.ReportMetric(ns, "ns/op")
			if tc.bytes > 0 {
				b.ReportMetric(float64(tc.bytes)/ns*1e3, "MB/s")
			}
		})
	}
}
