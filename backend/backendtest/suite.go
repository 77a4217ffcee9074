package backendtest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// Run runs the conformance suite against the backend h describes. Every
// scenario gets fresh backends from h.NewBackend, must finish within
// h.Timeout, and is checked for leaked handles at its end.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Name == "" {
		t.Fatal("backendtest: Harness.Name is required: it names the backend in every failure")
	}
	if h.NewBackend == nil {
		t.Fatalf("backendtest: %s: Harness.NewBackend is required", h.Name)
	}
	if len(h.Packages) == 0 {
		t.Fatalf("backendtest: %s: Harness.Packages must name at least one package", h.Name)
	}
	s := &suite{h: h}
	names := make([]string, len(h.Packages))
	for i, p := range h.Packages {
		names[i] = p.Name
	}
	t.Logf("backendtest: conformance suite against %s: packages %s; %s", h.Name, strings.Join(names, ", "), s.timeoutText())
	s.scenario(t, "Packages", s.testPackages)
	for _, p := range h.Packages {
		t.Run(p.Name, func(t *testing.T) {
			for _, sc := range []struct {
				name string
				fn   func(*testing.T, Package)
			}{
				{"Credentials", s.testCredentials},
				{"Handshake", s.testHandshake},
				{"HandshakeFailures", s.testHandshakeFailures},
				{"RealClients", s.testRealClients},
				{"Attributes", s.testAttributes},
				{"Sign", s.testSign},
				{"Seal", s.testSeal},
				{"AccessToken", s.testAccessToken},
				{"Impersonate", s.testImpersonate},
				{"Export", s.testExport},
				{"InvalidHandles", s.testInvalidHandles},
				{"Concurrent", s.testConcurrent},
				{"Unsynchronized", s.testUnsynchronized},
			} {
				s.scenario(t, sc.name, func(t *testing.T) { sc.fn(t, p) })
			}
		})
	}
}

type suite struct {
	h Harness

	mu       sync.Mutex
	observed map[string]string // test name -> why it observes (see Unknown)
}

// leftOut skips a check the backend declared it cannot do, with a line the
// tier scripts count ("backendtest: left out").
func (s *suite) leftOut(t *testing.T, why string) {
	t.Helper()
	t.Skipf("backendtest: left out %s on %s: %s", t.Name(), s.h.Name, why)
}

// leftOutCheck notes one check the backend cannot do, without skipping
// the rest of the test; the tier scripts count these lines too.
func (s *suite) leftOutCheck(t *testing.T, check, why string) {
	t.Helper()
	t.Logf("backendtest: left out %s/%s on %s: %s", t.Name(), check, s.h.Name, why)
}

// need reports whether the capability is Supported. It leaves the test out
// if it is Broken, and returns false if it is Unsupported, so that the
// caller checks the exact answer. Unknown is Supported with t observing.
func (s *suite) need(t *testing.T, what string, sup Support) bool {
	t.Helper()
	switch sup {
	case Supported:
		return true
	case Unsupported:
		return false
	case Broken:
		s.leftOut(t, what+" is declared Broken on this backend")
	case Unknown:
		s.observe(t, what+" is declared Unknown on this backend")
		return true
	}
	s.fatalf(t, "%s: the harness declares %v, which is no Support value", what, sup)
	return false
}

// store returns a Store over a fresh backend, checked for leaks at the end.
func (s *suite) store(t *testing.T) *sspictx.Store {
	t.Helper()
	st, _ := s.storeAndBackend(t)
	return st
}

// storeAndBackend is store that also returns the backend under the Store,
// for checks that call the backend directly.
func (s *suite) storeAndBackend(t *testing.T) (*sspictx.Store, backend.Backend) {
	t.Helper()
	b := s.h.NewBackend(t)
	st := sspictx.NewStore(b)
	t.Cleanup(func() {
		for _, l := range st.Leaks() {
			s.errorf(t, "leaked %s", l)
		}
	})
	return st, b
}

const (
	clientReq = flags.ClientReqConnection | flags.ClientReqIntegrity | flags.ClientReqConfidentiality |
		flags.ClientReqReplayDetect | flags.ClientReqSequenceDetect
	serverReq = flags.ServerReqConnection | flags.ServerReqIntegrity | flags.ServerReqConfidentiality |
		flags.ServerReqReplayDetect | flags.ServerReqSequenceDetect
)

