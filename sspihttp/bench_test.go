package sspihttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
)

// benchServer serves h behind the middleware (or bare, with a nil cfg)
// on loopback and returns a client that authenticates as the test user.
func benchServer(b *testing.B, cfg *ServerConfig) (*httptest.Server, *http.Client) {
	m := fake.NewMachine(fake.MachineConfig{Name: "WEB01", Domain: testDomain})
	m.AddUser(testDomain, testUser, testPassword, testGroup)
	h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	ts := httptest.NewUnstartedServer(h)
	if cfg != nil {
		a, err := NewAuthenticator(sspictx.NewStore(m.NewProcess()), *cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = a.Close() })
		ts.Config.Handler = a.Wrap(h)
		a.Configure(ts.Config)
	}
	ts.Start()
	b.Cleanup(ts.Close)
	tr, err := NewTransport(sspictx.NewStore(m.NewProcess()), &sspictx.AuthIdentity{Domain: testDomain, User: testUser, Password: testPassword}, ClientConfig{Schemes: []Scheme{NTLM}, MaxConnsPerHost: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Close() })
	return ts, &http.Client{Transport: tr}
}

func benchGet(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatal(resp.Status)
	}
}

// BenchmarkRequest measures requests on one kept-alive connection: to a
// bare handler (with a plain http.Transport, then with the Transport),
// and behind the middleware once the connection is authenticated (the
// identity kept on the connection). bare against authenticated is the
// middleware's cost per request; the first two, the Transport's.
func BenchmarkRequest(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cfg   *ServerConfig
		plain bool
	}{{"bare/http.Transport", nil, true}, {"bare", nil, false}, {"authenticated", &ServerConfig{}, false}} {
		b.Run(bc.name, func(b *testing.B) {
			ts, c := benchServer(b, bc.cfg)
			if bc.plain {
				c = ts.Client() // a plain http.Transport: the client's own cost
			}
			benchGet(b, c, ts.URL) // the handshake
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				benchGet(b, c, ts.URL)
			}
		})
	}
}

// BenchmarkNTLMHandshake measures full NTLM handshakes over loopback:
// with ReuseNone each request is challenged and runs NEGOTIATE,
// CHALLENGE, AUTHENTICATE on its kept-alive connection (three round
// trips, two AcceptSecurityContext calls).
func BenchmarkNTLMHandshake(b *testing.B) {
	ts, c := benchServer(b, &ServerConfig{Reuse: ReuseNone})
	benchGet(b, c, ts.URL)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		benchGet(b, c, ts.URL)
	}
}
