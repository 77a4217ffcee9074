package sspihttp

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
)

var bothSchemes = []Scheme{NTLM, Negotiate}

func TestAuthenticates(t *testing.T) {
	for _, s := range bothSchemes {
		t.Run(string(s), func(t *testing.T) {
			e := newEnv(t, envOpts{})
			c := e.client(ClientConfig{Schemes: []Scheme{s}})
			code, body := get(t, c, e.ts.URL)
			require.Equal(t, http.StatusOK, code, body)
			parts := strings.Split(body, "|")
			assert.Equal(t, `CONTOSO\alice`, parts[0])
			assert.Equal(t, "NTLM", parts[1], "the package that ran")
			assert.Equal(t, string(s), parts[2])
			assert.Contains(t, parts[3], testGroup)
			assert.Equal(t, []int{401, 401, 200}, e.statuses.take(), "challenge, one token leg, success")

			// The connection keeps its NTLM identity: no new handshake.
			accepts := e.proc.accepts.Load()
			code, _ = get(t, c, e.ts.URL)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, accepts, e.proc.accepts.Load())
			assert.Equal(t, []int{200}, e.statuses.take())
			assert.Equal(t, 1, e.auth.Stats().Established)
		})
	}
}

func TestReuseNone(t *testing.T) {
	e := newEnv(t, envOpts{cfg: ServerConfig{Reuse: ReuseNone}})
	c := e.client(ClientConfig{Schemes: []Scheme{NTLM}})
	for range 3 {
		code, _ := get(t, c, e.ts.URL)
		require.Equal(t, http.StatusOK, code)
	}
	assert.Equal(t, []int{401, 401, 200, 401, 401, 200, 401, 401, 200}, e.statuses.take())
	assert.Zero(t, e.auth.Stats().Established)
}