// pair is an established client and server context with their credentials.
type pair struct {
	client *sspictx.ClientContext
	server *sspictx.ServerContext
}

// creds acquires client and server credentials, released at cleanup.
func (s *suite) creds(t *testing.T, st *sspictx.Store, p Package) (cc, sc *sspictx.Credentials) {
	t.Helper()
	sc, err := st.AcquireCredentials(p.Name, flags.Inbound, p.Server)
	s.noError(t, err, "server credentials")
	t.Cleanup(func() {
		if err := sc.Release(); err != nil {
			s.errorf(t, "releasing the server credentials: %v", err)
		}
	})
	cc, err = st.AcquireCredentials(p.Name, flags.Outbound, p.Client)
	s.noError(t, err, "client credentials")
	t.Cleanup(func() {
		if err := cc.Release(); err != nil {
			s.errorf(t, "releasing the client credentials: %v", err)
		}
	})
	return cc, sc
}

// handshake runs client and server steps until both are done. When a step
// fails it returns the call that failed with the error: the client's
// InitializeSecurityContext or the server's AcceptSecurityContext; zero
// when the two sides disagree about where the handshake ends.
func handshake(c *sspictx.ClientContext, s *sspictx.ServerContext) (backend.Op, error) {
	var toServer, toClient []byte
	var cdone, sdone bool
	var err error
	for i := 0; i < 10; i++ {
		if !cdone {
			toServer, cdone, err = c.Step(toClient)
			if err != nil {
				return backend.OpInitializeSecurityContext, fmt.Errorf("client step %d: %w", i+1, err)
			}
		}
		if len(toServer) > 0 || !sdone {
			if sdone {
				return 0, fmt.Errorf("client sent a token after the server finished")
			}
			toClient, sdone, err = s.Step(toServer)
			if err != nil {
				return backend.OpAcceptSecurityContext, fmt.Errorf("server step %d: %w", i+1, err)
			}
			toServer = nil
		}
		if cdone && sdone {
			return 0, nil
		}
		if cdone && len(toClient) == 0 && !sdone {
			return 0, fmt.Errorf("server wants more but the client is done")
		}
	}
	return 0, fmt.Errorf("handshake did not finish in 10 rounds")
}

// establish returns a pair of established contexts, deleted at cleanup.
func (s *suite) establish(t *testing.T, st *sspictx.Store, p Package) pair {
	t.Helper()
	cc, sc := s.creds(t, st, p)
	c := cc.NewClientContext(p.Target, clientReq)
	srv := sc.NewServerContext(serverReq)
	t.Cleanup(func() { s.deleteIfLive(t, &c.Context); s.deleteIfLive(t, &srv.Context) })
	_, err := handshake(c, srv)
	s.noError(t, err, "handshake")
	s.isTrue(t, c.Established(), "the client is not established after the handshake")
	s.isTrue(t, srv.Established(), "the server is not established after the handshake")
	return pair{client: c, server: srv}
}

// deleteIfLive deletes a context unless the test already did.
func (s *suite) deleteIfLive(t *testing.T, c *sspictx.Context) {
	err := c.Delete()
	if err != nil && !errors.Is(err, sspictx.StatusInvalidHandle) {
		s.errorf(t, "deleting context: %v", err)
	}
}

// usable checks that a context still answers a query, after a call the
// backend refused.
func (s *suite) usable(t *testing.T, c *sspictx.Context, after string) {
	t.Helper()
	_, err := c.Sizes()
	s.noError(t, err, "SECPKG_ATTR_SIZES "+after)
}

// knownPackageValues lists the wRPCID of each package and the cbMaxToken
// values real systems report for it (they differ between Windows versions
// and Wine), so that a check accepts any of them.
var knownPackageValues = map[string]struct {
	rpcID     uint16
	maxTokens []uint32
}{
	"NTLM":      {10, []uint32{2888, 1904, 2008}},
	"Negotiate": {9, []uint32{48256, 12256, 12000, 48000, 65535, 2888}},
	"Kerberos":  {16, []uint32{48000, 12000, 65535}},
}

