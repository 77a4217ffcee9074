package interop

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/sspihttp"
)

// curl --negotiate with Kerberos end to end: curl holds a ticket MIT's
// kinit got from a fake domain's KDC and asks for
// http://web01.contoso.test:PORT/ (--resolve sends it to loopback), which
// the sspihttp middleware serves with the fake's Negotiate on WEB01, whose
// computer account has the SPN HTTP/web01.contoso.test. Kerberos takes one
// leg (RFC 4559): the request with the NegTokenInit and its AP-REQ
// (curl sends it unasked), answered by the 200 that carries the server's
// final token (accept-completed and the AP-REP). (curl 7.88.1 does not
// check that token: with a byte of the AP-REP changed it still prints the
// 200 and exits 0, so mutual authentication is not held against curl;
// sspihttp's own client checks it, in sspihttp's tests.) curl has gss-ntlmssp and the account's NTLM password too, so the
// row holds only if Kerberos ran.

const peerCurlKerberosFakeKDC = "curl --negotiate (GSSAPI), Kerberos (fake domain's KDC) to sspihttp"

// sspihttpSite is the sspihttp middleware on WEB01 of a fake domain, in
// front of a handler that names the client and the package that ran, with
// every request's Authorization header and every response's status and
// WWW-Authenticate header recorded.
type sspihttpSite struct {
	srv *httptest.Server

	mu         sync.Mutex
	legs       []httpLeg
	identities []sspihttp.Identity
}

// httpLeg is one request and its response, as the server saw them.
type httpLeg struct {
	authorization string
	status        int
	authenticate  []string
}

// statusWriter notes a response's status.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func newSSPIHTTPSite(t *testing.T, m *fake.Machine) *sspihttpSite {
	t.Helper()
	store := sspictx.NewStore(m.NewProcess())
	fake.CheckLeaks(t, store)
	auth, err := sspihttp.NewAuthenticator(store, sspihttp.ServerConfig{ErrorLog: log.New(testLog{t}, "sspihttp: ", 0)})
	if err != nil {
		t.Fatal(err)
	}
	s := &sspihttpSite{}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := sspihttp.IdentityFrom(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		s.identities = append(s.identities, id)
		s.mu.Unlock()
		fmt.Fprintf(w, "hello %s\n", id.Name)
	})
	inner := auth.Wrap(app)
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		inner.ServeHTTP(sw, r)
		s.mu.Lock()
		s.legs = append(s.legs, httpLeg{authorization: r.Header.Get("Authorization"), status: sw.status, authenticate: w.Header().Values("WWW-Authenticate")})
		s.mu.Unlock()
	}))
	auth.Configure(s.srv.Config)
	s.srv.Start()
	t.Cleanup(func() {
		s.srv.Close()
		_ = auth.Close()
	})
	return s
}

// testLog sends the middleware's error log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (s *sspihttpSite) port() string {
	return strconv.Itoa(s.srv.Listener.Addr().(*net.TCPAddr).Port)
}

// curlArgs are curl's arguments for the site under the host name host.
func (s *sspihttpSite) curlArgs(host string) []string {
	return []string{"--negotiate", "-u", ":", "--resolve", host + ":" + s.port() + ":127.0.0.1", "http://" + host + ":" + s.port() + "/"}
}

func (s *sspihttpSite) seen() ([]httpLeg, []sspihttp.Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]httpLeg(nil), s.legs...), append([]sspihttp.Identity(nil), s.identities...)
}

// negotiateToken decodes a "Negotiate <base64>" header value.
func negotiateToken(v string) ([]byte, error) {
	scheme, b, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Negotiate") {
		return nil, fmt.Errorf("%q is not a Negotiate header with a token", v)
	}
	return base64.StdEncoding.DecodeString(b)
}

