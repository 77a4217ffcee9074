package fake_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// exampleT stands in for the *testing.T a test passes to the kit, since an
// example has none: it prints what the test would report, and end runs
// the cleanups as the end of a test does.
type exampleT struct{ cleanups []func() }

func (t *exampleT) Helper()          {}
func (t *exampleT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (t *exampleT) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	// Drop the " (file:line)" of the creator: it depends on the checkout.
	if i := strings.LastIndex(msg, " ("); i >= 0 {
		msg = msg[:i]
	}
	fmt.Println("FAIL:", msg)
}

func (t *exampleT) end() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// A test of authentication code gets a store with the users it needs, in
// one line; the store fails the test if anything it handed out is left
// unreleased.
func ExampleNewTestStore() {
	t := &exampleT{} // in a test: the test's t
	defer t.end()

	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	sc, _ := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	defer sc.Release()
	cc, _ := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "pw"})
	defer cc.Release()
	client := cc.NewClientContext("HOST/testhost", 0)
	defer client.Delete()
	server := sc.NewServerContext(0)
	defer server.Delete()

	if err := fake.Handshake(client, server); err != nil {
		fmt.Println(err)
		return
	}
	who, _ := server.UserName()
	fmt.Println("server authenticated", who)
	// Output:
	// server authenticated TEST\alice
}

// Handshake runs both sides of a handshake to the end and returns the
// first error, such as the server's SEC_E_LOGON_DENIED for a wrong
// password.
func ExampleHandshake() {
	t := &exampleT{} // in a test: the test's t
	defer t.end()

	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	sc, _ := store.AcquireCredentials("Negotiate", flags.Inbound, nil)
	defer sc.Release()
	for _, password := range []string{"pw", "wrong"} {
		cc, _ := store.AcquireCredentials("Negotiate", flags.Outbound, &sspictx.AuthIdentity{User: "alice", Password: password})
		client := cc.NewClientContext("HTTP/testhost", 0)
		server := sc.NewServerContext(0)
		err := fake.Handshake(client, server)
		fmt.Printf("%s: %s\n", password, sspictx.StatusOf(err).Name())
		client.Delete()
		server.Delete()
		cc.Release()
	}
	// Output:
	// pw: SEC_E_OK
	// wrong: SEC_E_LOGON_DENIED
}

// CheckLeaks fails the test for what a store handed out and nobody
// released, naming where it was created.
func ExampleCheckLeaks() {
	t := &exampleT{} // in a test: the test's t
	defer t.end()

	m := fake.NewMachine(fake.MachineConfig{Domain: "CONTOSO"})
	store := sspictx.NewStore(m.NewProcess())
	fake.CheckLeaks(t, store)

	store.AcquireCredentials("NTLM", flags.Inbound, nil) // never released
	// Output:
	// FAIL: gosspi: leaked NTLM inbound credential for current user created at github.com/gosspi/gosspi/backend/fake_test.ExampleCheckLeaks
}

// A ManualClock moves only when the test says, so a test can make an
// established context expire without waiting.
func ExampleManualClock() {
	t := &exampleT{} // in a test: the test's t
	defer t.end()

	clock := fake.NewManualClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"},
		fake.WithClock(clock.Now), fake.WithContextLifetime(time.Hour))
	sc, _ := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	defer sc.Release()
	cc, _ := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{User: "alice", Password: "pw"})
	defer cc.Release()
	client := cc.NewClientContext("HOST/testhost", flags.ClientReqIntegrity)
	defer client.Delete()
	server := sc.NewServerContext(flags.ServerReqIntegrity)
	defer server.Delete()
	if err := fake.Handshake(client, server); err != nil {
		fmt.Println(err)
		return
	}

	life, _ := server.Lifespan()
	fmt.Println("expires", life.Expiry.Format(time.Kitchen))
	clock.Advance(59 * time.Minute)
	_, err := client.Sign([]byte("still in time"))
	fmt.Println("at 9:59:", sspictx.StatusOf(err).Name())
	clock.Advance(time.Minute)
	_, err = client.Sign([]byte("too late"))
	fmt.Println("at 10:00:", sspictx.StatusOf(err).Name())
	// Output:
	// expires 10:00AM
	// at 9:59: SEC_E_OK
	// at 10:00: SEC_E_CONTEXT_EXPIRED
}

// Fault injection: make the next export fail as if memory ran out, and see
// that the context survives it, even though DeleteOld was asked for. The
// process NewTestStore returns is the one under the store.
func ExampleProcess_FailNth() {
	t := &exampleT{} // in a test: the test's t
	defer t.end()

	store, proc := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	sc, _ := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	defer sc.Release()
	cc, _ := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{User: "alice", Password: "pw"})
	defer cc.Release()
	client := cc.NewClientContext("HOST/testhost", flags.ClientReqIntegrity)
	defer client.Delete()
	server := sc.NewServerContext(flags.ServerReqIntegrity)
	defer server.Delete()
	if err := fake.Handshake(client, server); err != nil {
		fmt.Println(err)
		return
	}

	proc.FailNth(backend.OpExportSecurityContext, 1, sspictx.StatusInsufficientMemory)
	_, err := server.Export(flags.DeleteOld)
	fmt.Println(errors.Is(err, sspictx.StatusInsufficientMemory))
	who, err := server.UserName()
	fmt.Println(who, err)
	// Output:
	// true
	// TEST\alice <nil>
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
	client := cc.NewClientContext("HOST/app.contoso.test", flags.ClientReqIntegrity)
	defer client.Delete()
	server := sc.NewServerContext(flags.ServerReqIntegrity)
	defer server.Delete()
	if err := fake.Handshake(client, server); err != nil {
		fmt.Println(err)
		return
	}
	blob, _ := server.Export(0)

	elsewhere := sspictx.NewStore(fake.NewMachine(fake.MachineConfig{}).NewProcess())
	_, err := elsewhere.Import("NTLM", blob, nil)
	fmt.Println(sspictx.StatusOf(err).Name(), errors.Is(err, fake.ErrForeignMachine))
	// Output:
	// SEC_E_INVALID_TOKEN true
}

// A machine bound to the real host lets two OS processes of one user hand
// a context over: this one authenticates the client and exports the
// server context, and the other, on its own HostMachine of the same host,
// imports it. HostMachine keeps its sealing key in a file under the user's
// config directory, so this example is compiled but not run.
func ExampleHostMachine() {
	m, err := fake.HostMachine(fake.MachineConfig{Name: "APP", Domain: "CONTOSO"})
	if errors.Is(err, fake.ErrNoHostIdentity) {
		fmt.Fprintln(os.Stderr, "this host has no machine identity:", err)
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	store := sspictx.NewStore(m.NewProcess())
	sc, _ := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	defer sc.Release()
	cc, _ := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	defer cc.Release()
	client := cc.NewClientContext("HOST/app", flags.ClientReqIntegrity)
	defer client.Delete()
	server := sc.NewServerContext(flags.ServerReqIntegrity)
	if err := fake.Handshake(client, server); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	blob, err := server.Export(flags.DeleteOld) // the server context now lives in blob
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	os.Stdout.Write(blob) // to the other process, say through a pipe

	// The other process reads blob and takes over:
	//
	//	m, err := fake.HostMachine(fake.MachineConfig{Name: "APP", Domain: "CONTOSO"})
	//	...
	//	server, err := sspictx.NewStore(m.NewProcess()).Import("NTLM", blob, nil)
}
