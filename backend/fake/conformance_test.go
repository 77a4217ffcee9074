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
	// FAKEHOST is joined to CONTOSO, whose KDC the Kerberos row uses and
	// whose directory holds alice for NTLM too; the client and server
	// processes of the suite both run on it.
	dom, err := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dom.AddUser("alice", "Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	m, err := dom.NewMachine(fake.MachineConfig{Name: "FAKEHOST"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := dom.NewMachine(fake.MachineConfig{Name: "OTHERHOST"})
	if err != nil {
		t.Fatal(err)
	}
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
			Name:          "Kerberos",
			Client:        &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
			Target:        "HOST/fakehost.contoso.test",
			ClientName:    `CONTOSO\alice`,
			WrongPassword: &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"},
		}, {
			// No account holds HTTP/fakehost.contoso.test, so the client
			// gets no ticket and Negotiate runs NTLM.
			Name:          "Negotiate",
			Client:        &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
			Target:        "HTTP/fakehost.contoso.test",
			ClientName:    `CONTOSO\alice`,
			WrongPassword: &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"},
		}, {
			// FAKEHOST$ holds HOST/fakehost.contoso.test, so Negotiate runs
			// Kerberos (the suite names this row Negotiate#01).
			Name:          "Negotiate",
			Client:        &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
			Target:        "HOST/fakehost.contoso.test",
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
