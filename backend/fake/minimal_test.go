package fake_test

import (
	"testing"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/backendtest"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
)

// minimal is a backend with nothing but backend.Backend: the embedded
// field's static type is the interface, so none of the Process's optional
// interfaces (Signer, Sealer, Completer, TokenQuerier, Impersonator,
// Exporter) shows through.
type minimal struct {
	backend.Backend
}

// TestConformanceMinimal runs the suite against a backend that implements
// only backend.Backend, with every optional call declared Unsupported: the
// answers the Store gives for the missing interfaces
// (SEC_E_UNSUPPORTED_FUNCTION, from the call that was made) must satisfy
// the suite as a real package's refusals would.
func TestConformanceMinimal(t *testing.T) {
	m := fake.NewMachine(fake.MachineConfig{Name: "FAKEHOST", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	var b backend.Backend = minimal{m.NewProcess()}
	for name, ok := range map[string]bool{
		"Signer":       is[backend.Signer](b),
		"Sealer":       is[backend.Sealer](b),
		"Completer":    is[backend.Completer](b),
		"TokenQuerier": is[backend.TokenQuerier](b),
		"Impersonator": is[backend.Impersonator](b),
		"Exporter":     is[backend.Exporter](b),
	} {
		if ok {
			t.Fatalf("the minimal backend implements backend.%s", name)
		}
	}

	unsupported := backendtest.Caps{
		ClientSign:   backendtest.Unsupported,
		ServerSign:   backendtest.Unsupported,
		Seal:         backendtest.Unsupported,
		Export:       backendtest.Unsupported,
		ContextToken: backendtest.Unsupported,
		Impersonate:  backendtest.Unsupported,
	}
	alice := &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"}
	wrong := &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "wrong"}
	backendtest.Run(t, backendtest.Harness{
		Name:         "fake, backend.Backend only",
		NewBackend:   func(t testing.TB) backend.Backend { return minimal{checkedProcess(t, m)} },
		DoubleDelete: true,
		Packages: []backendtest.Package{{
			Name:          "NTLM",
			Client:        alice,
			Target:        "HOST/fakehost.contoso.test",
			ClientName:    `CONTOSO\alice`,
			WrongPassword: wrong,
			Caps:          unsupported,
		}, {
			Name:          "Negotiate",
			Client:        alice,
			Target:        "HTTP/fakehost.contoso.test",
			ClientName:    `CONTOSO\alice`,
			WrongPassword: wrong,
			Caps:          unsupported,
		}},
	})
}

// is reports whether v implements T.
func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}
