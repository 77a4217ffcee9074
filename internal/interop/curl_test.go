package interop

import (
	"bytes"
	gocontext "context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// curl against an HTTP endpoint served by the fake: --ntlm (curl's own
// NTLM) and --negotiate (SPNEGO through MIT GSSAPI, with gss-ntlmssp for
// NTLM and, given a ticket, Kerberos offered first). HTTP carries no
// message protection, so only the handshake, the name and a wrong
// password are held against curl.

const (
	peerCurlNTLM      = "curl --ntlm"
	peerCurlNegotiate = "curl --negotiate (GSSAPI)"
	peerCurlKerberos  = "curl --negotiate (GSSAPI), Kerberos first"
)

type connKey struct{}

// httpEndpoint is a resource that the fake's acceptor protects with the
// HTTP authentication scheme of RFC 4559 ("NTLM" or "Negotiate"). NTLM
// authenticates a connection, not a request, so each connection has its
// own server context.
type httpEndpoint struct {
	t      *testing.T
	scheme string
	cred   *sspictx.Credentials
	srv    *httptest.Server

	mu      sync.Mutex
	conns   map[net.Conn]*httpConn
	results []handshakeResult
}

// httpConn is the handshake in progress on one connection.
type httpConn struct {
	sc *sspictx.ServerContext
	tr transcript
}

// handshakeResult is how one connection's handshake ended.
type handshakeResult struct {
	user string
	err  error
	tr   transcript
}

func newHTTPEndpoint(t *testing.T, scheme, pkg string) *httpEndpoint {
	t.Helper()
	store, _ := fake.NewTestStore(t, fake.User{Domain: testDomain, Name: testUser, Password: testPassword})
	cred, err := store.AcquireCredentials(pkg, flags.Inbound, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &httpEndpoint{t: t, scheme: scheme, cred: cred, conns: map[net.Conn]*httpConn{}}
	e.srv = httptest.NewUnstartedServer(e)
	e.srv.Config.ConnContext = func(ctx gocontext.Context, c net.Conn) gocontext.Context {
		return gocontext.WithValue(ctx, connKey{}, c)
	}
	e.srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed || st == http.StateHijacked {
			e.drop(c)
		}
	}
	e.srv.Start()
	t.Cleanup(func() {
		e.srv.Close()
		e.mu.Lock()
		for _, hc := range e.conns {
			_ = hc.sc.Delete()
		}
		e.mu.Unlock()
		_ = cred.Release()
	})
	return e
}

// url names the endpoint by host name, so a Negotiate client asks for
// HTTP@localhost.
func (e *httpEndpoint) url() string {
	return fmt.Sprintf("http://localhost:%d/", e.srv.Listener.Addr().(*net.TCPAddr).Port)
}

// finish ends a connection's handshake and records how it ended.
func (e *httpEndpoint) finish(c net.Conn, user string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	hc, ok := e.conns[c]
	if !ok {
		return
	}
	delete(e.conns, c)
	_ = hc.sc.Delete()
	e.results = append(e.results, handshakeResult{user: user, err: err, tr: hc.tr})
}

// drop forgets a closed connection's unfinished handshake.
func (e *httpEndpoint) drop(c net.Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if hc, ok := e.conns[c]; ok {
		delete(e.conns, c)
		_ = hc.sc.Delete()
	}
}

func (e *httpEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := r.Context().Value(connKey{}).(net.Conn)
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, e.scheme) || value == "" {
		w.Header().Set("WWW-Authenticate", e.scheme)
		http.Error(w, "authenticate", http.StatusUnauthorized)
		return
	}
	tok, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		http.Error(w, "bad token", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	hc := e.conns[c]
	if hc == nil {
		hc = &httpConn{sc: e.cred.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)}
		e.conns[c] = hc
	}
	hc.tr = append(hc.tr, wireToken{fromInitiator: true, tok: tok})
	e.mu.Unlock()
	// Requests on one connection come one at a time, so the context is
	// not stepped concurrently.
	out, done, err := hc.sc.Step(tok)
	if err != nil {
		e.finish(c, "", err)
		w.Header().Set("WWW-Authenticate", e.scheme)
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	if len(out) > 0 {
		e.mu.Lock()
		hc.tr = append(hc.tr, wireToken{tok: out})
		e.mu.Unlock()
		w.Header().Set("WWW-Authenticate", e.scheme+" "+base64.StdEncoding.EncodeToString(out))
	}
	if !done {
		http.Error(w, "continue", http.StatusUnauthorized)
		return
	}
	user, err := hc.sc.UserName()
	e.finish(c, user, err)
	fmt.Fprintf(w, "hello %s\n", user)
}

// result returns the one handshake the endpoint saw.
func (e *httpEndpoint) result() (handshakeResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.results) != 1 {
		return handshakeResult{}, fmt.Errorf("the endpoint saw %d finished handshakes, want 1: %+v", len(e.results), e.results)
	}
	return e.results[0], nil
}

