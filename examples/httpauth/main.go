// Command httpauth serves a page behind Negotiate and NTLM authentication
// and fetches it as a user, with gosspi's sspihttp on the emulated SSPI
// (or, on Windows, the real one).
//
// Serve, with users of an emulated machine given on the command line:
//
//	go run ./examples/httpauth serve -addr 127.0.0.1:8080 -user 'CONTOSO\alice:Passw0rd!' -user 'CONTOSO\bob:Secret1'
//
// Fetch the page as a user, with the Go client:
//
//	go run ./examples/httpauth get -user 'CONTOSO\alice:Passw0rd!' http://127.0.0.1:8080/
//
// or with curl:
//
//	curl --ntlm -u 'CONTOSO\alice:Passw0rd!' http://127.0.0.1:8080/
//
// serve -tls serves HTTPS with a throwaway self-signed certificate (get
// -insecure trusts it), and both sides bind their handshakes to the TLS
// channel. On Windows, -backend windows uses secur32.dll: serve
// authenticates the machine's and domain's real users, and get without
// -user logs on as the current user.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gosspi/gosspi/backend/fake"
	"github.com/gosspi/gosspi/backend/winsspi"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/sspihttp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpauth:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  httpauth serve [-addr host:port] [-domain NAME] [-user 'DOMAIN\user:password']... [-tls] [-backend fake|windows]
  httpauth get [-user 'DOMAIN\user:password'] [-insecure] [-backend fake|windows] URL`

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "serve":
		return serveCmd(ctx, args[1:], out, nil)
	case "get":
		return getCmd(ctx, args[1:], out)
	}
	return errors.New(usage)
}

// users collects repeated -user flags.
type users []string

func (u *users) String() string     { return strings.Join(*u, ",") }
func (u *users) Set(v string) error { *u = append(*u, v); return nil }

// account splits `DOMAIN\user:password`.
func account(v string) (domain, user, password string, err error) {
	who, password, ok := strings.Cut(v, ":")
	if !ok {
		return "", "", "", fmt.Errorf("-user %q: want DOMAIN\\user:password", v)
	}
	domain, user, ok = strings.Cut(who, `\`)
	if !ok {
		user, domain = who, ""
	}
	return domain, user, password, nil
}

// newStore returns a Store on the chosen backend; for the fake, on a new
// process of m.
func newStore(backend string, m *fake.Machine) (*sspictx.Store, error) {
	switch backend {
	case "fake":
		return sspictx.NewStore(m.NewProcess()), nil
	case "windows":
		b, err := winsspi.New()
		if err != nil {
			return nil, err
		}
		return sspictx.NewStore(b), nil
	}
	return nil, fmt.Errorf("-backend %q: want fake or windows", backend)
}

// serveCmd serves until ctx ends. ready, if not nil, receives the URL
// once the server listens (for the test).
func serveCmd(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	domain := fs.String("domain", "CONTOSO", "the emulated machine's domain")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a self-signed certificate")
	backend := fs.String("backend", "fake", "fake, or windows for secur32.dll")
	var us users
	fs.Var(&us, "user", `an account of the emulated machine, 'DOMAIN\user:password' (repeat it)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	m := fake.NewMachine(fake.MachineConfig{Name: "WEB01", Domain: *domain})
	for _, u := range us {
		d, name, pw, err := account(u)
		if err != nil {
			return err
		}
		m.AddUser(d, name, pw)
	}
	store, err := newStore(*backend, m)
	if err != nil {
		return err
	}
	auth, err := sspihttp.NewAuthenticator(store, sspihttp.ServerConfig{})
	if err != nil {
		return err
	}
	defer auth.Close()
	srv := &http.Server{Handler: auth.Wrap(http.HandlerFunc(hello)), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if *useTLS {
		cert, err := selfSigned()
		if err != nil {
			return err
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		scheme = "https"
	}
	auth.Configure(srv) // after TLSConfig: it needs the certificate for Extended Protection
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	url := scheme + "://" + l.Addr().String() + "/"
	fmt.Fprintf(out, "serving %s for %d user(s) of %s; try: curl --ntlm -u '%s\\user:password' %s\n", url, len(us), *domain, *domain, url)
	if ready != nil {
		ready <- url
	}
	errc := make(chan error, 1)
	go func() {
		if *useTLS {
			errc <- srv.ServeTLS(l, "", "")
		} else {
			errc <- srv.Serve(l)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}

// hello tells the client who it is.
func hello(w http.ResponseWriter, r *http.Request) {
	id, _ := sspihttp.IdentityFrom(r.Context())
	fmt.Fprintf(w, "hello %s (%s over %s)\nSID %s\ngroups %s\n", id.Name, id.Package, id.Scheme, id.SID, strings.Join(id.Groups, " "))
}

func getCmd(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	user := fs.String("user", "", `'DOMAIN\user:password'; empty: the current user (Windows backend)`)
	insecure := fs.Bool("insecure", false, "trust any server certificate")
	backend := fs.String("backend", "fake", "fake, or windows for secur32.dll")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New(usage)
	}
	var id *sspictx.AuthIdentity
	if *user != "" {
		d, name, pw, err := account(*user)
		if err != nil {
			return err
		}
		id = &sspictx.AuthIdentity{Domain: d, User: name, Password: pw}
	}
	// The client's machine needs no accounts: NTLM computes its answer
	// from the password.
	store, err := newStore(*backend, fake.NewMachine(fake.MachineConfig{Name: "CLIENT01"}))
	if err != nil {
		return err
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{InsecureSkipVerify: *insecure}
	tr, err := sspihttp.NewTransport(store, id, sspihttp.ClientConfig{Base: base})
	if err != nil {
		return err
	}
	defer tr.Close()
	req, err := http.NewRequestWithContext(ctx, "GET", fs.Arg(0), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	fmt.Fprintln(out, resp.Status)
	_, err = io.Copy(out, resp.Body)
	return err
}

// selfSigned makes a throwaway certificate for localhost.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
