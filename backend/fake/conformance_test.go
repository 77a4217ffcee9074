package fake_test

import (
	"testing"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/backendtest"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
)

// TestConformance holds the fake to the same suite as the real backend.
func TestConformance(t *testing.T) {
	m := fake.NewMachine(fake.MachineConfig{Name: "FAKEHOST", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	other := fake.NewMachine(fake.MachineConfig{Name: "OTHERHOST", Domain: "CONTOSO"})
	backendtest.Run(t, backendtest.Harness{
		Name:              "fake",
		NewBackend:        func(testing.TB) backend.Backend { return m.NewProcess() },
		NewForeignBackend: func(testing.TB) backend.Backend { return other.NewProcess() },
		DoubleDelete:      true,
		Packages: []backendtest.Package{{
			Name:          "NTLM",
			Client:        &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
			Target:        "HOST/fakehost.contoso.test",
			ClientName:    `CONTOSO\alice`,
			WrongPassword: &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"},
		}, {
			Name:          "Negotiate",
			Client:        &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
			Target:        "HTTP/fakehost.contoso.test",
			ClientName:    `CONTOSO\alice`,
			WrongPassword: &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"},
		}},
	})
}
