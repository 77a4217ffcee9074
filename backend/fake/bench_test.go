package fake

import (
	"encoding/binary"
	"testing"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// benchEnv is a store with credentials for both sides.
func benchEnv(b *testing.B) (*Machine, *sspictx.Store, *sspictx.Credentials, *sspictx.Credentials) {
	b.Helper()
	m := NewMachine(MachineConfig{Name: "BENCH", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	st := sspictx.NewStore(m.NewProcess())
	sc, err := st.AcquireCredentials("NTLM", flags.Inbound, nil)
	if err != nil {
		b.Fatal(err)
	}
	cc, err := st.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sc.Release(); _ = cc.Release() })
	return m, st, cc, sc
}

func benchHandshake(b *testing.B, cc, sc *sspictx.Credentials) (*sspictx.ClientContext, *sspictx.ServerContext) {
	c := cc.NewClientContext("HOST/bench", flags.ClientReqIntegrity|flags.ClientReqConfidentiality)
	s := sc.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	neg, _, err := c.Step(nil)
	if err != nil {
		b.Fatal(err)
	}
	chal, _, err := s.Step(neg)
	if err != nil {
		b.Fatal(err)
	}
	auth, _, err := c.Step(chal)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := s.Step(auth); err != nil {
		b.Fatal(err)
	}
	return c, s
}

// BenchmarkHandshake is a full NTLM handshake, both sides, through the
// Store, including deleting both contexts.
func BenchmarkHandshake(b *testing.B) {
	_, _, cc, sc := benchEnv(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c, s := benchHandshake(b, cc, sc)
		_ = c.Delete()
		_ = s.Delete()
	}
}

// BenchmarkHandshakeNegotiate is a full Negotiate handshake: NTLM wrapped
// in SPNEGO, with both mechListMICs.
func BenchmarkHandshakeNegotiate(b *testing.B) {
	m := NewMachine(MachineConfig{Name: "BENCH", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	st := sspictx.NewStore(m.NewProcess())
	sc, err := st.AcquireCredentials("Negotiate", flags.Inbound, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Release()
	cc, err := st.AcquireCredentials("Negotiate", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Release()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c := cc.NewClientContext("HTTP/bench", flags.ClientReqIntegrity)
		s := sc.NewServerContext(flags.ServerReqIntegrity)
		var toS, toC []byte
		for done := false; !done; {
			if toS, done, err = c.Step(toC); err != nil {
				b.Fatal(err)
			}
			if len(toS) > 0 {
				if toC, _, err = s.Step(toS); err != nil {
					b.Fatal(err)
				}
			}
		}
		_ = c.Delete()
		_ = s.Delete()
	}
}

// BenchmarkExportImport is one export (without DELETE_OLD), one import in
// another process of the machine, and the imported context's deletion.
func BenchmarkExportImport(b *testing.B) {
	m, _, cc, sc := benchEnv(b)
	c, s := benchHandshake(b, cc, sc)
	defer c.Delete()
	defer s.Delete()
	benchExportImport(b, s, sspictx.NewStore(m.NewProcess()))
}

// BenchmarkExportImportBackend is the same round trip on the Backend
// interface alone, without the Store's tracking.
func BenchmarkExportImportBackend(b *testing.B) {
	m, _, cc, sc := benchEnv(b)
	c, s := benchHandshake(b, cc, sc)
	defer c.Delete()
	defer s.Delete()
	p, h := raw(b, &s.Context)
	other := m.NewProcess()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blob, _, err := p.ExportSecurityContext(h, 0, false)
		if err != nil {
			b.Fatal(err)
		}
		ih, err := other.ImportSecurityContext("NTLM", blob, 0)
		if err != nil {
			b.Fatal(err)
		}
		_ = other.DeleteSecurityContext(ih)
	}
}

// BenchmarkSealUnseal64K seals a 64 KiB message on the client and unseals
// it on the server.
func BenchmarkSealUnseal64K(b *testing.B) {
	_, _, cc, sc := benchEnv(b)
	c, s := benchHandshake(b, cc, sc)
	defer c.Delete()
	defer s.Delete()
	benchSealUnseal64K(b, &c.Context, &s.Context)
}

// BenchmarkSealUnseal64KInPlace is BenchmarkSealUnseal64K through the
// Store's in-place variants: no copy of the message on either side.
func BenchmarkSealUnseal64KInPlace(b *testing.B) {
	_, _, cc, sc := benchEnv(b)
	c, s := benchHandshake(b, cc, sc)
	defer c.Delete()
	defer s.Delete()
	benchSealUnseal64KInPlace(b, &c.Context, &s.Context)
}

// benchSealUnseal64KInPlace seals 64 KiB with c and unseals it with s,
// b.N times, in place.
func benchSealUnseal64KInPlace(b *testing.B, c, s *sspictx.Context) {
	msg := make([]byte, 64<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok, err := c.SealInPlace(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.UnsealInPlace(tok, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealUnseal64KBackend is the same round trip on the Backend
// interface with buffers reused in place, as a caller of
// EncryptMessage/DecryptMessage that owns its buffers would do: what is
// left is the protocol's cost, one RC4 and one HMAC-MD5 pass per side.
func BenchmarkSealUnseal64KBackend(b *testing.B) {
	_, _, cc, sc := benchEnv(b)
	c, s := benchHandshake(b, cc, sc)
	defer c.Delete()
	defer s.Delete()
	p, sh := raw(b, &s.Context)
	_, ch := raw(b, &c.Context)
	data := make([]byte, 64<<10)
	token := make([]byte, 16)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg := []backend.Buffer{{Type: backend.BufferToken, Data: token}, {Type: backend.BufferData, Data: data}}
		if err := p.EncryptMessage(ch, 0, msg, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := p.DecryptMessage(sh, msg, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreParallel acquires and releases credentials, and signs and
// verifies on per-goroutine contexts, from parallel goroutines on one Store.
func BenchmarkStoreParallel(b *testing.B) {
	b.Run("AcquireRelease", func(b *testing.B) {
		_, st, _, _ := benchEnv(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c, err := st.AcquireCredentials("NTLM", flags.Inbound, nil)
				if err != nil {
					b.Error(err)
					return
				}
				_ = c.Release()
			}
		})
	})
	b.Run("SignVerify", func(b *testing.B) {
		_, _, cc, sc := benchEnv(b)
		msg := []byte("a short RPC request body")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c, s := benchHandshake(b, cc, sc)
			defer c.Delete()
			defer s.Delete()
			for pb.Next() {
				sig, err := c.Sign(msg)
				if err != nil {
					b.Error(err)
					return
				}
				if err := s.Verify(msg, sig); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkHostExportImport is BenchmarkExportImport on a host-bound
// machine: the import claims the blob in the on-disk ledger shared by all
// processes of the host (in a temporary key directory).
func BenchmarkHostExportImport(b *testing.B) {
	b.Setenv("GOSSPI_KEY_DIR", b.TempDir())
	m, err := HostMachine(MachineConfig{Name: "BENCH", Domain: "CONTOSO"})
	if err != nil {
		b.Skipf("no host-bound machine here: %v", err)
	}
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	st := sspictx.NewStore(m.NewProcess())
	sc, err := st.AcquireCredentials("NTLM", flags.Inbound, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Release()
	cc, err := st.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Release()
	c, s := benchHandshake(b, cc, sc)
	defer c.Delete()
	defer s.Delete()
	benchExportImport(b, s, sspictx.NewStore(m.NewProcess()))
}

// benchExportImport exports s, imports the blob into other and deletes the
// import, b.N times.
func benchExportImport(b *testing.B, s *sspictx.ServerContext, other *sspictx.Store) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blob, err := s.Export(0)
		if err != nil {
			b.Fatal(err)
		}
		imp, err := other.Import("NTLM", blob, nil)
		if err != nil {
			b.Fatal(err)
		}
		_ = imp.Delete()
	}
}

// BenchmarkImportAfterTraffic is the import (and deletion) of a server
// context exported without RESET_NEW: "idle" right after the handshake,
// "1GiB" after a gibibyte each way. The second context really moved 64 KiB
// each way; its blob then has its keystream positions set to 1 GiB and is
// sealed again, which is the blob a gibibyte would leave, because the RC4
// states it carries do not depend on the position
// (TestCipherStateIgnoresPosition in internal/ntlm).
//
// Each blob imports once, so blobs are made with the timer stopped, in
// batches of importBatch. Making all b.N up front would leave hundreds of
// megabytes of them (a 1GiB blob is over a kilobyte) that the loop then
// streams from DRAM, which measures memory bandwidth, and more of it for
// the larger blob, rather than an import: a real import reads a blob that
// just arrived over IPC, hot in cache. A batch fits in the caches, so both
// sub-benchmarks import warm blobs. The batches are sealed into one
// buffer, used again for the next batch as a receiver reuses its IPC
// buffer: sealing each into a new allocation made garbage in proportion
// to the blob's size, and the extra garbage collection it brought was
// all that set the larger blob's import apart (with GOGC=off the two
// took the same time).
func BenchmarkImportAfterTraffic(b *testing.B) {
	for _, tc := range []struct {
		name    string
		traffic bool
	}{{"idle", false}, {"1GiB", true}} {
		b.Run(tc.name, func(b *testing.B) {
			m, _, cc, sc := benchEnv(b)
			c, s := benchHandshake(b, cc, sc)
			defer c.Delete()
			defer s.Delete()
			if tc.traffic {
				msg := make([]byte, 64<<10)
				for _, p := range [][2]*sspictx.Context{{&c.Context, &s.Context}, {&s.Context, &c.Context}} {
					tok, data, err := p[0].Seal(msg)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := p[1].Unseal(tok, data); err != nil {
						b.Fatal(err)
					}
				}
			}
			// Every blob is the one export of s sealed again, under the
			// machine's next nonce, with the positions of a gibibyte each way
			// for "1GiB".
			blob, err := s.Export(0)
			if err != nil {
				b.Fatal(err)
			}
			st, _, err := m.sealer.Open(blob)
			if err != nil {
				b.Fatal(err)
			}
			if tc.traffic {
				binary.LittleEndian.PutUint64(st.PackageState[29:], 1<<30)
				binary.LittleEndian.PutUint64(st.PackageState[37:], 1<<30)
			}
			nonces := &m.ledger.(*memLedger).nonces // the machine's own, as its exports use
			arena := make([]byte, 0, importBatch*len(blob))
			other := sspictx.NewStore(m.NewProcess())
			blobs := make([][]byte, 0, importBatch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if len(blobs) == 0 {
					b.StopTimer()
					arena = arena[:0]
					for j := 0; j < min(importBatch, b.N-i); j++ {
						at := len(arena)
						if arena, err = m.sealer.AppendSeal(arena, st, nonces); err != nil {
							b.Fatal(err)
						}
						blobs = append(blobs, arena[at:len(arena):len(arena)])
					}
					b.StartTimer()
				}
				imp, err := other.Import("NTLM", blobs[0], nil)
				if err != nil {
					b.Fatal(err)
				}
				_ = imp.Delete()
				blobs = blobs[1:]
			}
		})
	}
}

// importBatch is how many blobs BenchmarkImportAfterTraffic makes at a
// time: a few hundred kilobytes of them at most, which stay in cache.
const importBatch = 256

// benchSealUnseal64K seals 64 KiB with c and unseals it with s, b.N times,
// through the Store's copying calls.
func benchSealUnseal64K(b *testing.B, c, s *sspictx.Context) {
	msg := make([]byte, 64<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok, data, err := c.Seal(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Unseal(tok, data); err != nil {
			b.Fatal(err)
		}
	}
}