func (s *suite) testPackages(t *testing.T) {
	st := s.store(t)
	pkgs, err := st.Packages()
	s.noError(t, err, "EnumerateSecurityPackages")
	byName := map[string]sspictx.PackageInfo{}
	for _, p := range pkgs {
		byName[strings.ToLower(p.Name)] = p
	}
	for _, want := range s.h.Packages {
		got, ok := byName[strings.ToLower(want.Name)]
		s.isTrue(t, ok, "EnumerateSecurityPackages lacks %s", want.Name)
		info, err := st.PackageInfo(want.Name)
		s.noError(t, err, "QuerySecurityPackageInfo("+want.Name+")")
		if !strings.EqualFold(want.Name, info.Name) {
			s.errorf(t, "QuerySecurityPackageInfo(%s) names the package %q", want.Name, info.Name)
		}
		if got.RPCID != info.RPCID {
			s.errorf(t, "%s: wRPCID %d from QuerySecurityPackageInfo, %d from EnumerateSecurityPackages", want.Name, info.RPCID, got.RPCID)
		}
		if k, ok := knownPackageValues[info.Name]; ok {
			if info.RPCID != k.rpcID {
				s.errorf(t, "%s: wRPCID %d, want %d", info.Name, info.RPCID, k.rpcID)
			}
			if !slices.Contains(k.maxTokens, info.MaxToken) {
				s.errorf(t, "%s: cbMaxToken %d, want one that a real system reports: %v", info.Name, info.MaxToken, k.maxTokens)
			}
		}
	}
	_, err = st.PackageInfo("NoSuchPackage")
	s.requireStatus(t, err, backend.OpQuerySecurityPackageInfo, sspictx.StatusSecpkgNotFound, "QuerySecurityPackageInfo of an unknown package")
	_, err = st.AcquireCredentials("NoSuchPackage", flags.Outbound, nil)
	s.requireStatus(t, err, backend.OpAcquireCredentialsHandle, sspictx.StatusSecpkgNotFound, "AcquireCredentialsHandle of an unknown package")
}

func (s *suite) testCredentials(t *testing.T, p Package) {
	st := s.store(t)
	for _, use := range []flags.CredentialUse{flags.Inbound, flags.Outbound} {
		id := p.Client
		if use == flags.Inbound {
			id = p.Server
		}
		c, err := st.AcquireCredentials(p.Name, use, id)
		s.noError(t, err, "AcquireCredentialsHandle("+use.String()+")")
		if c.Package() != p.Name {
			s.errorf(t, "%v credentials of package %q, want %q", use, c.Package(), p.Name)
		}
		s.noError(t, c.Release(), "FreeCredentialsHandle")
		s.requireStatus(t, c.Release(), backend.OpFreeCredentialsHandle, sspictx.StatusInvalidHandle, "second Release")
	}
	_, err := st.AcquireCredentials(p.Name, flags.CredentialUse(0x10), p.Client)
	s.requireStatus(t, err, backend.OpAcquireCredentialsHandle, sspictx.StatusInvalidParameter, "AcquireCredentialsHandle with an undefined credential use")
}

func (s *suite) testHandshake(t *testing.T, p Package) {
	st := s.store(t)
	pr := s.establish(t, st, p)
	if p.Caps.ContextFlags == Supported {
		if pr.client.Flags()&flags.ClientRetIntegrity == 0 {
			s.errorf(t, "client flags %v lack Integrity", pr.client.Flags())
		}
		if pr.server.Flags()&flags.ServerRetIntegrity == 0 {
			s.errorf(t, "server flags %v lack Integrity", pr.server.Flags())
		}
	} else {
		s.leftOutCheck(t, "ReturnedFlags", "the backend is declared to return no context flags")
	}
	// Another step on an established context is refused, on either side.
	_, _, err := pr.client.Step([]byte("more"))
	s.requireStatus(t, err, backend.OpInitializeSecurityContext, sspictx.StatusInvalidParameter, "client step after the handshake")
	_, _, err = pr.server.Step([]byte("more"))
	s.requireStatus(t, err, backend.OpAcceptSecurityContext, sspictx.StatusInvalidParameter, "server step after the handshake")
	// Delete both; a second delete answers SEC_E_INVALID_HANDLE.
	s.noError(t, pr.client.Delete(), "deleting the client context")
	s.noError(t, pr.server.Delete(), "deleting the server context")
	s.requireStatus(t, pr.client.Delete(), backend.OpDeleteSecurityContext, sspictx.StatusInvalidHandle, "second delete of the client context")
	s.requireStatus(t, pr.server.Delete(), backend.OpDeleteSecurityContext, sspictx.StatusInvalidHandle, "second delete of the server context")
}

