package backendtest_test

import (
	"testing"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/backendtest"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
)

// A backend author runs the suite from a test of the backend's package,
// here on the fake backend. Run needs the test's *testing.T, so this
// example is compiled but not run.
func ExampleRun() {
	var t *testing.T // in the backend's tests: func TestConformance(t *testing.T)

	// The machine under test, with the user the client logs on as, and
	// another machine, where a context exported here must not import.
	m := fake.NewMachine(fake.MachineConfig{Name: "HOST", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	other := fake.NewMachine(fake.MachineConfig{Name: "OTHER", Domain: "CONTOSO"})

	backendtest.Run(t, backendtest.Harness{
		Name: "fake",
		// Each call is a new process on the machine under test: export and
		// import hand contexts between two of them.
		NewBackend:        func(testing.TB) backend.Backend { return m.NewProcess() },
		NewForeignBackend: func(testing.TB) backend.Backend { return other.NewProcess() },
		Packages: []backendtest.Package{{
			Name:          "NTLM",
			Client:        &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"},
			Target:        "HOST/host.contoso.test",
			ClientName:    `CONTOSO\alice`,
			WrongPassword: &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"},
			// Supported is the zero value. A backend that cannot export
			// (Wine) declares Export: backendtest.Unsupported, and the
			// suite then checks it answers SEC_E_UNSUPPORTED_FUNCTION.
			Caps: backendtest.Caps{Export: backendtest.Supported},
		}},
	})
}
