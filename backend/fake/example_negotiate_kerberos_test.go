package fake_test

import (
	"fmt"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// Between two machines of a domain, Negotiate runs Kerberos when the
// client gets a ticket for the target SPN, and NTLM when it cannot (here,
// an SPN no account holds).
func ExampleDomain_negotiate() {
	dom, _ := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test"})
	dom.AddUser("alice", "s3cret")
	ws01, _ := dom.NewMachine(fake.MachineConfig{Name: "WS01"})
	web01, _ := dom.NewMachine(fake.MachineConfig{Name: "WEB01"})
	dom.AddSPN("WEB01$", "HTTP/web01.contoso.test")

	cc, _ := sspictx.NewStore(ws01.NewProcess()).AcquireCredentials("Negotiate", flags.Outbound,
		&sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "s3cret"})
	defer cc.Release()
	sc, _ := sspictx.NewStore(web01.NewProcess()).AcquireCredentials("Negotiate", flags.Inbound, nil)
	defer sc.Release()
	for _, spn := range []string{"HTTP/web01.contoso.test", "HTTP/nowhere.contoso.test"} {
		client := cc.NewClientContext(spn, flags.ClientReqMutualAuth)
		server := sc.NewServerContext(0)
		if err := fake.Handshake(client, server); err != nil {
			fmt.Println(err)
		}
		info, _ := server.PackageInfo()
		who, _ := server.UserName()
		fmt.Printf("%s: %s, %s\n", spn, info.Name, who)
		client.Delete()
		server.Delete()
	}
	// Output:
	// HTTP/web01.contoso.test: Kerberos, CONTOSO\alice
	// HTTP/nowhere.contoso.test: NTLM, CONTOSO\alice
}