func (s *suite) testHandshakeFailures(t *testing.T, p Package) {
	t.Run("WrongPassword", func(t *testing.T) {
		if p.WrongPassword == nil {
			s.leftOut(t, "the harness gives no wrong-password identity")
		}
		st := s.store(t)
		_, sc := s.creds(t, st, p)
		// The wrong password shows either when the credentials are
		// acquired or in the handshake step that checks it; the error
		// must name that call.
		op := backend.OpAcquireCredentialsHandle
		cc, err := st.AcquireCredentials(p.Name, flags.Outbound, p.WrongPassword)
		if err == nil {
			defer func() { s.noError(t, cc.Release(), "releasing the wrong-password credentials") }()
			c := cc.NewClientContext(p.Target, clientReq)
			srv := sc.NewServerContext(serverReq)
			op, err = handshake(c, srv)
			s.deleteIfLive(t, &c.Context)
			s.deleteIfLive(t, &srv.Context)
		}
		s.requireStatus(t, err, op, sspictx.StatusLogonDenied, "logon with a wrong password")
	})
	t.Run("GarbageToken", func(t *testing.T) {
		st := s.store(t)
		_, sc := s.creds(t, st, p)
		srv := sc.NewServerContext(serverReq)
		_, _, err := srv.Step([]byte("this is not a security token at all"))
		want := p.Caps.BadTokenStatus
		if want == 0 {
			want = sspictx.StatusInvalidToken
		}
		s.requireStatus(t, err, backend.OpAcceptSecurityContext, want, "AcceptSecurityContext of a garbage token")
		s.noError(t, srv.Delete(), "deleting the failed context")
	})
}

func (s *suite) testAttributes(t *testing.T, p Package) {
	st := s.store(t)
	pr := s.establish(t, st, p)
	for _, c := range []*sspictx.Context{&pr.client.Context, &pr.server.Context} {
		sz, err := c.Sizes()
		s.noError(t, err, "SECPKG_ATTR_SIZES")
		if sz.MaxToken == 0 || sz.MaxSignature == 0 || sz.SecurityTrailer == 0 {
			s.errorf(t, "SECPKG_ATTR_SIZES %+v: cbMaxToken, cbMaxSignature and cbSecurityTrailer must not be zero", sz)
		}
		// Not every package reports a lifespan; one that does not must
		// still fail as QueryContextAttributes.
		ls, err := c.Lifespan()
		switch {
		case err != nil:
			if msg := wrongError(err, backend.OpQueryContextAttributes, backend.StatusOf(err)); msg != "" {
				s.errorf(t, "SECPKG_ATTR_LIFESPAN: %s", msg)
			}
		case !ls.Expiry.After(ls.Start):
			s.errorf(t, "lifespan %v..%v ends before it starts", ls.Start, ls.Expiry)
		}
	}
	if s.need(t, "SECPKG_ATTR_NAMES", p.Caps.Names) {
		name, err := pr.server.UserName()
		s.noError(t, err, "SECPKG_ATTR_NAMES")
		if p.ClientName != "" && !strings.EqualFold(p.ClientName, name) {
			s.errorf(t, "the server sees the client as %q, want %q", name, p.ClientName)
		}
	} else {
		_, err := pr.server.UserName()
		s.requireStatus(t, err, backend.OpQueryContextAttributes, sspictx.StatusUnsupportedFunction, "SECPKG_ATTR_NAMES")
	}
	if s.need(t, "SECPKG_ATTR_SESSION_KEY", p.Caps.SessionKey) {
		ck, err := pr.client.SessionKey()
		s.noError(t, err, "client SECPKG_ATTR_SESSION_KEY")
		sk, err := pr.server.SessionKey()
		s.noError(t, err, "server SECPKG_ATTR_SESSION_KEY")
		if len(ck) == 0 || !bytes.Equal(ck, sk) {
			s.errorf(t, "session keys %x (client) and %x (server): want one shared, non-empty key", ck, sk)
		}
	} else {
		_, err := pr.client.SessionKey()
		s.requireStatus(t, err, backend.OpQueryContextAttributes, sspictx.StatusUnsupportedFunction, "SECPKG_ATTR_SESSION_KEY")
	}
	if s.need(t, "SECPKG_ATTR_PACKAGE_INFO", p.Caps.PackageInfo) {
		info, err := pr.server.PackageInfo()
		s.noError(t, err, "SECPKG_ATTR_PACKAGE_INFO")
		if !strings.EqualFold(p.Name, info.Name) && !strings.EqualFold(p.Name, "Negotiate") {
			s.errorf(t, "SECPKG_ATTR_PACKAGE_INFO names package %q, want %q", info.Name, p.Name)
		}
	} else {
		_, err := pr.server.PackageInfo()
		s.requireStatus(t, err, backend.OpQueryContextAttributes, sspictx.StatusUnsupportedFunction, "SECPKG_ATTR_PACKAGE_INFO")
	}
	s.usable(t, &pr.server.Context, "after the attribute queries")
}

