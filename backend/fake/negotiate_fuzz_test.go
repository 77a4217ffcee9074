package fake_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/capture"
)

// FuzzNegotiateAccept feeds the Negotiate acceptor up to three client
// tokens: the first is a NegTokenInit or a raw NTLMSSP token, the others
// whatever follows. Whatever they are, the acceptor must not panic, must
// fail only with what a peer's bad token earns (SEC_E_INVALID_TOKEN,
// SEC_E_LOGON_DENIED, SEC_E_MESSAGE_ALTERED) from AcceptSecurityContext,
// and once done must name the client.
//
// The machine is the one of the interop tier's captures (a fixed clock,
// counter randomness), so the seeds taken from them, real clients' tokens
// in testdata/fuzz/FuzzNegotiateAccept and ../../testdata/interop, run
// the whole way to an established context.
func FuzzNegotiateAccept(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "interop", "*.txt"))
	var m *capture.Machine
	var acct *capture.Account
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		c, err := capture.Parse(b)
		if err != nil {
			f.Fatal(err)
		}
		if c.Fake != "acceptor" || c.Package != "Negotiate" {
			continue
		}
		m, acct = c.Machine, c.Account
		var toks [3][]byte
		n := 0
		for _, tok := range c.Tokens {
			if tok.FromInitiator && n < len(toks) {
				toks[n] = tok.Data
				n++
			}
		}
		f.Add(toks[0], toks[1], toks[2])
	}
	if m == nil {
		f.Fatal("no capture of the Negotiate acceptor to take the machine from")
	}
	f.Fuzz(func(t *testing.T, t1, t2, t3 []byte) {
		mach := fake.NewMachine(fake.MachineConfig{Name: m.Name, Domain: m.Domain, Clock: func() time.Time { return m.Time }, Rand: &capture.Counter{}})
		mach.AddUser(acct.Domain, acct.User, acct.Password)
		store := sspictx.NewStore(mach.NewProcess())
		cred, err := store.AcquireCredentials("Negotiate", flags.Inbound, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cred.Release() }()
		s := cred.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
		defer func() { _ = s.Delete() }()
		for _, tok := range [][]byte{t1, t2, t3} {
			_, done, err := s.Step(tok)
			if err != nil {
				var e *backend.Error
				if !errors.As(err, &e) || e.Op != backend.OpAcceptSecurityContext {
					t.Fatalf("not an AcceptSecurityContext error: %v", err)
				}
				switch e.Status {
				case backend.StatusInvalidToken, backend.StatusLogonDenied, backend.StatusMessageAltered:
				default:
					t.Fatalf("a client's tokens earned %v", err)
				}
				return
			}
			if done {
				who, err := s.UserName()
				if err != nil || who != acct.Domain+`\`+acct.User {
					t.Fatalf("established, but the client is %q (%v)", who, err)
				}
				return
			}
		}
	})
}
