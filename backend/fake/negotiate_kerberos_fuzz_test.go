package fake_test

import (
	"encoding/asn1"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/capture"
	"github.com/gosspi/gosspi/internal/spnego"
)

// Kerberos-first clients for the Negotiate acceptor's fuzz targets.
// FuzzNegotiateAccept's machine is in no domain, so its Kerberos-first
// seeds (testdata/fuzz/FuzzNegotiateAccept/kerberos-first-*, written by
// TestNegotiateKerberosFuzzSeeds -update) are steered to NTLM and run the
// whole way; FuzzNegotiateAcceptKerberos's acceptor is joined to a domain,
// so its seeds run Kerberos inside SPNEGO.

// fuzzDomainEpoch is the fixed time of the Kerberos fuzz target's domain.
var fuzzDomainEpoch = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// fuzzDomain makes the Kerberos fuzz target's world the same every time
// (fixed clock, counter randomness): the domain CONTOSO with alice, and
// the acceptor's machine WEB01 holding HTTP/web01.contoso.test, so a
// seed's AP-REQ made on one such world is valid on the next.
func fuzzDomain(tb testing.TB) (*fake.Domain, *fake.Machine) {
	clock := func() time.Time { return fuzzDomainEpoch }
	dom, err := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test", Clock: clock, Rand: &capture.Counter{}})
	require.NoError(tb, err)
	_, err = dom.AddUser("alice", "Passw0rd!")
	require.NoError(tb, err)
	web01, err := dom.NewMachine(fake.MachineConfig{Name: "WEB01", Rand: &capture.Counter{}})
	require.NoError(tb, err)
	require.NoError(tb, dom.AddSPN("WEB01$", negWebSPN))
	return dom, web01
}

// kerberosFuzzSeeds are the client tokens of handshakes with a
// fuzzDomain acceptor: Kerberos first with mutual authentication and
// without, an offer without the optimistic token followed by the AP-REQ,
// and Kerberos as the second choice; each with an AP-REQ of its own.
func kerberosFuzzSeeds(tb testing.TB) map[string][3][]byte {
	dom, _ := fuzzDomain(tb)
	ws01, err := dom.NewMachine(fake.MachineConfig{Name: "WS01", Rand: &capture.Counter{}})
	require.NoError(tb, err)
	store := sspictx.NewStore(ws01.NewProcess())
	cred, err := store.AcquireCredentials("Negotiate", flags.Outbound, negAlice)
	require.NoError(tb, err)
	defer func() { _ = cred.Release() }()
	seeds := map[string][3][]byte{}
	for _, name := range []string{"mutual", "not-mutual", "token-later", "second-choice"} {
		req := negKrbReq | flags.ClientReqMutualAuth
		if name == "not-mutual" {
			req = negKrbReq
		}
		c := cred.NewClientContext(negWebSPN, req)
		tok, _, err := c.Step(nil)
		require.NoError(tb, err)
		require.NoError(tb, c.Delete())
		switch name {
		case "mutual", "not-mutual":
			seeds["kerberos-"+name] = [3][]byte{tok}
			continue
		case "second-choice":
			// Kerberos after NegoEx, then the AP-REQ, then a mechListMIC
			// (which cannot verify: it would need the server's AP-REP),
			// for the acceptor's serverMICFirst path.
			init, err := spnego.ParseNegTokenInit(tok)
			require.NoError(tb, err)
			negoEx := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 30}
			first, err := (&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{negoEx, spnego.OIDKerberos}, MechToken: []byte("negoex")}).Marshal()
			require.NoError(tb, err)
			second, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: init.MechToken}).Marshal()
			require.NoError(tb, err)
			third, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, MechListMIC: make([]byte, 28)}).Marshal()
			require.NoError(tb, err)
			seeds["kerberos-"+name] = [3][]byte{first, second, third}
			continue
		}
		// The AP-REQ in a NegTokenResp after an offer without it.
		init, err := spnego.ParseNegTokenInit(tok)
		require.NoError(tb, err)
		later, err := (&spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: init.MechToken}).Marshal()
		require.NoError(tb, err)
		init.MechToken = nil
		first, err := init.Marshal()
		require.NoError(tb, err)
		seeds["kerberos-"+name] = [3][]byte{first, later}
	}
	return seeds
}

// allowedAcceptError checks an error a client's tokens may earn from the
// Negotiate acceptor: an AcceptSecurityContext error with one of the
// statuses.
func allowedAcceptError(t *testing.T, err error, ok ...backend.Status) {
	t.Helper()
	var e *backend.Error
	if !errors.As(err, &e) || e.Op != backend.OpAcceptSecurityContext {
		t.Fatalf("not an AcceptSecurityContext error: %v", err)
	}
	for _, st := range ok {
		if e.Status == st {
			return
		}
	}
	t.Fatalf("a client's tokens earned %v", err)
}

