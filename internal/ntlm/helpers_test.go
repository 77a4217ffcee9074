package ntlm

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// vectors are the MS-NLMP 4.2 values kept in testdata/ntlm.
type vectors map[string]string

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ntlm", "ms-nlmp-4.2.4.json"))
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

func (v vectors) hex(t testing.TB, name string) []byte {
	t.Helper()
	s, ok := v[name]
	require.True(t, ok, "vector %q missing", name)
	b, err := hex.DecodeString(s)
	require.NoError(t, err, name)
	return b
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// directory is a toy principal directory keyed by upper-case user name.
type directory map[string][]byte

func (d directory) lookup(_, user string) ([]byte, bool) {
	h, ok := d[strings.ToUpper(user)]
	return h, ok
}

var testDir = directory{
	"ALICE": NTHash("Secr3t!"),
	"BOB":   NTHash("hunter2"),
}

func testServerConfig() ServerConfig {
	return ServerConfig{
		NetBIOSDomain:   "EXAMPLE",
		NetBIOSComputer: "SRV1",
		DNSDomain:       "example.test",
		DNSComputer:     "srv1.example.test",
		Lookup:          testDir.lookup,
	}
}

func testClientConfig() ClientConfig {
	return ClientConfig{
		User: "alice", Domain: "EXAMPLE", Password: "Secr3t!",
		Workstation: "WS1", TargetSPN: "HTTP/srv1.example.test",
	}
}

// fixedRand returns a deterministic, endless random stream for reproducible
// tokens (fuzz seeds, golden comparisons).
type fixedRand byte

func (f fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f) + byte(i)
	}
	return len(p), nil
}

func fixedNow() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }

// exchange is one handshake's tokens.
type exchange struct {
	negotiate, challenge, authenticate []byte
	client                             *Client
	server                             *Server
}

// handshake runs Negotiate, Challenge and Authenticate on the client, leaving
// the server's Authenticate to the caller.
func handshake(t testing.TB, cc ClientConfig, sc ServerConfig) *exchange {
	t.Helper()
	x := &exchange{client: NewClient(cc), server: NewServer(sc)}
	var err error
	x.negotiate, err = x.client.Negotiate()
	require.NoError(t, err)
	x.challenge, err = x.server.Challenge(x.negotiate)
	require.NoError(t, err)
	x.authenticate, err = x.client.Authenticate(x.challenge)
	require.NoError(t, err)
	return x
}

// sessions returns an established client/server Session pair.
func sessions(t testing.TB) (client, server *Session) {
	t.Helper()
	x := handshake(t, testClientConfig(), testServerConfig())
	res, err := x.server.Authenticate(x.authenticate)
	require.NoError(t, err)
	client, err = NewSession(x.client.SessionKey(), x.client.NegotiatedFlags(), true)
	require.NoError(t, err)
	server, err = NewSession(res.SessionKey, res.Flags, false)
	require.NoError(t, err)
	return client, server
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}
