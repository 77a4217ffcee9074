package sspihttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/sspihttp"
)

// A server that greets its authenticated users and a client that logs on
// with NTLM, both on an emulated machine.
func Example() {
	m := fake.NewMachine(fake.MachineConfig{Name: "WEB01", Domain: "CONTOSO"})
	m.AddUser("CONTOSO", "alice", "Passw0rd!")

	auth, err := sspihttp.NewAuthenticator(sspictx.NewStore(m.NewProcess()), sspihttp.ServerConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer auth.Close()
	srv := httptest.NewUnstartedServer(auth.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := sspihttp.IdentityFrom(r.Context())
		fmt.Fprintf(w, "hello %s (%s over %s)", id.Name, id.Package, id.Scheme)
	})))
	auth.Configure(srv.Config)
	srv.Start()
	defer srv.Close()

	tr, err := sspihttp.NewTransport(sspictx.NewStore(m.NewProcess()),
		&sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "Passw0rd!"}, sspihttp.ClientConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK hello CONTOSO\alice (NTLM over Negotiate)
}

// The server side alone: Configure must run before the server serves.
func ExampleAuthenticator_Configure() {
	m := fake.NewMachine(fake.MachineConfig{Domain: "CONTOSO"})
	auth, err := sspihttp.NewAuthenticator(sspictx.NewStore(m.NewProcess()), sspihttp.ServerConfig{
		Schemes: []sspihttp.Scheme{sspihttp.NTLM}, // NTLM only
		Reuse:   sspihttp.ReuseNone,               // every request authenticates
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer auth.Close()
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: auth.Wrap(http.NotFoundHandler())}
	auth.Configure(srv)
	fmt.Println(srv.ConnContext != nil, srv.ConnState != nil)
	// Output: true true
}

// The SEC_CHANNEL_BINDINGS for a TLS connection, as both ends compute it
// from the server's certificate.
func ExampleChannelBindings() {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	b := sspihttp.ChannelBindings(srv.Certificate())
	fmt.Printf("%d-byte header, then %q...\n", 32, b[32:53])
	// Output: 32-byte header, then "tls-server-end-point:"...
}
