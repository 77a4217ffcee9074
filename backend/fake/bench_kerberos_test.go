package fake

import (
	"testing"

	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// krbBench is a domain with a client machine WS01 and a server machine
// WEB01, and Kerberos credentials on each.
type krbBench struct {
	ws01, web01 *Machine
	cc, sc      *sspictx.Credentials
}

func newKrbBench(b *testing.B) *krbBench {
	b.Helper()
	d, err := NewDomain(DomainConfig{Name: "CONTOSO", DNSName: "contoso.test"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.AddUser("alice", "Passw0rd!"); err != nil {
		b.Fatal(err)
	}
	k := &krbBench{}
	if k.ws01, err = d.NewMachine(MachineConfig{Name: "WS01"}); err != nil {
		b.Fatal(err)
	}
	if k.web01, err = d.NewMachine(MachineConfig{Name: "WEB01"}); err != nil {
		b.Fatal(err)
	}
	if k.cc, err = sspictx.NewStore(k.ws01.NewProcess()).AcquireCredentials("Kerberos", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"}); err != nil {
		b.Fatal(err)
	}
	if k.sc, err = sspictx.NewStore(k.web01.NewProcess()).AcquireCredentials("Kerberos", flags.Inbound, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = k.cc.Release(); _ = k.sc.Release() })
	return k
}

// handshake is a mutually authenticated handshake WS01 -> WEB01.
func (k *krbBench) handshake(b *testing.B) (*sspictx.ClientContext, *sspictx.ServerContext) {
	c := k.cc.NewClientContext("HOST/web01.contoso.test", flags.ClientReqMutualAuth|flags.ClientReqIntegrity|flags.ClientReqConfidentiality|flags.ClientReqSequenceDetect|flags.ClientReqReplayDetect)
	s := k.sc.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	apreq, _, err := c.Step(nil)
	if err != nil {
		b.Fatal(err)
	}
	aprep, _, err := s.Step(apreq)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.Step(aprep); err != nil {
		b.Fatal(err)
	}
	return c, s
}

// BenchmarkKerberosHandshake is the AP exchange with mutual
// authentication, both sides through the Store, with the client's tickets
// cached, including deleting both contexts.
func BenchmarkKerberosHandshake(b *testing.B) {
	k := newKrbBench(b)
	c, s := k.handshake(b) // fills the ticket cache
	_, _ = c.Delete(), s.Delete()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, s := k.handshake(b)
		_, _ = c.Delete(), s.Delete()
	}
}

// BenchmarkKerberosHandshakeFirst is a first handshake: the AS exchange
// for a TGT and the TGS exchange for the service ticket, then the AP
// exchange. The password's keys stay derived, as the client keeps them.
func BenchmarkKerberosHandshakeFirst(b *testing.B) {
	k := newKrbBench(b)
	c, s := k.handshake(b)
	_, _ = c.Delete(), s.Delete()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.ws01.krb.mu.Lock()
		for _, cl := range k.ws01.krb.clients {
			cl.tgt = nil
			clear(cl.tickets)
		}
		k.ws01.krb.mu.Unlock()
		c, s := k.handshake(b)
		_, _ = c.Delete(), s.Delete()
	}
}

// BenchmarkKerberosSignVerify1K signs 1 KiB on the client and verifies it
// on the server.
func BenchmarkKerberosSignVerify1K(b *testing.B) {
	k := newKrbBench(b)
	c, s := k.handshake(b)
	defer c.Delete()
	defer s.Delete()
	msg := make([]byte, 1<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sig, err := c.Sign(msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Verify(msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKerberosSealUnseal64K seals 64 KiB on the client and unseals it
// on the server.
func BenchmarkKerberosSealUnseal64K(b *testing.B) {
	k := newKrbBench(b)
	c, s := k.handshake(b)
	defer c.Delete()
	defer s.Delete()
	benchSealUnseal64K(b, &c.Context, &s.Context)
}

// BenchmarkKerberosSealUnseal64KInPlace is the same round trip through the
// Store's in-place calls, which encrypt in the caller's buffer.
func BenchmarkKerberosSealUnseal64KInPlace(b *testing.B) {
	k := newKrbBench(b)
	c, s := k.handshake(b)
	defer c.Delete()
	defer s.Delete()
	benchSealUnseal64KInPlace(b, &c.Context, &s.Context)
}

// BenchmarkKerberosExportImport is one export of the server context, one
// import in another process of WEB01, and the import's deletion.
func BenchmarkKerberosExportImport(b *testing.B) {
	k := newKrbBench(b)
	c, s := k.handshake(b)
	defer c.Delete()
	defer s.Delete()
	other := sspictx.NewStore(k.web01.NewProcess())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blob, err := s.Export(0)
		if err != nil {
			b.Fatal(err)
		}
		imp, err := other.Import("Kerberos", blob, nil)
		if err != nil {
			b.Fatal(err)
		}
		_ = imp.Delete()
	}
}