// TestConcurrent shares one Transport among 50 goroutines: every request
// must be authenticated, which a shared http.Transport cannot promise.
func TestConcurrent(t *testing.T) {
	for _, s := range bothSchemes {
		t.Run(string(s), func(t *testing.T) {
			e := newEnv(t, envOpts{})
			c := e.client(ClientConfig{Schemes: []Scheme{s}})
			const n = 50
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := c.Get(e.ts.URL)
					if err != nil {
						errs <- err
						return
					}
					defer resp.Body.Close()
					b := new(bytes.Buffer)
					_, _ = b.ReadFrom(resp.Body)
					if resp.StatusCode != http.StatusOK || !strings.HasPrefix(b.String(), `CONTOSO\alice|`) {
						errs <- errors.New(resp.Status + ": " + b.String())
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestWrongPasswordThenRight(t *testing.T) {
	for _, s := range bothSchemes {
		t.Run(string(s), func(t *testing.T) {
			e := newEnv(t, envOpts{})
			bad := &http.Client{Transport: e.transport(testUser, "wrong", ClientConfig{Schemes: []Scheme{s}})}
			code, _ := get(t, bad, e.ts.URL)
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.Equal(t, []int{401, 401, 401}, e.statuses.take(), "no second try with a wrong password")
			code, _ = get(t, e.client(ClientConfig{Schemes: []Scheme{s}}), e.ts.URL)
			assert.Equal(t, http.StatusOK, code)
		})
	}
}

func TestRemovedUser(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.m.RemoveUser(testDomain, testUser)
	c := e.client(ClientConfig{})
	code, _ := get(t, c, e.ts.URL)
	assert.Equal(t, http.StatusUnauthorized, code)
	e.m.AddUser(testDomain, testUser, testPassword)
	code, _ = get(t, c, e.ts.URL)
	assert.Equal(t, http.StatusOK, code, "a fresh handshake recovers")
}

// TestExpiredContext lets the connection's context outlive its lifetime:
// the next request gets a 401 and the client's new handshake succeeds.
func TestExpiredContext(t *testing.T) {
	e := newEnv(t, envOpts{lifetime: time.Hour})
	c := e.client(ClientConfig{Schemes: []Scheme{NTLM}})
	code, _ := get(t, c, e.ts.URL)
	require.Equal(t, http.StatusOK, code)
	e.statuses.take()
	e.clock.Advance(2 * time.Hour)
	code, _ = get(t, c, e.ts.URL)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, []int{401, 401, 200}, e.statuses.take(), "the expired identity is dropped and the client authenticates anew")
	assert.Equal(t, 1, e.auth.Stats().Established)
}

func TestBackendFault(t *testing.T) {
	for _, s := range bothSchemes {
		t.Run(string(s), func(t *testing.T) {
			e := newEnv(t, envOpts{})
			e.proc.FailNth(backend.OpAcceptSecurityContext, 2, sspictx.StatusInternalError)
			c := e.client(ClientConfig{Schemes: []Scheme{s}})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL, nil)
			resp, err := c.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			code, _ := get(t, c, e.ts.URL)
			assert.Equal(t, http.StatusOK, code, "the next handshake works")
		})
	}
}

func TestMissingHooks(t *testing.T) {
	e := newEnv(t, envOpts{noHooks: true})
	code, _ := get(t, e.client(ClientConfig{}), e.ts.URL)
	assert.Equal(t, http.StatusInternalServerError, code)
}

func TestClosedAuthenticator(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(ClientConfig{})
	code, _ := get(t, c, e.ts.URL)
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, e.auth.Close())
	code, _ = get(t, c, e.ts.URL)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Zero(t, e.auth.Stats().Established)
}

func TestHeaders(t *testing.T) {
	e := newEnv(t, envOpts{cfg: ServerConfig{MaxHeaderBytes: 4096}})
	rc := e.dial()
	cases := []struct {
		name string
		auth []string
		want int
	}{
		{"none", nil, 401},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, 401},
		{"bearer", []string{"Bearer abc.def.ghi"}, 401},
		{"digest", []string{`Digest username="a", realm="b"`}, 401},
		{"scheme only", []string{"NTLM"}, 400},
		{"not base64", []string{"NTLM %%%%"}, 400},
		{"params", []string{"Negotiate a=b"}, 400},
		{"two tokens", []string{"NTLM YWJj ZGVm"}, 400},
		{"no scheme", []string{"  "}, 400},
		{"bad scheme", []string{"NT(LM YWJj"}, 400},
		{"two headers", []string{"NTLM YWJj", "NTLM ZGVm"}, 400},
		{"oversized", []string{"NTLM " + strings.Repeat("A", 8192)}, 400},
		{"garbage token", []string{"NTLM " + formatToken("", []byte("garbage"))[1:]}, 401},
		{"lower-case scheme, garbage", []string{"ntlm Z2FyYmFnZQ=="}, 401},
		{"continuation without handshake", []string{formatToken(NTLM, append(append([]byte(nil), ntlmSignature...), 3, 0, 0, 0))}, 401},
		{"negotiate resp without handshake", []string{formatToken(Negotiate, []byte{0xa1, 0x00})}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := rc.do(tc.auth...)
			assert.Equal(t, tc.want, resp.StatusCode)
			if tc.want == http.StatusUnauthorized {
				assert.Equal(t, []string{"Negotiate", "NTLM"}, resp.Header.Values("WWW-Authenticate"))
			}
		})
	}
	// The connection survived all of it and still authenticates.
	resp := rc.handshake(NTLM, e.clientCtx(NTLM, testPassword, nil))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestRestart sends a new first token in the middle of a handshake: the
// old handshake is gone and the new one completes.
func TestRestart(t *testing.T) {
	e := newEnv(t, envOpts{})
	rc := e.dial()
	first := e.clientCtx(NTLM, testPassword, nil)
	out, _ := step(t, first, nil)
	resp := rc.do(formatToken(NTLM, out))
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	challenge1 := serverToken(t, resp, NTLM)

	second := e.clientCtx(NTLM, testPassword, nil)
	resp = rc.handshake(NTLM, second)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The first handshake's AUTHENTICATE no longer has a server context.
	auth, _ := step(t, first, challenge1)
	resp = rc.do(formatToken(NTLM, auth))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, 0, e.auth.Stats().Pending)
}

