package fake_test

import (
	"errors"
	"fmt"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// handshake runs an NTLM handshake between two fresh contexts.
func handshake(cc, sc *sspictx.Credentials) (*sspictx.ClientContext, *sspictx.ServerContext, error) {
	client := cc.NewClientContext("HOST/app.contoso.test", flags.ClientReqIntegrity)
	server := sc.NewServerContext(flags.ServerReqIntegrity)
	var toServer, toClient []byte
	var err error
	for done := false; !done; {
		if toServer, done, err = client.Step(toClient); err != nil {
			return nil, nil, err
		}
		if len(toServer) > 0 {
			if toClient, _, err = server.Step(toServer); err != nil {
				return nil, nil, err
			}
		}
	}
	return client, server, nil
}

// Fault injection: make the next export fail as if memory ran out, and see
// that the context survives it, even though DeleteOld was asked for.
func ExampleProcess_FailNth() {
	m := fake.NewMachine(fake.MachineConfig{Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	proc := m.NewProcess()
	store := sspictx.NewStore(proc)
	sc, _ := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	defer sc.Release()
	cc, _ := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	defer cc.Release()
	client, server, err := handshake(cc, sc)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Delete()
	defer server.Delete()

	proc.FailNth(backend.OpExportSecurityContext, 1, sspictx.StatusInsufficientMemory)
	_, err = server.Export(flags.DeleteOld)
	fmt.Println(errors.Is(err, sspictx.StatusInsufficientMemory))
	who, err := server.UserName()
	fmt.Println(who, err)
	// Output:
	// true
	// CONTOSO\alice <nil>
}

// An import on another machine is refused, and errors.Is tells why.
func ExampleErrForeignMachine() {
	here := fake.NewMachine(fake.MachineConfig{Domain: "CONTOSO"})
	here.AddUser("CONTOSO", "alice", "Passw0rd!")
	store := sspictx.NewStore(here.NewProcess())
	sc, _ := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	defer sc.Release()
	cc, _ := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	defer cc.Release()
	client, server, err := handshake(cc, sc)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Delete()
	defer server.Delete()
	blob, _ := server.Export(0)

	elsewhere := sspictx.NewStore(fake.NewMachine(fake.MachineConfig{}).NewProcess())
	_, err = elsewhere.Import("NTLM", blob, nil)
	fmt.Println(sspictx.StatusOf(err).Name(), errors.Is(err, fake.ErrForeignMachine))
	// Output:
	// SEC_E_INVALID_TOKEN true
}
