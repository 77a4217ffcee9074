package sspihttp

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

const (
	testDomain   = "CONTOSO"
	testUser     = "alice"
	testPassword = "Passw0rd!"
	testGroup    = "S-1-5-21-1-2-3-1104" // a group SID for the token
	testHost     = "web01.contoso.test"
)

// countingProcess is a fake process that counts and records the server's
// AcceptSecurityContext calls.
type countingProcess struct {
	*fake.Process
	accepts atomic.Int64
	mu      sync.Mutex
	tokens  [][]byte
	errs    []error
	flags   []flags.ServerReq
	// pkgInfoSaysNegotiate makes SECPKG_ATTR_PACKAGE_INFO name Negotiate
	// itself, as a backend may for a Negotiate context.
	pkgInfoSaysNegotiate atomic.Bool
}

func (p *countingProcess) QueryContextAttributes(h backend.Handle, attr backend.Attribute) (any, error) {
	v, err := p.Process.QueryContextAttributes(h, attr)
	if attr == backend.AttrPackageInfo && err == nil && p.pkgInfoSaysNegotiate.Load() {
		info := v.(backend.PackageInfo)
		info.Name = "Negotiate"
		return info, nil
	}
	return v, err
}

func (p *countingProcess) AcceptSecurityContext(req *backend.AcceptRequest) (backend.AcceptResult, error) {
	p.accepts.Add(1)
	res, err := p.Process.AcceptSecurityContext(req)
	p.mu.Lock()
	for _, b := range req.Input {
		if b.Type.Kind() == backend.BufferToken {
			p.tokens = append(p.tokens, append([]byte(nil), b.Data...))
		}
	}
	p.errs = append(p.errs, err)
	p.flags = append(p.flags, req.Flags)
	p.mu.Unlock()
	return res, err
}

// env is a server on loopback with the middleware in front of a handler
// that prints the identity, and what a test needs to reach it.
type env struct {
	t        *testing.T
	m        *fake.Machine
	clock    *fake.ManualClock
	proc     *countingProcess
	store    *sspictx.Store // the server's
	clients  *sspictx.Store // the clients'
	auth     *Authenticator
	ts       *httptest.Server
	cert     *x509.Certificate // the server's, under TLS
	statuses *statusLog
}

type envOpts struct {
	cfg      ServerConfig
	tls      bool
	getCert  bool // serve the certificate through GetCertificate
	lifetime time.Duration
	wrap     func(http.Handler) http.Handler // outside the middleware
	noHooks  bool
	http2    bool // the server offers HTTP/2 over TLS
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	// The clock starts now: real NTLM clients (curl's gss-ntlmssp) stamp their
	// responses with their own time, which the fake checks for skew.
	e := &env{t: t, clock: fake.NewManualClock(time.Now()), statuses: &statusLog{}}
	e.m = fake.NewMachine(fake.MachineConfig{Name: "WEB01", Domain: testDomain, Clock: e.clock.Now, ContextLifetime: o.lifetime})
	e.m.AddUser(testDomain, testUser, testPassword, testGroup)
	e.proc = &countingProcess{Process: e.m.NewProcess()}
	e.store = sspictx.NewStore(e.proc)
	e.clients = sspictx.NewStore(e.m.NewProcess())
	fake.CheckLeaks(t, e.store)
	fake.CheckLeaks(t, e.clients)
	if o.cfg.Now == nil {
		o.cfg.Now = e.clock.Now
	}
	if o.cfg.ErrorLog == nil {
		o.cfg.ErrorLog = log.New(testWriter{t}, "", 0)
	}
	a, err := NewAuthenticator(e.store, o.cfg)
	require.NoError(t, err)
	e.auth = a
	var h http.Handler = a.Wrap(http.HandlerFunc(whoami))
	if o.wrap != nil {
		h = o.wrap(h)
	}
	e.ts = httptest.NewUnstartedServer(e.statuses.wrap(h))
	if o.tls {
		cert, leaf := testCert(t, testHost)
		e.cert = leaf
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		if o.getCert {
			cfg = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }}
		}
		e.ts.Config.TLSConfig = cfg
	}
	if !o.noHooks {
		a.Configure(e.ts.Config)
	}
	if o.tls {
		e.ts.EnableHTTP2 = o.http2
		e.ts.TLS = e.ts.Config.TLSConfig
		e.ts.StartTLS()
	} else {
		e.ts.Start()
	}
	t.Cleanup(func() {
		e.ts.Close()
		require.NoError(t, a.Close())
	})
	return e
}

