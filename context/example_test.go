package context_test

import (
	"fmt"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// A whole SSPI lifecycle on the emulated backend: credentials, an NTLM
// handshake, a signed message, and a hand-off of the server context to
// another process on the same machine.
func Example() {
	m := fake.NewMachine(fake.MachineConfig{Name: "WEB01", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	store := sspictx.NewStore(m.NewProcess())

	srvCred, _ := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	defer srvCred.Release()
	cliCred, _ := store.AcquireCredentials("NTLM", flags.Outbound,
		&sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	defer cliCred.Release()

	client := cliCred.NewClientContext("HTTP/web01.contoso.test", flags.ClientReqIntegrity)
	defer client.Delete()
	server := srvCred.NewServerContext(flags.ServerReqIntegrity)
	defer server.Delete()

	var toServer, toClient []byte
	var err error
	for done := false; !done; {
		if toServer, done, err = client.Step(toClient); err != nil {
			fmt.Println(err)
			return
		}
		if len(toServer) > 0 {
			toClient, _, err = server.Step(toServer)
			if err != nil {
				fmt.Println(err)
				return
			}
		}
	}
	who, _ := server.UserName()
	fmt.Println("server authenticated", who)

	sig, _ := client.Sign([]byte("GET /report"))
	blob, _ := server.Export(flags.DeleteOld)

	// Another process on the same machine takes over.
	worker := sspictx.NewStore(m.NewProcess())
	ctx, err := worker.Import("NTLM", blob, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ctx.Delete()
	fmt.Println("worker verifies:", ctx.Verify([]byte("GET /report"), sig))
	_, err = server.Sizes()
	fmt.Println("old handle:", sspictx.StatusOf(err).Name())
	// Output:
	// server authenticated CONTOSO\alice
	// worker verifies: <nil>
	// old handle: SEC_E_INVALID_HANDLE
}