// TestLegsStayOnTheirConnection shows why: a token that continues a
// handshake begun on another connection is refused.
func TestLegsStayOnTheirConnection(t *testing.T) {
	e := newEnv(t, envOpts{})
	a, b := e.dial(), e.dial()
	cc := e.clientCtx(NTLM, testPassword, nil)
	out, _ := step(t, cc, nil)
	resp := a.do(formatToken(NTLM, out))
	auth, _ := step(t, cc, serverToken(t, resp, NTLM))
	resp = b.do(formatToken(NTLM, auth))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestHandshakeTimeout(t *testing.T) {
	e := newEnv(t, envOpts{cfg: ServerConfig{HandshakeTimeout: 50 * time.Millisecond}})
	rc := e.dial()
	cc := e.clientCtx(NTLM, testPassword, nil)
	out, _ := step(t, cc, nil)
	resp := rc.do(formatToken(NTLM, out))
	auth, _ := step(t, cc, serverToken(t, resp, NTLM))
	time.Sleep(100 * time.Millisecond)
	resp = rc.do(formatToken(NTLM, auth))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, Stats{Connections: 1, Evicted: 1}, e.auth.Stats())
}

// TestAbandonedHandshakes opens handshakes on many connections and never
// finishes them: the server holds at most MaxHandshakes, and nothing once
// the connections close.
func TestAbandonedHandshakes(t *testing.T) {
	const limit, conns = 10, 40
	e := newEnv(t, envOpts{cfg: ServerConfig{MaxHandshakes: limit}})
	var open []*rawConn
	for i := range conns {
		rc := e.dial()
		s := bothSchemes[i%2]
		out, _ := step(t, e.clientCtx(s, testPassword, nil), nil)
		resp := rc.do(formatToken(s, out))
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		serverToken(t, resp, s)
		assert.LessOrEqual(t, e.auth.Stats().Pending, limit)
		open = append(open, rc)
	}
	st := e.auth.Stats()
	assert.Equal(t, limit, st.Pending)
	assert.Equal(t, int64(conns-limit), st.Evicted)

	// An evicted handshake's client is told to start again.
	resp := open[0].handshake(NTLM, e.clientCtx(NTLM, testPassword, nil))
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	for _, rc := range open {
		rc.c.Close()
	}
	require.Eventually(t, func() bool {
		st := e.auth.Stats()
		return st.Pending == 0 && st.Connections == 0 && st.Established == 0
	}, 5*time.Second, 10*time.Millisecond, "state after the connections closed: %+v", e.auth.Stats())
	_, ctxs, _ := e.proc.Leaks()
	assert.Zero(t, ctxs, "server contexts left in the backend")
}

func TestIdentityFromCopies(t *testing.T) {
	_, ok := IdentityFrom(context.Background())
	assert.False(t, ok)
	id := &Identity{Name: `D\u`, Groups: []string{"g"}}
	ctx := context.WithValue(context.Background(), identityKey{}, id)
	got, ok := IdentityFrom(ctx)
	require.True(t, ok)
	got.Groups[0] = "changed"
	assert.Equal(t, "g", id.Groups[0])
}

func TestConfigErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, err := NewAuthenticator(e.store, ServerConfig{Schemes: []Scheme{"Basic"}})
	assert.Error(t, err)
	_, err = NewAuthenticator(e.store, ServerConfig{Schemes: []Scheme{NTLM, NTLM}})
	assert.Error(t, err)
	_, err = NewAuthenticator(e.store, ServerConfig{ExtendedProtection: 9})
	assert.Error(t, err)
	_, err = NewTransport(e.clients, nil, ClientConfig{Schemes: []Scheme{"Kerberos"}})
	assert.Error(t, err)
	_, err = NewTransport(e.clients, nil, ClientConfig{})
	assert.ErrorIs(t, err, sspictx.StatusNoCredentials, "the fake process runs as nobody")
}

// TestNegotiatedPackage names the package Negotiate chose even where the
// backend's PACKAGE_INFO names Negotiate itself: NEGOTIATION_INFO says.
func TestNegotiatedPackage(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.proc.pkgInfoSaysNegotiate.Store(true)
	code, body := get(t, e.client(ClientConfig{Schemes: []Scheme{Negotiate}}), e.ts.URL)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "|NTLM|Negotiate|")
	assert.Equal(t, 1, e.auth.Stats().Established, "kept as an NTLM identity")
}
