package sspihttp

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBodyReplayed(t *testing.T) {
	for _, s := range bothSchemes {
		t.Run(string(s), func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: ServerConfig{Reuse: ReuseNone}})
			c := e.client(ClientConfig{Schemes: []Scheme{s}})
			resp, err := c.Post(e.ts.URL, "text/plain", bytes.NewReader([]byte("hello body")))
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.True(t, strings.HasSuffix(string(b), "|hello body"), string(b))
		})
	}
}

func TestBodyNotReplayable(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(ClientConfig{})
	req, err := http.NewRequest("POST", e.ts.URL, io.NopCloser(strings.NewReader("once")))
	require.NoError(t, err)
	_, err = c.Do(req)
	assert.ErrorIs(t, err, ErrNotReplayable)
}

// TestMutualAuth tampers with the server's final SPNEGO token, or drops
// it: the client must not hand out the response.
func TestMutualAuth(t *testing.T) {
	for name, edit := range map[string]func(string) string{
		"tampered": func(v string) string {
			tok, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "Negotiate "))
			tok[len(tok)-1] ^= 1
			return "Negotiate " + base64.StdEncoding.EncodeToString(tok)
		},
		"dropped": func(string) string { return "" },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.ServeHTTP(&headerEditor{ResponseWriter: w, edit: edit}, r)
				})
			}})
			_, err := e.client(ClientConfig{Schemes: []Scheme{Negotiate}}).Get(e.ts.URL)
			assert.ErrorIs(t, err, ErrMutualAuth)
		})
	}
}

// headerEditor changes the WWW-Authenticate of successful responses.
type headerEditor struct {
	http.ResponseWriter
	edit  func(string) string
	wrote bool
}

func (w *headerEditor) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if code < 300 {
		if v := w.Header().Get("WWW-Authenticate"); v != "" {
			if v = w.edit(v); v == "" {
				w.Header().Del("WWW-Authenticate")
			} else {
				w.Header().Set("WWW-Authenticate", v)
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerEditor) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// TestLostHandshake closes the connection after the first challenge: the
// AUTHENTICATE reaches a new connection, the server has no handshake
// there, and the client starts again once, successfully.
func TestLostHandshake(t *testing.T) {
	var closed atomic.Bool
	e := newEnv(t, envOpts{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Header.Get("Authorization"), "NTLM ") && !closed.Load() {
				tok, _, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Authorization"), "NTLM "), " ")
				if b, _ := base64.StdEncoding.DecodeString(tok); ntlmType(b) == ntlmNegotiate {
					closed.Store(true)
					w.Header().Set("Connection", "close")
				}
			}
			h.ServeHTTP(w, r)
		})
	}})
	code, _ := get(t, e.client(ClientConfig{Schemes: []Scheme{NTLM}}), e.ts.URL)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, []int{401, 401, 401, 401, 200}, e.statuses.take(), "challenge, lost AUTHENTICATE, restart")
}

// TestOwnAuthorization leaves a request that carries its own
// Authorization header alone.
func TestOwnAuthorization(t *testing.T) {
	e := newEnv(t, envOpts{})
	req, _ := http.NewRequest("GET", e.ts.URL, nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	resp, err := e.client(ClientConfig{}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, []int{401}, e.statuses.take())
}

// TestSchemePreference answers with the first of the client's schemes
// that the server offers.
func TestSchemePreference(t *testing.T) {
	e := newEnv(t, envOpts{cfg: ServerConfig{Schemes: []Scheme{NTLM}}})
	code, body := get(t, e.client(ClientConfig{Schemes: []Scheme{Negotiate, NTLM}}), e.ts.URL)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "|NTLM|NTLM|")

	// A client that speaks only Negotiate gets the 401.
	code, _ = get(t, e.client(ClientConfig{Schemes: []Scheme{Negotiate}}), e.ts.URL)
	assert.Equal(t, http.StatusUnauthorized, code)
}

func TestMaxConnsPerHost(t *testing.T) {
	e := newEnv(t, envOpts{})
	tr := e.transport(testUser, testPassword, ClientConfig{MaxConnsPerHost: 2})
	c := &http.Client{Transport: tr}
	done := make(chan int, 10)
	for range 10 {
		go func() {
			code, _ := get(t, c, e.ts.URL)
			done <- code
		}()
	}
	for range 10 {
		assert.Equal(t, http.StatusOK, <-done)
	}
	assert.LessOrEqual(t, e.auth.Stats().Established, 2, "at most two connections")
}

func TestTransportClosed(t *testing.T) {
	e := newEnv(t, envOpts{})
	tr := e.transport(testUser, testPassword, ClientConfig{})
	require.NoError(t, tr.Close())
	_, err := (&http.Client{Transport: tr}).Get(e.ts.URL)
	assert.ErrorIs(t, err, ErrTransportClosed)
}

// TestRawNTLMUnderNegotiate sends a raw NTLMSSP NEGOTIATE under the
// Negotiate scheme, as some clients do: the middleware must hand it to
// the Negotiate package unchanged and let the package decide.
func TestRawNTLMUnderNegotiate(t *testing.T) {
	e := newEnv(t, envOpts{})
	cc := e.clientCtx(NTLM, testPassword, nil)
	out, _ := step(t, cc, nil)
	resp := e.dial().do(formatToken(Negotiate, out))

	e.proc.mu.Lock()
	require.Len(t, e.proc.tokens, 1)
	assert.Equal(t, out, e.proc.tokens[0], "the token reaches the backend as sent")
	err := e.proc.errs[0]
	e.proc.mu.Unlock()
	require.NoError(t, err, "the Negotiate package takes a raw NTLMSSP token")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the next leg is asked for")
	assert.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Negotiate TlRMTVNTUAACAAAA"),
		"answered with a raw CHALLENGE under Negotiate: %q", resp.Header.Get("WWW-Authenticate"))
	rc := e.dial()
	resp = rc.handshake(Negotiate, e.clientCtx(NTLM, testPassword, nil))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestHTTP2Server authenticates against a server that prefers HTTP/2:
// the Transport must still speak HTTP/1.1, over a base transport that
// has HTTP/2 configured.
func TestHTTP2Server(t *testing.T) {
	e := newEnv(t, envOpts{tls: true, http2: true})
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = e.ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	base.TLSClientConfig.InsecureSkipVerify = true
	_ = base.Clone() // sets up HTTP/2 on base: "h2" joins its ALPN list
	require.Contains(t, base.TLSClientConfig.NextProtos, "h2")
	code, body := get(t, e.client(ClientConfig{Base: base}), e.ts.URL)
	assert.Equal(t, http.StatusOK, code, body)
}
