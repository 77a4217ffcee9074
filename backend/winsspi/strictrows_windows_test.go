//go:build windows

package winsspi_test

import (
	"bytes"
	"os"
	"testing"

	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// TestStrictRowsReport runs the export and import situations that
// Microsoft does not document and that were never observed on Windows here
// (flag bits beyond 0x7, export before the handshake finished, blobs that
// are empty, garbage, truncated, tampered, of another package or imported
// twice), where the fake takes the stricter reading, on the real SSPI and
// logs what it answers next to the fake's answer. It asserts nothing but
// that no call panics: Windows is not documented here, and this report is
// how its behaviour gets observed. Run with -v.
//
// The report runs in a child process of the test binary: garbage handed to
// the security package could crash it with an access violation, which
// would kill the whole run; in a child it fails this test alone, with its
// output and what killed it.
func TestStrictRowsReport(t *testing.T) {
	if os.Getenv(envStrictChild) == "1" {
		strictRowsReport(t)
		return
	}
	harness(t) // skips (or fails under GOSSPI_REQUIRE_TIERS=1) without the setup
	out, failed := runChild(t, "TestStrictRowsReport", envStrictChild+"=1")
	t.Logf("the strict-rows report, from a child process:\n%s", out)
	if failed != "" {
		t.Fatalf("the strict-rows report's child process failed: %s (its output is above)", failed)
	}
}

// strictRowsReport is the report itself, in the child process.
func strictRowsReport(t *testing.T) {
	h := harness(t)
	for _, p := range h.Packages {
		p := p
		t.Run(p.Name, func(t *testing.T) {
			st := sspictx.NewStore(h.NewBackend(t))
			report := func(row string, err error, fake sspictx.Status) {
				t.Helper()
				t.Logf("strict row %q: %s answered %s; the fake answers %s", row, p.Name, sspictx.StatusOf(err).String(), fake.String())
			}
			sc, err := st.AcquireCredentials(p.Name, flags.Inbound, p.Server)
			if err != nil {
				t.Fatalf("server credentials: %v", err)
			}
			defer sc.Release()
			cc, err := st.AcquireCredentials(p.Name, flags.Outbound, p.Client)
			if err != nil {
				t.Fatalf("client credentials: %v", err)
			}
			defer cc.Release()

			// Not yet established: only the first client step has run.
			half := cc.NewClientContext(p.Target, flags.ClientReqIntegrity)
			if _, _, err := half.Step(nil); err == nil {
				_, err = half.Export(0)
				report("export before the handshake finished", err, sspictx.StatusInvalidHandle)
			}
			_ = half.Delete()

			c := cc.NewClientContext(p.Target, flags.ClientReqIntegrity)
			s := sc.NewServerContext(flags.ServerReqIntegrity)
			defer c.Delete()
			defer s.Delete()
			var toS, toC []byte
			for done := false; !done; {
				if toS, done, err = c.Step(toC); err != nil {
					t.Fatalf("handshake: %v", err)
				}
				if len(toS) > 0 {
					if toC, _, err = s.Step(toS); err != nil {
						t.Fatalf("handshake: %v", err)
					}
				}
			}

			_, err = s.Export(flags.Export(0x8) | flags.DeleteOld)
			report("export with flag bits beyond 0x7", err, sspictx.StatusInvalidParameter)
			if _, err := s.Sizes(); err != nil {
				t.Logf("strict row %q: the context after the refused export: %s", "flag bits beyond 0x7", sspictx.StatusOf(err).String())
			}

			for name, blob := range map[string][]byte{
				"empty":   {},
				"garbage": []byte("definitely not a packed security context"),
			} {
				_, err := st.Import(p.Name, blob, nil)
				report("import of a blob that is "+name, err, sspictx.StatusInvalidToken)
			}

			blob, err := s.Export(0)
			report("export for the import rows", err, sspictx.StatusOK)
			if err != nil {
				return
			}
			truncated := blob[:len(blob)/2]
			_, err = st.Import(p.Name, truncated, nil)
			report("import of a truncated blob", err, sspictx.StatusInvalidToken)
			tampered := bytes.Clone(blob)
			tampered[len(tampered)/2] ^= 0x40
			if imp, err := st.Import(p.Name, tampered, nil); err == nil {
				report("import of a tampered blob", nil, sspictx.StatusInvalidToken)
				_ = imp.Delete()
			} else {
				report("import of a tampered blob", err, sspictx.StatusInvalidToken)
			}
			other := "NTLM"
			if p.Name == "NTLM" {
				other = "Kerberos"
			}
			if imp, err := st.Import(other, blob, nil); err == nil {
				report("import of a blob under another package ("+other+")", nil, sspictx.StatusInvalidToken)
				_ = imp.Delete()
			} else {
				report("import of a blob under another package ("+other+")", err, sspictx.StatusInvalidToken)
			}
			first, err := st.Import(p.Name, blob, nil)
			report("first import", err, sspictx.StatusOK)
			if err == nil {
				defer first.Delete()
				second, err := st.Import(p.Name, blob, nil)
				report("second import of the same blob", err, sspictx.StatusInvalidToken)
				if err == nil {
					_ = second.Delete()
				}
			}
		})
	}
}