// exchange signs msg on from and verifies it on to.
func (s *suite) exchange(t *testing.T, from, to *sspictx.Context, msg string) {
	t.Helper()
	sig, err := from.Sign([]byte(msg))
	s.noError(t, err, "MakeSignature of "+msg)
	s.noError(t, to.Verify([]byte(msg), sig), "VerifySignature of "+msg)
}

func (s *suite) testSign(t *testing.T, p Package) {
	dirs := []struct {
		name    string
		cap     Support
		fromSrv bool
	}{
		{"ClientToServer", p.Caps.ClientSign, false},
		{"ServerToClient", p.Caps.ServerSign, true},
	}
	for _, d := range dirs {
		t.Run(d.name, func(t *testing.T) {
			st := s.store(t)
			directed := func(pr pair) (from, to *sspictx.Context) {
				if d.fromSrv {
					return &pr.server.Context, &pr.client.Context
				}
				return &pr.client.Context, &pr.server.Context
			}
			from, to := directed(s.establish(t, st, p))
			if !s.need(t, "MakeSignature", d.cap) {
				_, err := from.Sign([]byte("x"))
				s.requireStatus(t, err, backend.OpMakeSignature, sspictx.StatusUnsupportedFunction, "Sign")
				err = to.Verify([]byte("x"), make([]byte, 16))
				s.requireStatus(t, err, backend.OpVerifySignature, sspictx.StatusUnsupportedFunction, "Verify")
				s.usable(t, from, "after the refused Sign")
				s.usable(t, to, "after the refused Verify")
				return
			}
			for i := 0; i < 3; i++ {
				s.exchange(t, from, to, fmt.Sprintf("message %d", i))
			}
			msg := []byte("pay alice 10 EUR")
			sig, err := from.Sign(msg)
			s.noError(t, err, "MakeSignature")
			tampered := bytes.Replace(msg, []byte("10"), []byte("99"), 1)
			s.requireStatus(t, to.Verify(tampered, sig), backend.OpVerifySignature, sspictx.StatusMessageAltered, "Verify of a tampered message")
			if p.Caps.SequenceDetect != Supported && p.Caps.SequenceDetect != Unknown {
				s.leftOutCheck(t, "SequenceDetect", "replays and reordering are declared "+p.Caps.SequenceDetect.String()+" on this backend")
				return
			}
			// A fresh pair for each sequence check, since Windows does not
			// promise that a context survives a refused message.
			if p.Caps.SequenceDetect == Unknown {
				s.observe(t, "SequenceDetect is declared Unknown on this backend")
			}
			from, to = directed(s.establish(t, st, p))
			m1, m2 := []byte("first"), []byte("second")
			_, err = from.Sign(m1) // sent but lost: m2 arrives first
			s.noError(t, err, "MakeSignature")
			s2, err := from.Sign(m2)
			s.noError(t, err, "MakeSignature")
			s.observeStatus(t, p, CheckReorder, to.Verify(m2, s2), backend.OpVerifySignature, sspictx.StatusOutOfSequence, "Verify of a reordered message")
			from, to = directed(s.establish(t, st, p))
			s1, err := from.Sign(m1)
			s.noError(t, err, "MakeSignature")
			s.noError(t, to.Verify(m1, s1), "VerifySignature")
			s.observeStatus(t, p, CheckReplay, to.Verify(m1, s1), backend.OpVerifySignature, sspictx.StatusOutOfSequence, "Verify of a replayed message")
		})
	}
}