// runCurl fetches the endpoint and returns the HTTP status and body.
func runCurl(t *testing.T, env []string, args ...string) (int, string, error) {
	t.Helper()
	argv := append([]string{"-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}"}, args...)
	cmd := exec.Command("curl", argv...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return 0, "", fmt.Errorf("curl: %v: %s", err, stderr.String())
		}
	case <-time.After(callTimeout + 5*time.Second):
		_ = cmd.Process.Kill()
		return 0, "", fmt.Errorf("curl hung; stderr: %s", stderr.String())
	}
	out := stdout.String()
	i := strings.LastIndexByte(out, '\n')
	var code int
	if _, err := fmt.Sscanf(out[i+1:], "%d", &code); err != nil {
		return 0, "", fmt.Errorf("curl printed no status: %q", out)
	}
	return code, strings.TrimSpace(out[:i]), nil
}

// curlRow holds curl against the fake's endpoint: the handshake and the
// name with the right password, SEC_E_LOGON_DENIED with a wrong one.
type curlRow struct {
	peer    string
	scheme  string // HTTP scheme, and how curl is told to use it
	pkg     string // the fake's package behind the scheme
	args    func(t *testing.T, password string) (env []string, args []string)
	checkTr func(t *testing.T, tr transcript)
}

func (c curlRow) run(t *testing.T) {
	r := recorder{t: t, row: pairing{peer: c.peer}}
	r.mark(outNA, opKey, opSign, opSeal, opTamper, opReplay, opExport)
	attempt := func(password string) (int, string, handshakeResult, error) {
		e := newHTTPEndpoint(t, c.scheme, c.pkg)
		env, args := c.args(t, password)
		code, body, err := runCurl(t, env, append(args, e.url())...)
		if err != nil {
			return 0, "", handshakeResult{}, err
		}
		res, err := e.result()
		return code, body, res, err
	}
	code, body, res, err := attempt(testPassword)
	ok := r.check(opHandshake, func() error {
		if err != nil {
			return err
		}
		if res.err != nil {
			return fmt.Errorf("the fake refused curl: %w", res.err)
		}
		if code != http.StatusOK {
			return fmt.Errorf("curl got HTTP %d: %s", code, body)
		}
		return nil
	})
	if ok {
		if c.checkTr != nil {
			c.checkTr(t, res.tr)
		}
		r.check(opNames, func() error {
			if res.user != testClient || body != "hello "+testClient {
				return fmt.Errorf("the fake authenticated %q and curl read %q, want %q", res.user, body, testClient)
			}
			return nil
		})
	} else {
		r.mark(outNotReached, opNames)
	}
	r.check(opPassword, func() error {
		code, body, res, err := attempt(badPassword)
		if err != nil {
			return err
		}
		if code != http.StatusUnauthorized {
			return fmt.Errorf("curl got HTTP %d with a wrong password: %s", code, body)
		}
		if res.err == nil {
			return errors.New("the fake accepted a wrong password")
		}
		return wantStatus(res.err, sspictx.StatusLogonDenied, "a wrong password")
	})
}

func TestCurlNTLM(t *testing.T) {
	tier(t, toolCurl)
	curlRow{peer: peerCurlNTLM, scheme: "NTLM", pkg: "NTLM", args: func(t *testing.T, password string) ([]string, []string) {
		d := newPeerDir(t)
		return childEnv("HOME=" + d.dir), []string{"--ntlm", "-u", testClient + ":" + password}
	}}.run(t)
}

func TestCurlNegotiate(t *testing.T) {
	tier(t, toolCurl, toolNTLMSSP)
	curlRow{peer: peerCurlNegotiate, scheme: "Negotiate", pkg: "Negotiate", args: func(t *testing.T, password string) ([]string, []string) {
		d := newPeerDir(t)
		return d.gssEnv(ntlmUsers(password), ""), []string{"--negotiate", "-u", ":"}
	}}.run(t)
}

func TestCurlNegotiateKerberosFirst(t *testing.T) {
	tier(t, toolCurl, toolNTLMSSP, toolKDC)
	realm := startRealm(t)
	curlRow{peer: peerCurlKerberos, scheme: "Negotiate", pkg: "Negotiate", checkTr: wantKerberosFirst,
		args: func(t *testing.T, password string) ([]string, []string) {
			d := newPeerDir(t)
			cc := realm.ticket(t, d)
			return d.gssEnv(ntlmUsers(password), realm.conf, "KRB5CCNAME="+cc), []string{"--negotiate", "-u", ":"}
		}}.run(t)
}
