package context_test

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// The API tour of README.md: credentials, an NTLM handshake step by step,
// signing, sealing, the client's access token, and a hand-off of the
// server context to another process on the same machine.
func Example() {
	// An emulated machine with one user. On Windows, winsspi.New() gives
	// the real SSPI instead, and nothing below changes.
	m := fake.NewMachine(fake.MachineConfig{Name: "WEB01", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	store := sspictx.NewStore(m.NewProcess())

	srvCred, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	check(err)
	defer srvCred.Release()
	cliCred, err := store.AcquireCredentials("NTLM", flags.Outbound,
		&sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	check(err)
	defer cliCred.Release()

	// Each Step takes the peer's last token and returns the next one to
	// send, and done once its side is established.
	client := cliCred.NewClientContext("HTTP/web01.contoso.test", flags.ClientReqIntegrity)
	defer client.Delete()
	server := srvCred.NewServerContext(flags.ServerReqIntegrity)
	defer server.Delete()
	negotiate, _, err := client.Step(nil) // InitializeSecurityContext
	check(err)
	challenge, _, err := server.Step(negotiate) // AcceptSecurityContext
	check(err)
	authenticate, clientDone, err := client.Step(challenge)
	check(err)
	_, serverDone, err := server.Step(authenticate)
	check(err)
	fmt.Println("done:", clientDone, serverDone)

	who, err := server.UserName() // QueryContextAttributes(SECPKG_ATTR_NAMES)
	check(err)
	fmt.Println("client:", who)

	msg := []byte("GET /report")
	sig, err := client.Sign(msg) // MakeSignature
	check(err)
	fmt.Println("verify:", server.Verify(msg, sig)) // VerifySignature
	trailer, data, err := client.Seal(msg)          // EncryptMessage
	check(err)
	plain, err := server.Unseal(trailer, data) // DecryptMessage
	check(err)
	fmt.Printf("unsealed: %s\n", plain)

	token, err := server.AccessToken() // QuerySecurityContextToken
	check(err)
	info, err := token.Info()
	check(err)
	fmt.Println("token user:", info.User)
	check(token.Close())

	// Another process on the same machine takes the server context over.
	blob, err := server.Export(flags.DeleteOld) // ExportSecurityContext
	check(err)
	worker := sspictx.NewStore(m.NewProcess())
	ctx, err := worker.Import("NTLM", blob, nil) // ImportSecurityContext
	check(err)
	defer ctx.Delete()
	sig, err = client.Sign(msg)
	check(err)
	fmt.Println("worker verifies:", ctx.Verify(msg, sig))
	_, err = server.Sizes()
	fmt.Println("old server handle:", sspictx.StatusOf(err).Name())
	// Output:
	// done: true true
	// client: CONTOSO\alice
	// verify: <nil>
	// unsealed: GET /report
	// token user: CONTOSO\alice
	// worker verifies: <nil>
	// old server handle: SEC_E_INVALID_HANDLE
}

// check ends the tour at the first error; real code returns it.
func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// Raw reaches an attribute gosspi does not wrap: which package a
// Negotiate context chose.
func ExampleContext_Raw() {
	m := fake.NewMachine(fake.MachineConfig{Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	store := sspictx.NewStore(m.NewProcess())
	sc, _ := store.AcquireCredentials("Negotiate", flags.Inbound, nil)
	defer sc.Release()
	cc, _ := store.AcquireCredentials("Negotiate", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	defer cc.Release()
	client := cc.NewClientContext("HTTP/web01.contoso.test", 0)
	defer client.Delete()
	server := sc.NewServerContext(0)
	defer server.Delete()
	if err := fake.Handshake(client, server); err != nil {
		fmt.Println(err)
		return
	}

	err := server.Raw(func(b backend.Backend, h backend.Handle) error {
		v, err := b.QueryContextAttributes(h, backend.AttrNegotiationInfo)
		if err != nil {
			return err
		}
		fmt.Println(server.Package(), "chose", v.(backend.NegotiationInfo).Package.Name)
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// Negotiate chose NTLM
}

// SealInPlace encrypts a large message in the caller's buffer: only the
// trailer is allocated. The message and its trailer travel together, and
// the receiver decrypts them in place too.
func ExampleContext_SealInPlace() {
	m := fake.NewMachine(fake.MachineConfig{Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")
	store := sspictx.NewStore(m.NewProcess())
	sc, _ := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	defer sc.Release()
	cc, _ := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"})
	defer cc.Release()
	client := cc.NewClientContext("HOST/web01", flags.ClientReqConfidentiality)
	defer client.Delete()
	server := sc.NewServerContext(0)
	defer server.Delete()
	if err := fake.Handshake(client, server); err != nil {
		fmt.Println(err)
		return
	}

	buf := []byte("a report of many megabytes")
	trailer, err := client.SealInPlace(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("still readable:", string(buf) == "a report of many megabytes")
	plain, err := server.UnsealInPlace(trailer, buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("unsealed: %s\n", plain)
	// Output:
	// still readable: false
	// unsealed: a report of many megabytes
}

// CheckLeaks lists what the store handed out and nobody released; each
// leak also says where it was created (Leak.Created).
func ExampleStore_CheckLeaks() {
	m := fake.NewMachine(fake.MachineConfig{Domain: "CONTOSO"})
	store := sspictx.NewStore(m.NewProcess())
	cred, _ := store.AcquireCredentials("ntlm", flags.Inbound, nil)

	var leaks *sspictx.LeakError
	if errors.As(store.CheckLeaks(), &leaks) {
		for _, l := range leaks.Leaks {
			fmt.Println("leaked:", l.What)
		}
	}
	cred.Release()
	fmt.Println("after Release:", store.CheckLeaks())
	// Output:
	// leaked: NTLM inbound credential for current user
	// after Release: <nil>
}

// The README's API tour is Example's code, so that the tour compiles and
// prints what Example checks.
func TestREADMETourIsExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, tour, ok := strings.Cut(string(readme), "\n## API tour\n")
	require.True(t, ok, "README.md has no API tour section")
	tour, _, _ = strings.Cut(tour, "\n## ")
	_, code, ok := strings.Cut(tour, "\n```go\n")
	require.True(t, ok, "the API tour has no Go code block")
	code, _, ok = strings.Cut(code, "\n```\n")
	require.True(t, ok, "the API tour's code block does not end")

	fset := token.NewFileSet()
	tourFile, err := parser.ParseFile(fset, "README.md", code, parser.ParseComments)
	require.NoError(t, err, "the API tour's code block is not a Go file")
	src, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	exampleFile, err := parser.ParseFile(fset, "example_test.go", src, parser.ParseComments)
	require.NoError(t, err)

	require.Equal(t,
		funcSource(t, fset, exampleFile, src, "Example", true),
		funcSource(t, fset, tourFile, []byte(code), "main", true),
		"the body of main in README.md's API tour must be Example's in context/example_test.go")
	require.Equal(t,
		funcSource(t, fset, exampleFile, src, "check", false),
		funcSource(t, fset, tourFile, []byte(code), "check", false),
		"README.md's API tour must define check as context/example_test.go does")
}

// funcSource returns the source of the named function in f: its body, or
// the whole declaration with its doc comment.
func funcSource(t *testing.T, fset *token.FileSet, f *ast.File, src []byte, name string, bodyOnly bool) string {
	t.Helper()
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != name {
			continue
		}
		var start, end token.Pos
		switch {
		case bodyOnly:
			start, end = fn.Body.Lbrace+1, fn.Body.Rbrace
		case fn.Doc != nil:
			start, end = fn.Doc.Pos(), fn.End()
		default:
			start, end = fn.Pos(), fn.End()
		}
		return string(bytes.TrimSpace(src[fset.Position(start).Offset:fset.Position(end).Offset]))
	}
	t.Fatalf("no func %s", name)
	return ""
}