func (s *suite) testSeal(t *testing.T, p Package) {
	st := s.store(t)
	pr := s.establish(t, st, p)
	if !s.need(t, "EncryptMessage", p.Caps.Seal) {
		_, _, err := pr.client.Seal([]byte("x"))
		s.requireStatus(t, err, backend.OpEncryptMessage, sspictx.StatusUnsupportedFunction, "Seal")
		_, err = pr.server.Unseal(make([]byte, 16), []byte("x"))
		s.requireStatus(t, err, backend.OpDecryptMessage, sspictx.StatusUnsupportedFunction, "Unseal")
		s.usable(t, &pr.client.Context, "after the refused Seal")
		s.usable(t, &pr.server.Context, "after the refused Unseal")
		return
	}
	for i, d := range []struct{ from, to *sspictx.Context }{
		{&pr.client.Context, &pr.server.Context},
		{&pr.server.Context, &pr.client.Context},
	} {
		for j := 0; j < 3; j++ {
			msg := []byte(fmt.Sprintf("secret %d/%d", i, j))
			tok, data, err := d.from.Seal(msg)
			s.noError(t, err, "EncryptMessage")
			if bytes.Equal(msg, data) {
				s.errorf(t, "EncryptMessage left %q in plaintext", msg)
			}
			plain, err := d.to.Unseal(tok, data)
			s.noError(t, err, "DecryptMessage")
			if !bytes.Equal(msg, plain) {
				s.errorf(t, "DecryptMessage returned %q, want %q", plain, msg)
			}
		}
	}
	pr2 := s.establish(t, st, p)
	tok, data, err := pr2.client.Seal([]byte("transfer 100 to bob"))
	s.noError(t, err, "EncryptMessage")
	data[0] ^= 0x20
	_, err = pr2.server.Unseal(tok, data)
	s.requireStatus(t, err, backend.OpDecryptMessage, sspictx.StatusMessageAltered, "Unseal of a tampered ciphertext")
}

