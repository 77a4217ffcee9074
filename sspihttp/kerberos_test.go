package sspihttp

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/internal/spnego"
)

// Kerberos end to end through the middleware and the Transport: the
// server on WEB01 of a fake domain, whose computer account holds
// HTTP/web01.contoso.test, the client on WS01 as CONTOSO\alice with a
// ticket from the domain's KDC. Negotiate then takes one leg (RFC 4559):
// the client's NegTokenInit with the AP-REQ, answered by the 200 with the
// server's final token, accept-completed and the AP-REP, which the
// Transport checks before it returns the response.

// krbEnv is a fake domain with WEB01 serving the middleware and WS01 for
// clients.
type krbEnv struct {
	t        *testing.T
	proc     *countingProcess // WEB01's server process
	clients  *sspictx.Store   // on WS01
	ts       *httptest.Server
	cert     *x509.Certificate
	statuses *statusLog
}

func newKrbEnv(t *testing.T, cfg ServerConfig, useTLS bool, wrap func(http.Handler) http.Handler) *krbEnv {
	t.Helper()
	dom, err := fake.NewDomain(fake.DomainConfig{Name: testDomain, DNSName: "contoso.test"})
	require.NoError(t, err)
	_, err = dom.AddUser(testUser, testPassword)
	require.NoError(t, err)
	web01, err := dom.NewMachine(fake.MachineConfig{Name: "WEB01"})
	require.NoError(t, err)
	ws01, err := dom.NewMachine(fake.MachineConfig{Name: "WS01"})
	require.NoError(t, err)
	require.NoError(t, dom.AddSPN("WEB01$", "HTTP/"+testHost))

	e := &krbEnv{t: t, proc: &countingProcess{Process: web01.NewProcess()}, clients: sspictx.NewStore(ws01.NewProcess()), statuses: &statusLog{}}
	store := sspictx.NewStore(e.proc)
	fake.CheckLeaks(t, store)
	fake.CheckLeaks(t, e.clients)
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.New(testWriter{t}, "", 0)
	}
	a, err := NewAuthenticator(store, cfg)
	require.NoError(t, err)
	var h http.Handler = a.Wrap(http.HandlerFunc(whoami))
	if wrap != nil {
		h = wrap(h)
	}
	e.ts = httptest.NewUnstartedServer(e.statuses.wrap(h))
	if useTLS {
		cert, leaf := testCert(t, testHost)
		e.cert = leaf
		e.ts.Config.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	a.Configure(e.ts.Config)
	if useTLS {
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

// client is a client for alice on WS01 that names the server by its SPN
// whatever the URL's host (the test server listens on 127.0.0.1).
func (e *krbEnv) client(cfg ClientConfig) *http.Client {
	e.t.Helper()
	cfg.Base = e.ts.Client().Transport.(*http.Transport).Clone()
	if e.cert != nil {
		pool := x509.NewCertPool()
		pool.AddCert(e.cert)
		cfg.Base.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: testHost}
	}
	cfg.SPN = func(*http.Request) string { return "HTTP/" + testHost }
	tr, err := NewTransport(e.clients, &sspictx.AuthIdentity{Domain: testDomain, User: testUser, Password: testPassword}, cfg)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { require.NoError(e.t, tr.Close()) })
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// tokensAccepted returns the tokens the server's AcceptSecurityContext
// took, and forgets them.
func (e *krbEnv) tokensAccepted() [][]byte {
	e.proc.mu.Lock()
	defer e.proc.mu.Unlock()
	t := e.proc.tokens
	e.proc.tokens = nil
	return t
}

func TestKerberosOneLeg(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
		ep   ExtendedProtection
	}{
		{"http", false, ProtectionAllow},
		{"https, Extended Protection required", true, ProtectionRequire},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var finals []string
			e := newKrbEnv(t, ServerConfig{ExtendedProtection: tc.ep}, tc.tls, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.ServeHTTP(w, r)
					if r.Header.Get("Authorization") != "" {
						mu.Lock()
						finals = append(finals, w.Header().Get("WWW-Authenticate"))
						mu.Unlock()
					}
				})
			})
			c := e.client(ClientConfig{ExtendedProtection: tc.ep})
			for i := range 2 {
				code, body := get(t, c, e.ts.URL)
				require.Equal(t, http.StatusOK, code, body)
				assert.True(t, strings.HasPrefix(body, `CONTOSO\alice|Kerberos|Negotiate|`), body)
				// Kerberos identities are not kept on the connection by
				// default: each request is a 401 and one leg.
				assert.Equal(t, []int{401, 200}, e.statuses.take(), "request %d", i)
				toks := e.tokensAccepted()
				require.Len(t, toks, 1, "request %d: one leg", i)
				init, err := spnego.ParseNegTokenInit(toks[0])
				require.NoError(t, err)
				assert.True(t, init.MechTypes[0].Equal(spnego.OIDMSKerberos) || init.MechTypes[0].Equal(spnego.OIDKerberos), "offered %v", init.MechTypes)
				require.NotEmpty(t, init.MechToken)
			}
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, finals, 2)
			for _, f := range finals {
				tok, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f, "Negotiate "))
				require.NoError(t, err, f)
				resp, err := spnego.ParseNegTokenResp(tok)
				require.NoError(t, err)
				assert.Equal(t, spnego.AcceptCompleted, resp.NegState)
				assert.NotEmpty(t, resp.ResponseToken, "the AP-REP")
			}
		})
	}
}

// TestKerberosMutualAuth changes or drops the server's final token, the
// AP-REP: the Transport must not return the response.
func TestKerberosMutualAuth(t *testing.T) {
	for name, edit := range map[string]func(string) string{
		"tampered": func(v string) string {
			tok, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "Negotiate "))
			tok[len(tok)-1] ^= 1
			return "Negotiate " + base64.StdEncoding.EncodeToString(tok)
		},
		"dropped": func(string) string { return "" },
	} {
		t.Run(name, func(t *testing.T) {
			e := newKrbEnv(t, ServerConfig{}, false, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.ServeHTTP(&headerEditor{ResponseWriter: w, edit: edit}, r)
				})
			})
			_, err := e.client(ClientConfig{}).Get(e.ts.URL)
			assert.ErrorIs(t, err, ErrMutualAuth)
			assert.Len(t, e.tokensAccepted(), 1, "the server accepted the one leg")
		})
	}
}
