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
		NewBackend:        func(t testing.TB) backend.Backend { return checkedProcess(t, m) },
		NewForeignBackend: func(t testing.TB) backend.Backend { return checkedProcess(t, other) },
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

// checkedProcess starts a process on m and checks, once the scenario has
// released everything through the Store, that the process itself holds no
// handle either: the Store's leak check sees only what the Store handed
// out.
func checkedProcess(t testing.TB, m *fake.Machine) *fake.Process {
	p := m.NewProcess()
	t.Cleanup(func() {
		if creds, ctxs, toks := p.Leaks(); creds+ctxs+toks > 0 {
			t.Errorf("fake: the process still holds %d credentials, %d contexts and %d tokens", creds, ctxs, toks)
		}
	})
	return p
}