func (s *suite) testAccessToken(t *testing.T, p Package) {
	st := s.store(t)
	pr := s.establish(t, st, p)
	if !s.need(t, "QuerySecurityContextToken", p.Caps.ContextToken) {
		_, err := pr.server.AccessToken()
		s.requireStatus(t, err, backend.OpQuerySecurityContextToken, sspictx.StatusUnsupportedFunction, "AccessToken")
		s.usable(t, &pr.server.Context, "after the refused AccessToken")
		return
	}
	tok, err := pr.server.AccessToken()
	s.noError(t, err, "QuerySecurityContextToken")
	info, err := tok.Info()
	s.noError(t, err, "GetTokenInformation")
	if info.SID == "" {
		s.errorf(t, "the access token names no user SID")
	}
	if strings.Contains(p.ClientName, `\`) && !strings.EqualFold(p.ClientName, info.User) {
		s.errorf(t, "the access token's user is %q, want %q", info.User, p.ClientName)
	}
	s.noError(t, tok.Close(), "CloseHandle of the access token")
	s.requireStatus(t, tok.Close(), backend.OpCloseHandle, sspictx.StatusInvalidHandle, "second Close of the access token")
}

func (s *suite) testImpersonate(t *testing.T, p Package) {
	st := s.store(t)
	pr := s.establish(t, st, p)
	ran := false
	if !s.need(t, "ImpersonateSecurityContext", p.Caps.Impersonate) {
		err := pr.server.Impersonate(func() error { ran = true; return nil })
		s.requireStatus(t, err, backend.OpImpersonateSecurityContext, sspictx.StatusUnsupportedFunction, "Impersonate")
		s.isTrue(t, !ran, "Impersonate ran its function although ImpersonateSecurityContext failed")
		s.usable(t, &pr.server.Context, "after the refused Impersonate")
		return
	}
	// The function's own error comes back: the revert succeeded.
	errFn := errors.New("the impersonating function's error")
	err := pr.server.Impersonate(func() error { ran = true; return errFn })
	s.isTrue(t, ran, "Impersonate did not run its function: %v", err)
	s.isTrue(t, errors.Is(err, errFn), "Impersonate returned %v, want the function's own error", err)
	// Reverted, the context impersonates again.
	s.noError(t, pr.server.Impersonate(func() error { return nil }), "second Impersonate")
	s.exchangeIfSupported(t, p, pr)
}

// exchangeIfSupported checks that a message still crosses from client to
// server, if the package signs.
func (s *suite) exchangeIfSupported(t *testing.T, p Package, pr pair) {
	t.Helper()
	if p.Caps.ClientSign == Supported {
		s.exchange(t, &pr.client.Context, &pr.server.Context, "the context is unharmed")
	} else {
		s.usable(t, &pr.server.Context, "at the end")
	}
}

func (s *suite) testInvalidHandles(t *testing.T, p Package) {
	st, b := s.storeAndBackend(t)
	pr := s.establish(t, st, p)
	c := &pr.client.Context
	s.noError(t, c.Delete(), "DeleteSecurityContext")
	_, err := c.Sign([]byte("x"))
	s.requireStatus(t, err, backend.OpMakeSignature, sspictx.StatusInvalidHandle, "Sign after Delete")
	s.requireStatus(t, c.Verify([]byte("x"), make([]byte, 16)), backend.OpVerifySignature, sspictx.StatusInvalidHandle, "Verify after Delete")
	_, _, err = c.Seal([]byte("x"))
	s.requireStatus(t, err, backend.OpEncryptMessage, sspictx.StatusInvalidHandle, "Seal after Delete")
	_, err = c.Unseal(make([]byte, 16), []byte("x"))
	s.requireStatus(t, err, backend.OpDecryptMessage, sspictx.StatusInvalidHandle, "Unseal after Delete")
	_, err = c.Sizes()
	s.requireStatus(t, err, backend.OpQueryContextAttributes, sspictx.StatusInvalidHandle, "Sizes after Delete")
	_, err = c.Export(0)
	s.requireStatus(t, err, backend.OpExportSecurityContext, sspictx.StatusInvalidHandle, "Export after Delete")
	s.requireStatus(t, c.Impersonate(func() error { return nil }), backend.OpImpersonateSecurityContext, sspictx.StatusInvalidHandle, "Impersonate after Delete")
	_, err = c.AccessToken()
	s.requireStatus(t, err, backend.OpQuerySecurityContextToken, sspictx.StatusInvalidHandle, "AccessToken after Delete")
	s.requireStatus(t, c.Delete(), backend.OpDeleteSecurityContext, sspictx.StatusInvalidHandle, "second Delete")

	var zero backend.Handle
	_, err = b.QueryContextAttributes(zero, backend.AttrSizes)
	s.requireStatus(t, err, backend.OpQueryContextAttributes, sspictx.StatusInvalidHandle, "backend query on the zero handle")
	if !s.h.DoubleDelete {
		s.leftOutCheck(t, "StaleHandle", "stale handles are unsafe on this backend")
		return
	}
	h := s.handleOf(t, &pr.server.Context)
	s.noError(t, pr.server.Delete(), "DeleteSecurityContext")
	s.requireStatus(t, b.DeleteSecurityContext(h), backend.OpDeleteSecurityContext, sspictx.StatusInvalidHandle, "backend delete of a deleted handle")
	_, err = b.QueryContextAttributes(h, backend.AttrSizes)
	s.requireStatus(t, err, backend.OpQueryContextAttributes, sspictx.StatusInvalidHandle, "backend query of a deleted handle")
	// The optional calls, on the backends that have them; a backend
	// without one has nothing to check here (the Store answers for it, as
	// checked above).
	msg := func() []backend.Buffer {
		return []backend.Buffer{{Type: backend.BufferData, Data: []byte("x")}, {Type: backend.BufferToken, Data: make([]byte, 64)}}
	}
	if sg, ok := b.(backend.Signer); ok {
		err = sg.MakeSignature(h, 0, msg(), 0)
		s.requireStatus(t, err, backend.OpMakeSignature, sspictx.StatusInvalidHandle, "backend sign with a deleted handle")
		_, err = sg.VerifySignature(h, msg(), 0)
		s.requireStatus(t, err, backend.OpVerifySignature, sspictx.StatusInvalidHandle, "backend verify with a deleted handle")
	}
	if sl, ok := b.(backend.Sealer); ok {
		err = sl.EncryptMessage(h, 0, msg(), 0)
		s.requireStatus(t, err, backend.OpEncryptMessage, sspictx.StatusInvalidHandle, "backend encrypt with a deleted handle")
		_, err = sl.DecryptMessage(h, msg(), 0)
		s.requireStatus(t, err, backend.OpDecryptMessage, sspictx.StatusInvalidHandle, "backend decrypt with a deleted handle")
	}
	if ex, ok := b.(backend.Exporter); ok {
		_, _, err = ex.ExportSecurityContext(h, 0, false)
		s.requireStatus(t, err, backend.OpExportSecurityContext, sspictx.StatusInvalidHandle, "backend export of a deleted handle")
	}
}

func (s *suite) testConcurrent(t *testing.T, p Package) {
	st := s.store(t)
	cc, sc := s.creds(t, st, p)
	const workers, rounds = 8, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			errs <- func() error {
				for r := 0; r < rounds; r++ {
					c := cc.NewClientContext(p.Target, clientReq)
					srv := sc.NewServerContext(serverReq)
					_, err := handshake(c, srv)
					if err == nil {
						err = roundTrip(c, srv, fmt.Sprintf("worker %d round %d", w, r), p.Caps)
					}
					_ = c.Delete()
					_ = srv.Delete()
					if err != nil {
						return fmt.Errorf("worker %d round %d: %w", w, r, err)
					}
				}
				return nil
			}()
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			s.errorf(t, "handshakes on many contexts at once: %v", err)
		}
	}
	if p.Caps.ClientSign != Supported {
		return
	}
	// One context shared by many goroutines: the Store serializes the
	// calls on it. Each goroutine signs under Raw, which holds the
	// context's lock, and appends to order without a lock of its own: the
	// signatures verify in that order only if the Store kept one call at a
	// time, and the race detector sees the append otherwise.
	pr := s.establish(t, st, p)
	sizes, err := pr.client.Sizes()
	s.noError(t, err, "SECPKG_ATTR_SIZES")
	type signed struct{ msg, sig []byte }
	var order []signed
	var wg2 sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg2.Add(1)
		go func(w int) {
			defer wg2.Done()
			for r := 0; r < rounds; r++ {
				msg := []byte(fmt.Sprintf("serialized %d/%d", w, r))
				err := pr.client.Raw(func(b backend.Backend, h backend.Handle) error {
					sig, err := signRaw(b, h, msg, sizes.MaxSignature)
					if err == nil {
						order = append(order, signed{msg, sig})
					}
					return err
				})
				if err != nil {
					s.errorf(t, "MakeSignature under Raw: %v", err)
					return
				}
				if _, err := pr.client.Sizes(); err != nil {
					s.errorf(t, "SECPKG_ATTR_SIZES between signatures: %v", err)
				}
			}
		}(w)
	}
	wg2.Wait()
	if t.Failed() {
		return
	}
	for i, m := range order {
		s.noError(t, pr.server.Verify(m.msg, m.sig), fmt.Sprintf("VerifySignature of signature %d of %d in the order they were made", i+1, len(order)))
	}
}

// signRaw signs msg with the backend's MakeSignature as Context.Sign does:
// a read-only DATA buffer and a TOKEN buffer of maxSig bytes.
func signRaw(b backend.Backend, h backend.Handle, msg []byte, maxSig uint32) ([]byte, error) {
	sg, ok := b.(backend.Signer)
	if !ok {
		return nil, fmt.Errorf("the backend (%T) does not implement backend.Signer", b)
	}
	bufs := []backend.Buffer{{Type: backend.BufferData | backend.BufferReadOnly, Data: msg}, {Type: backend.BufferToken, Data: make([]byte, maxSig)}}
	if err := sg.MakeSignature(h, 0, bufs, 0); err != nil {
		return nil, err
	}
	return bufs[1].Data, nil
}

// roundTrip checks one signed and one sealed message from client to server.
func roundTrip(c *sspictx.ClientContext, s *sspictx.ServerContext, msg string, caps Caps) error {
	if caps.ClientSign == Supported {
		sig, err := c.Sign([]byte(msg))
		if err != nil {
			return err
		}
		if err := s.Verify([]byte(msg), sig); err != nil {
			return err
		}
	}
	if caps.Seal == Supported {
		tok, data, err := c.Seal([]byte(msg))
		if err != nil {
			return err
		}
		plain, err := s.Unseal(tok, data)
		if err != nil {
			return err
		}
		if string(plain) != msg {
			return fmt.Errorf("unsealed %q, want %q", plain, msg)
		}
	}
	return nil
}

// handleOf returns a context's backend handle, for checks of what the
// backend answers once the handle is stale.
func (s *suite) handleOf(t *testing.T, c *sspictx.Context) backend.Handle {
	t.Helper()
	var h backend.Handle
	s.noError(t, c.Raw(func(_ backend.Backend, raw backend.Handle) error { h = raw; return nil }), "Raw")
	return h
}