// oneLegKerberos checks that curl's exchange was RFC 4559's Kerberos in
// one leg: one request with a token answered by the 200 with the
// server's final token (curl told to use Negotiate sends its token on its
// first request; a client that waits for the 401 first may, too); and
// returns the two tokens as a transcript.
func oneLegKerberos(legs []httpLeg) (transcript, error) {
	if len(legs) == 2 && legs[0].authorization == "" && legs[0].status == http.StatusUnauthorized {
		legs = legs[1:]
	}
	if len(legs) != 1 {
		return nil, fmt.Errorf("the server saw %d requests with tokens, want 1 (one leg): %+v", len(legs), legs)
	}
	leg := legs[0]
	if leg.status != http.StatusOK {
		return nil, fmt.Errorf("the authenticated request got %d, want 200", leg.status)
	}
	in, err := negotiateToken(leg.authorization)
	if err != nil {
		return nil, fmt.Errorf("curl's Authorization: %w", err)
	}
	if len(leg.authenticate) != 1 {
		return nil, fmt.Errorf("the 200 has WWW-Authenticate %q, want the server's final token", leg.authenticate)
	}
	out, err := negotiateToken(leg.authenticate[0])
	if err != nil {
		return nil, fmt.Errorf("the 200's WWW-Authenticate: %w", err)
	}
	return transcript{{fromInitiator: true, tok: in}, {tok: out}}, nil
}

func TestCurlNegotiateKerberosFakeKDC(t *testing.T) {
	tier(t, toolCurl, toolNTLMSSP, toolKDC)
	fr := newFakeRealm(t)
	conf, err := os.ReadFile(fr.conf)
	if err != nil {
		t.Fatal(err)
	}
	const host = "web01." + krbDNSDomain
	r := recorder{t: t, row: pairing{peer: peerCurlKerberosFakeKDC}}
	r.mark(outNA, opKey, opSign, opSeal, opTamper, opReplay, opExport)
	// curl's environment: the fake realm's krb5.conf, the ticket in
	// ccache, and NTLM for CONTOSO\alice with password.
	curlEnv := func(ccache, password string) []string {
		d := newPeerDir(t)
		return d.gssEnv(fmt.Sprintf("%s:%s:%s\n", krbDomain, testUser, password), string(conf), "KRB5CCNAME="+ccache)
	}

	site := newSSPIHTTPSite(t, fr.web01)
	code, body, err := runCurl(t, curlEnv(fr.ccache, testPassword), site.curlArgs(host)...)
	legs, ids := site.seen()
	var tr transcript
	ok := r.check(opHandshake, func() error {
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("curl got HTTP %d: %s", code, body)
		}
		tr, err = oneLegKerberos(legs)
		return err
	})
	if !ok {
		r.mark(outNotReached, opNames)
	} else {
		wantSPNEGOKerberos(t, tr)
		r.check(opNames, func() error {
			want := krbDomain + `\` + testUser
			if len(ids) != 1 {
				return fmt.Errorf("the handler saw %d identities, want 1: %+v", len(ids), ids)
			}
			id := ids[0]
			if id.Name != want || id.Package != "Kerberos" || id.Scheme != "Negotiate" || id.SID != fr.sid {
				return fmt.Errorf("the server authenticated %+v, want %s (%s) by Kerberos under Negotiate", id, want, fr.sid)
			}
			if body != "hello "+want {
				return fmt.Errorf("curl read %q, want %q", body, "hello "+want)
			}
			return nil
		})
	}
	// A wrong password: the fake KDC refuses kinit, and curl without a
	// ticket falls back to NTLM with the same wrong password, which the
	// middleware refuses.
	r.check(opPassword, func() error {
		if out, err := fr.kinit("bad-ccache", badPassword); err == nil {
			return errors.New("kinit got a ticket with a wrong password")
		} else if !strings.Contains(out, "Password incorrect") {
			return fmt.Errorf("kinit with a wrong password: want MIT's text for KDC_ERR_PREAUTH_FAILED, got %v: %s", err, out)
		}
		site := newSSPIHTTPSite(t, fr.web01)
		code, body, err := runCurl(t, curlEnv("FILE:"+filepath.Join(fr.dir.dir, "bad-ccache"), badPassword), site.curlArgs(host)...)
		if err != nil {
			return err
		}
		if code != http.StatusUnauthorized {
			return fmt.Errorf("curl without a ticket and with a wrong NTLM password got HTTP %d: %s", code, body)
		}
		if _, ids := site.seen(); len(ids) != 0 {
			return fmt.Errorf("the handler served %+v", ids)
		}
		return nil
	})
}