// whoami answers with the request's identity.
func whoami(w http.ResponseWriter, r *http.Request) {
	id, ok := IdentityFrom(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s|%s|%s|%s|%s", id.Name, id.Package, id.Scheme, strings.Join(id.Groups, ","), body)
}

// transport returns a Transport for user and password, closed when the
// test ends.
func (e *env) transport(user, password string, cfg ClientConfig) *Transport {
	e.t.Helper()
	if cfg.Base == nil {
		cfg.Base = e.ts.Client().Transport.(*http.Transport).Clone()
		if e.cert != nil {
			pool := x509.NewCertPool()
			pool.AddCert(e.cert)
			cfg.Base.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: testHost}
		}
	}
	tr, err := NewTransport(e.clients, &sspictx.AuthIdentity{Domain: testDomain, User: user, Password: password}, cfg)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { require.NoError(e.t, tr.Close()) })
	return tr
}

func (e *env) client(cfg ClientConfig) *http.Client {
	return &http.Client{Transport: e.transport(testUser, testPassword, cfg), Timeout: 20 * time.Second}
}

// get fetches the path and returns the status and body.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// statusLog records the status of every response the server sent.
type statusLog struct {
	mu    sync.Mutex
	codes []int
}

func (l *statusLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rw, r)
		l.mu.Lock()
		l.codes = append(l.codes, rw.code)
		l.mu.Unlock()
	})
}

func (l *statusLog) take() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.codes
	l.codes = nil
	return c
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testCert makes a self-signed ECDSA P-256 certificate (signed with
// SHA-256) for host.
func testCert(t testing.TB, host string) (tls.Certificate, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// rawConn is one client connection driven by hand, for what the
// Transport would never do: wrong bindings, abandoned handshakes, odd
// headers.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
	e  *env
}

func (e *env) dial() *rawConn {
	e.t.Helper()
	addr := e.ts.Listener.Addr().String()
	var c net.Conn
	var err error
	if e.cert != nil {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: testHost})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	require.NoError(e.t, err)
	e.t.Cleanup(func() { c.Close() })
	return &rawConn{t: e.t, c: c, br: bufio.NewReader(c), e: e}
}

// do sends a GET with the given Authorization header values and returns
// the response, its body read.
func (rc *rawConn) do(auth ...string) *http.Response {
	rc.t.Helper()
	req, err := http.NewRequest("GET", rc.e.ts.URL+"/", nil)
	require.NoError(rc.t, err)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	require.NoError(rc.t, rc.c.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(rc.t, req.Write(rc.c))
	resp, err := http.ReadResponse(rc.br, req)
	require.NoError(rc.t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(rc.t, err)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp
}

// clientCtx starts a client context of pkg for the test user, deleted
// and released when the test ends.
func (e *env) clientCtx(pkg Scheme, password string, bindings []byte) *sspictx.ClientContext {
	e.t.Helper()
	cred, err := e.clients.AcquireCredentials(string(pkg), flags.Outbound, &sspictx.AuthIdentity{Domain: testDomain, User: testUser, Password: password})
	require.NoError(e.t, err)
	cc := cred.NewClientContext("HTTP/web01.contoso.test", 0)
	if bindings != nil {
		cc.SetChannelBindings(bindings)
	}
	e.t.Cleanup(func() {
		_ = cc.Delete()
		_ = cred.Release()
	})
	return cc
}

// step runs a client step that must succeed.
func step(t *testing.T, cc *sspictx.ClientContext, in []byte) ([]byte, bool) {
	t.Helper()
	out, done, err := cc.Step(in)
	require.NoError(t, err)
	return out, done
}

// serverToken returns the token of scheme in a response.
func serverToken(t *testing.T, resp *http.Response, s Scheme) []byte {
	t.Helper()
	tok, ok := tokenIn(resp, s)
	require.True(t, ok, "no %s token in %q", s, resp.Header.Values("WWW-Authenticate"))
	return tok
}

// handshake runs a whole handshake by hand on rc and returns the last
// response.
func (rc *rawConn) handshake(s Scheme, cc *sspictx.ClientContext) *http.Response {
	rc.t.Helper()
	out, done := step(rc.t, cc, nil)
	for {
		resp := rc.do(formatToken(s, out))
		if resp.StatusCode != http.StatusUnauthorized || done {
			return resp
		}
		tok, ok := tokenIn(resp, s)
		if !ok {
			return resp
		}
		out, done = step(rc.t, cc, tok)
	}
}
