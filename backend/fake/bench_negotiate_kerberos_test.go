package fake_test

import (
	"testing"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// BenchmarkHandshakeNegotiateKerberos is a Negotiate handshake that picks
// Kerberos between two machines of a domain, with mutual authentication:
// the NegTokenInit with the AP-REQ, the one NegTokenResp with the AP-REP,
// both sides through the Store, with the client's tickets cached,
// including deleting both contexts.
func BenchmarkHandshakeNegotiateKerberos(b *testing.B) {
	d, err := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.AddUser("alice", "Passw0rd!"); err != nil {
		b.Fatal(err)
	}
	ws01, err := d.NewMachine(fake.MachineConfig{Name: "WS01"})
	if err != nil {
		b.Fatal(err)
	}
	web01, err := d.NewMachine(fake.MachineConfig{Name: "WEB01"})
	if err != nil {
		b.Fatal(err)
	}
	cc, err := sspictx.NewStore(ws01.NewProcess()).AcquireCredentials("Negotiate", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	if err != nil {
		b.Fatal(err)
	}
	sc, err := sspictx.NewStore(web01.NewProcess()).AcquireCredentials("Negotiate", flags.Inbound, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Release(); _ = sc.Release() })
	handshake := func() {
		c := cc.NewClientContext("HOST/web01.contoso.test", flags.ClientReqMutualAuth|flags.ClientReqIntegrity|flags.ClientReqConfidentiality|flags.ClientReqSequenceDetect|flags.ClientReqReplayDetect)
		s := sc.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
		init, _, err := c.Step(nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, done, err := s.Step(init)
		if err != nil || !done {
			b.Fatal("the server is not done on the AP-REQ: ", err)
		}
		if _, done, err := c.Step(resp); err != nil || !done {
			b.Fatal("the client is not done on the AP-REP: ", err)
		}
		if info, err := s.PackageInfo(); err != nil || info.Name != "Kerberos" {
			b.Fatalf("Negotiate ran %q (%v), not Kerberos", info.Name, err)
		}
		_, _ = c.Delete(), s.Delete()
	}
	handshake() // fills the ticket cache
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		handshake()
	}
}