// FuzzNegotiateAcceptKerberos is FuzzNegotiateAccept with an acceptor
// joined to a domain, so Kerberos-first tokens reach the Kerberos
// acceptor inside SPNEGO. Whatever they are, it must not panic, must fail
// only with what a peer's bad token earns, and once done must name alice.
func FuzzNegotiateAcceptKerberos(f *testing.F) {
	for _, s := range kerberosFuzzSeeds(f) {
		f.Add(s[0], s[1], s[2])
	}
	mit, err := os.ReadFile(filepath.Join("..", "..", "testdata", "interop", "mit-kerberos-first-to-fake.txt"))
	require.NoError(f, err)
	c, err := capture.Parse(mit)
	require.NoError(f, err)
	f.Add(c.Tokens[0].Data, []byte(nil), []byte(nil))
	// One world for the whole run: making a domain costs milliseconds,
	// and far more under the fuzzer's instrumentation. Each input gets a
	// process of its own; the machine's replay cache refuses an AP-REQ a
	// second time (SEC_E_OUT_OF_SEQUENCE).
	_, web01 := fuzzDomain(f)
	f.Fuzz(func(t *testing.T, t1, t2, t3 []byte) {
		store := sspictx.NewStore(web01.NewProcess())
		cred, err := store.AcquireCredentials("Negotiate", flags.Inbound, nil)
		require.NoError(t, err)
		defer func() { _ = cred.Release() }()
		s := cred.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
		defer func() { _ = s.Delete() }()
		for _, tok := range [][]byte{t1, t2, t3} {
			_, done, err := s.Step(tok)
			if err != nil {
				allowedAcceptError(t, err, backend.StatusInvalidToken, backend.StatusLogonDenied, backend.StatusMessageAltered,
					backend.StatusWrongPrincipal, backend.StatusTimeSkew, backend.StatusContextExpired, backend.StatusOutOfSequence,
					backend.StatusTargetUnknown)
				return
			}
			if done {
				who, err := s.UserName()
				if err != nil || who != `CONTOSO\alice` {
					t.Fatalf("established, but the client is %q (%v)", who, err)
				}
				return
			}
		}
	})
}

// TestNegotiateKerberosFuzzSeeds checks that the Kerberos fuzz target's
// seeds establish a Kerberos context, and that the Kerberos-first seeds
// of FuzzNegotiateAccept, made by a fake domain client against that
// target's machine, are steered to NTLM and establish too. With -update
// it writes the latter into FuzzNegotiateAccept's corpus where missing.
func TestNegotiateKerberosFuzzSeeds(t *testing.T) {
	for name, s := range kerberosFuzzSeeds(t) {
		if name == "kerberos-second-choice" {
			continue // its client MIC is bad by design
		}
		t.Run(name, func(t *testing.T) {
			_, web01 := fuzzDomain(t)
			store := sspictx.NewStore(web01.NewProcess())
			cred, err := store.AcquireCredentials("Negotiate", flags.Inbound, nil)
			require.NoError(t, err)
			defer func() { _ = cred.Release() }()
			sc := cred.NewServerContext(0)
			defer func() { _ = sc.Delete() }()
			done := false
			for i := 0; !done; i++ {
				require.NotNil(t, s[i])
				_, done, err = sc.Step(s[i])
				require.NoError(t, err)
			}
			info, err := sc.PackageInfo()
			require.NoError(t, err)
			require.Equal(t, "Kerberos", info.Name)
		})
	}

	// FuzzNegotiateAccept's machine and account, from the capture its
	// seeds come from.
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "interop", "mit-kerberos-first-to-fake.txt"))
	require.NoError(t, err)
	c, err := capture.Parse(b)
	require.NoError(t, err)
	m, acct := c.Machine, c.Account
	// A domain named as the account's, with a ticket to the machine's
	// HTTP SPN: the client offers Kerberos first with an AP-REQ.
	dom, err := fake.NewDomain(fake.DomainConfig{Name: acct.Domain, Clock: func() time.Time { return m.Time }, Rand: &capture.Counter{}})
	require.NoError(t, err)
	_, err = dom.AddUser(acct.User, acct.Password)
	require.NoError(t, err)
	require.NoError(t, dom.AddService("svc-web", "", "HTTP/"+m.Name))
	client, err := dom.NewMachine(fake.MachineConfig{Name: "WS01", Rand: &capture.Counter{}})
	require.NoError(t, err)
	cstore := sspictx.NewStore(client.NewProcess())
	// Only a client with mutual authentication follows the steering
	// (TestNegotiateKerberosNotMutualCannotBeSteered).
	const name = "kerberos-first-steered"
	t.Run(name, func(t *testing.T) {
		mach := fake.NewMachine(fake.MachineConfig{Name: m.Name, Domain: m.Domain, Clock: func() time.Time { return m.Time }, Rand: &capture.Counter{}})
		mach.AddUser(acct.Domain, acct.User, acct.Password)
		sstore := sspictx.NewStore(mach.NewProcess())
		r := negPair(t, cstore, sstore, &sspictx.AuthIdentity{Domain: acct.Domain, User: acct.User, Password: acct.Password}, "HTTP/"+m.Name, negKrbReq|flags.ClientReqMutualAuth)
		require.NoError(t, r.run())
		require.Len(t, r.toServer, 3)
		init, err := spnego.ParseNegTokenInit(r.toServer[0])
		require.NoError(t, err)
		require.Equal(t, windowsMechs, init.MechTypes)
		pkg, _ := negotiated(t, &r.s.Context)
		require.Equal(t, "NTLM", pkg)
		path := filepath.Join("testdata", "fuzz", "FuzzNegotiateAccept", name)
		if _, err := os.Stat(path); err == nil || !updateFlag() {
			return
		}
		corpus := "go test fuzz v1\n"
		for _, tok := range r.toServer {
			corpus += "[]byte(" + strconv.Quote(string(tok)) + ")\n"
		}
		require.NoError(t, os.WriteFile(path, []byte(corpus), 0o644))
	})
}

// updateFlag reports whether -update (golden_test.go) was given.
func updateFlag() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}
