package backendtest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// Run runs the conformance suite against the backend h describes. Every
// subtest gets fresh backends from h.NewBackend and checks that it leaked
// no handle.
func Run(t *testing.T, h Harness) {
	t.Helper()
	require.NotNil(t, h.NewBackend, "Harness.NewBackend is required")
	require.NotEmpty(t, h.Packages, "Harness.Packages must name at least one package")
	s := &suite{h: h}
	t.Run("Packages", s.testPackages)
	for _, p := range h.Packages {
		p := p
		t.Run(p.Name, func(t *testing.T) {
			t.Run("Credentials", func(t *testing.T) { s.testCredentials(t, p) })
			t.Run("Handshake", func(t *testing.T) { s.testHandshake(t, p) })
			t.Run("HandshakeFailures", func(t *testing.T) { s.testHandshakeFailures(t, p) })
			t.Run("Attributes", func(t *testing.T) { s.testAttributes(t, p) })
			t.Run("Sign", func(t *testing.T) { s.testSign(t, p) })
			t.Run("Seal", func(t *testing.T) { s.testSeal(t, p) })
			t.Run("AccessToken", func(t *testing.T) { s.testAccessToken(t, p) })
			t.Run("Export", func(t *testing.T) { s.testExport(t, p) })
			t.Run("InvalidHandles", func(t *testing.T) { s.testInvalidHandles(t, p) })
			t.Run("Concurrent", func(t *testing.T) { s.testConcurrent(t, p) })
		})
	}
}

type suite struct {
	h Harness
}

// leftOut skips a check the backend declared it cannot do, with a line the
// tier scripts count.
func leftOut(t *testing.T, why string) {
	t.Helper()
	t.Skipf("backendtest: left out %s: %s", t.Name(), why)
}

// leftOutCheck notes one check the backend cannot do, without skipping
// the rest of the test; the tier scripts count these lines too.
func leftOutCheck(t *testing.T, check, why string) {
	t.Helper()
	t.Logf("backendtest: left out %s/%s: %s", t.Name(), check, why)
}

// need leaves the test out unless the capability is Supported; for
// Unsupported it returns false so the caller checks the exact answer.
func need(t *testing.T, what string, s Support) bool {
	t.Helper()
	switch s {
	case Broken:
		leftOut(t, what+" is declared broken on this backend")
	case Unsupported:
		return false
	}
	return true
}

// store returns a Store over a fresh backend, checked for leaks at the end.
func (s *suite) store(t *testing.T) *sspictx.Store {
	t.Helper()
	st, _ := s.storeAndBackend(t)
	return st
}

// storeAndBackend is store that also returns the backend under the Store,
// for checks that call the backend directly with stale handles.
func (s *suite) storeAndBackend(t *testing.T) (*sspictx.Store, backend.Backend) {
	t.Helper()
	b := s.h.NewBackend(t)
	st := sspictx.NewStore(b)
	t.Cleanup(func() {
		for _, l := range st.Leaks() {
			t.Errorf("backendtest: leaked %s", l)
		}
	})
	return st, b
}

// requireStatus asserts that err carries the status st.
func requireStatus(t *testing.T, err error, st sspictx.Status, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	if !errors.Is(err, st) {
		require.Failf(t, "wrong status", "want %v, got %v (%v) %s", st, sspictx.StatusOf(err), err, fmt.Sprint(msgAndArgs...))
	}
	var e *sspictx.Error
	require.True(t, errors.As(err, &e), "error %T is not a *context.Error", err)
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
func creds(t *testing.T, st *sspictx.Store, p Package) (cc, sc *sspictx.Credentials) {
	t.Helper()
	sc, err := st.AcquireCredentials(p.Name, flags.Inbound, p.Server)
	require.NoError(t, err, "server credentials")
	t.Cleanup(func() { assert.NoError(t, sc.Release()) })
	cc, err = st.AcquireCredentials(p.Name, flags.Outbound, p.Client)
	require.NoError(t, err, "client credentials")
	t.Cleanup(func() { assert.NoError(t, cc.Release()) })
	return cc, sc
}

// handshake runs client and server steps until both are done.
func handshake(c *sspictx.ClientContext, s *sspictx.ServerContext) error {
	var toServer, toClient []byte
	var cdone, sdone bool
	var err error
	for i := 0; i < 10; i++ {
		if !cdone {
			toServer, cdone, err = c.Step(toClient)
			if err != nil {
				return fmt.Errorf("client step %d: %w", i+1, err)
			}
		}
		if len(toServer) > 0 || !sdone {
			if sdone {
				return fmt.Errorf("client sent a token after the server finished")
			}
			toClient, sdone, err = s.Step(toServer)
			if err != nil {
				return fmt.Errorf("server step %d: %w", i+1, err)
			}
			toServer = nil
		}
		if cdone && sdone {
			return nil
		}
		if cdone && len(toClient) == 0 && !sdone {
			return fmt.Errorf("server wants more but the client is done")
		}
	}
	return fmt.Errorf("handshake did not finish in 10 rounds")
}

// establish returns a pair of established contexts, deleted at cleanup.
func establish(t *testing.T, st *sspictx.Store, p Package) pair {
	t.Helper()
	cc, sc := creds(t, st, p)
	c := cc.NewClientContext(p.Target, clientReq)
	srv := sc.NewServerContext(serverReq)
	t.Cleanup(func() { deleteIfLive(t, &c.Context); deleteIfLive(t, &srv.Context) })
	require.NoError(t, handshake(c, srv), "handshake")
	require.True(t, c.Established())
	require.True(t, srv.Established())
	return pair{client: c, server: srv}
}

// deleteIfLive deletes a context unless the test already did.
func deleteIfLive(t *testing.T, c *sspictx.Context) {
	err := c.Delete()
	if err != nil && !errors.Is(err, sspictx.StatusInvalidHandle) {
		t.Errorf("deleting context: %v", err)
	}
}

// knownPackageValues lists what real systems report, per DESIGN.md: a
// check accepts each value a real system reports.
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
	require.NoError(t, err)
	byName := map[string]sspictx.PackageInfo{}
	for _, p := range pkgs {
		byName[strings.ToLower(p.Name)] = p
	}
	for _, want := range s.h.Packages {
		got, ok := byName[strings.ToLower(want.Name)]
		require.Truef(t, ok, "EnumerateSecurityPackages lacks %s", want.Name)
		info, err := st.PackageInfo(want.Name)
		require.NoError(t, err)
		assert.True(t, strings.EqualFold(want.Name, info.Name))
		assert.Equal(t, got.RPCID, info.RPCID)
		if k, ok := knownPackageValues[info.Name]; ok {
			assert.Equalf(t, k.rpcID, info.RPCID, "%s wRPCID", info.Name)
			assert.Containsf(t, k.maxTokens, info.MaxToken, "%s cbMaxToken", info.Name)
		}
	}
	_, err = st.PackageInfo("NoSuchPackage")
	requireStatus(t, err, sspictx.StatusSecpkgNotFound)
	_, err = st.AcquireCredentials("NoSuchPackage", flags.Outbound, nil)
	requireStatus(t, err, sspictx.StatusSecpkgNotFound)
}

func (s *suite) testCredentials(t *testing.T, p Package) {
	st := s.store(t)
	for _, use := range []flags.CredentialUse{flags.Inbound, flags.Outbound} {
		id := p.Client
		if use == flags.Inbound {
			id = p.Server
		}
		c, err := st.AcquireCredentials(p.Name, use, id)
		require.NoError(t, err, use)
		assert.Equal(t, p.Name, c.Package())
		require.NoError(t, c.Release())
		requireStatus(t, c.Release(), sspictx.StatusInvalidHandle, "second Release")
	}
	_, err := st.AcquireCredentials(p.Name, flags.CredentialUse(0x10), p.Client)
	requireStatus(t, err, sspictx.StatusInvalidParameter)
}

func (s *suite) testHandshake(t *testing.T, p Package) {
	st := s.store(t)
	pr := establish(t, st, p)
	if p.Caps.ContextFlags == Supported {
		assert.NotZero(t, pr.client.Flags()&flags.ClientRetIntegrity, "client flags %v lack Integrity", pr.client.Flags())
		assert.NotZero(t, pr.server.Flags()&flags.ServerRetIntegrity, "server flags %v lack Integrity", pr.server.Flags())
	} else {
		leftOutCheck(t, "ReturnedFlags", "the backend is declared to return no context flags")
	}
	// Another step on an established context is refused.
	_, _, err := pr.client.Step([]byte("more"))
	require.Error(t, err)
	// Delete both; every later call answers SEC_E_INVALID_HANDLE.
	require.NoError(t, pr.client.Delete())
	require.NoError(t, pr.server.Delete())
	requireStatus(t, pr.client.Delete(), sspictx.StatusInvalidHandle)
}

func (s *suite) testHandshakeFailures(t *testing.T, p Package) {
	t.Run("WrongPassword", func(t *testing.T) {
		if p.WrongPassword == nil {
			leftOut(t, "the harness gives no wrong-password identity")
		}
		st := s.store(t)
		_, sc := creds(t, st, p)
		cc, err := st.AcquireCredentials(p.Name, flags.Outbound, p.WrongPassword)
		if err == nil {
			defer func() { assert.NoError(t, cc.Release()) }()
			c := cc.NewClientContext(p.Target, clientReq)
			srv := sc.NewServerContext(serverReq)
			err = handshake(c, srv)
			deleteIfLive(t, &c.Context)
			deleteIfLive(t, &srv.Context)
		}
		requireStatus(t, err, sspictx.StatusLogonDenied)
	})
	t.Run("GarbageToken", func(t *testing.T) {
		st := s.store(t)
		_, sc := creds(t, st, p)
		srv := sc.NewServerContext(serverReq)
		_, _, err := srv.Step([]byte("this is not a security token at all"))
		want := p.Caps.BadTokenStatus
		if want == 0 {
			want = sspictx.StatusInvalidToken
		}
		requireStatus(t, err, want)
		require.NoError(t, srv.Delete(), "a failed context is cleaned up")
	})
}

func (s *suite) testAttributes(t *testing.T, p Package) {
	st := s.store(t)
	pr := establish(t, st, p)
	for _, c := range []*sspictx.Context{&pr.client.Context, &pr.server.Context} {
		sz, err := c.Sizes()
		require.NoError(t, err)
		assert.NotZero(t, sz.MaxToken)
		assert.NotZero(t, sz.MaxSignature)
		assert.NotZero(t, sz.SecurityTrailer)
		ls, err := c.Lifespan()
		if err == nil {
			assert.True(t, ls.Expiry.After(ls.Start), "lifespan %v..%v", ls.Start, ls.Expiry)
		}
	}
	switch {
	case !need(t, "SECPKG_ATTR_NAMES", p.Caps.Names):
		_, err := pr.server.UserName()
		requireStatus(t, err, sspictx.StatusUnsupportedFunction)
	default:
		name, err := pr.server.UserName()
		require.NoError(t, err)
		if p.ClientName != "" {
			assert.True(t, strings.EqualFold(p.ClientName, name), "server sees client %q, want %q", name, p.ClientName)
		}
	}
	if need(t, "SECPKG_ATTR_SESSION_KEY", p.Caps.SessionKey) {
		ck, err := pr.client.SessionKey()
		require.NoError(t, err)
		sk, err := pr.server.SessionKey()
		require.NoError(t, err)
		assert.NotEmpty(t, ck)
		assert.Equal(t, ck, sk, "both sides share one session key")
	} else {
		_, err := pr.client.SessionKey()
		requireStatus(t, err, sspictx.StatusUnsupportedFunction)
	}
	if need(t, "SECPKG_ATTR_PACKAGE_INFO", p.Caps.PackageInfo) {
		info, err := pr.server.PackageInfo()
		require.NoError(t, err)
		assert.True(t, strings.EqualFold(p.Name, info.Name) || strings.EqualFold(p.Name, "Negotiate"), "package %q", info.Name)
	} else {
		_, err := pr.server.PackageInfo()
		requireStatus(t, err, sspictx.StatusUnsupportedFunction)
	}
}

// exchange signs msg on from and verifies it on to.
func exchange(t *testing.T, from, to *sspictx.Context, msg string) {
	t.Helper()
	sig, err := from.Sign([]byte(msg))
	require.NoError(t, err)
	require.NoError(t, to.Verify([]byte(msg), sig))
}

func (s *suite) testSign(t *testing.T, p Package) {
	dirs := []struct {
		name     string
		cap      Support
		fromSrv  bool
		sequence bool
	}{
		{"ClientToServer", p.Caps.ClientSign, false, true},
		{"ServerToClient", p.Caps.ServerSign, true, true},
	}
	for _, d := range dirs {
		t.Run(d.name, func(t *testing.T) {
			st := s.store(t)
			pr := establish(t, st, p)
			from, to := &pr.client.Context, &pr.server.Context
			if d.fromSrv {
				from, to = to, from
			}
			if !need(t, "MakeSignature", d.cap) {
				_, err := from.Sign([]byte("x"))
				requireStatus(t, err, sspictx.StatusUnsupportedFunction)
				return
			}
			for i := 0; i < 3; i++ {
				exchange(t, from, to, fmt.Sprintf("message %d", i))
			}
			msg := []byte("pay alice 10 EUR")
			sig, err := from.Sign(msg)
			require.NoError(t, err)
			tampered := bytes.Replace(msg, []byte("10"), []byte("99"), 1)
			requireStatus(t, to.Verify(tampered, sig), sspictx.StatusMessageAltered, "tampered message")
			if p.Caps.SequenceDetect != Supported {
				return
			}
			// A fresh pair for the sequence checks, since Windows does not
			// promise that a context survives a refused message.
			pr2 := establish(t, st, p)
			from, to = &pr2.client.Context, &pr2.server.Context
			if d.fromSrv {
				from, to = to, from
			}
			m1, m2 := []byte("first"), []byte("second")
			_, err = from.Sign(m1) // sent but lost: m2 arrives first
			require.NoError(t, err)
			s2, err := from.Sign(m2)
			require.NoError(t, err)
			requireStatus(t, to.Verify(m2, s2), sspictx.StatusOutOfSequence, "reordered message")
			pr3 := establish(t, st, p)
			from, to = &pr3.client.Context, &pr3.server.Context
			if d.fromSrv {
				from, to = to, from
			}
			s1, err := from.Sign(m1)
			require.NoError(t, err)
			require.NoError(t, to.Verify(m1, s1))
			requireStatus(t, to.Verify(m1, s1), sspictx.StatusOutOfSequence, "replayed message")
		})
	}
}

func (s *suite) testSeal(t *testing.T, p Package) {
	st := s.store(t)
	pr := establish(t, st, p)
	if !need(t, "EncryptMessage", p.Caps.Seal) {
		_, _, err := pr.client.Seal([]byte("x"))
		requireStatus(t, err, sspictx.StatusUnsupportedFunction)
		return
	}
	for i, d := range []struct{ from, to *sspictx.Context }{
		{&pr.client.Context, &pr.server.Context},
		{&pr.server.Context, &pr.client.Context},
	} {
		for j := 0; j < 3; j++ {
			msg := []byte(fmt.Sprintf("secret %d/%d", i, j))
			tok, data, err := d.from.Seal(msg)
			require.NoError(t, err)
			assert.NotEqual(t, msg, data, "ciphertext equals plaintext")
			plain, err := d.to.Unseal(tok, data)
			require.NoError(t, err)
			assert.Equal(t, msg, plain)
		}
	}
	pr2 := establish(t, st, p)
	tok, data, err := pr2.client.Seal([]byte("transfer 100 to bob"))
	require.NoError(t, err)
	data[0] ^= 0x20
	_, err = pr2.server.Unseal(tok, data)
	requireStatus(t, err, sspictx.StatusMessageAltered, "tampered ciphertext")
}

func (s *suite) testAccessToken(t *testing.T, p Package) {
	st := s.store(t)
	pr := establish(t, st, p)
	if !need(t, "QuerySecurityContextToken", p.Caps.ContextToken) {
		_, err := pr.server.AccessToken()
		requireStatus(t, err, sspictx.StatusUnsupportedFunction)
		return
	}
	tok, err := pr.server.AccessToken()
	require.NoError(t, err)
	info, err := tok.Info()
	require.NoError(t, err)
	assert.NotEmpty(t, info.SID)
	if p.ClientName != "" && strings.Contains(p.ClientName, `\`) {
		assert.True(t, strings.EqualFold(p.ClientName, info.User), "token user %q, want %q", info.User, p.ClientName)
	}
	require.NoError(t, tok.Close())
	requireStatus(t, tok.Close(), sspictx.StatusInvalidHandle, "second Close")
}

func (s *suite) testInvalidHandles(t *testing.T, p Package) {
	st, b := s.storeAndBackend(t)
	pr := establish(t, st, p)
	c := &pr.client.Context
	require.NoError(t, c.Delete())
	_, err := c.Sign([]byte("x"))
	requireStatus(t, err, sspictx.StatusInvalidHandle, "Sign after Delete")
	requireStatus(t, c.Verify([]byte("x"), make([]byte, 16)), sspictx.StatusInvalidHandle, "Verify after Delete")
	_, _, err = c.Seal([]byte("x"))
	requireStatus(t, err, sspictx.StatusInvalidHandle, "Seal after Delete")
	_, err = c.Sizes()
	requireStatus(t, err, sspictx.StatusInvalidHandle, "Sizes after Delete")
	_, err = c.Export(0)
	requireStatus(t, err, sspictx.StatusInvalidHandle, "Export after Delete")
	requireStatus(t, c.Delete(), sspictx.StatusInvalidHandle, "second Delete")

	var zero backend.Handle
	_, err = b.QueryContextAttributes(zero, backend.AttrSizes)
	requireStatus(t, err, sspictx.StatusInvalidHandle, "backend query on the zero handle")
	if !s.h.DoubleDelete {
		t.Logf("backendtest: left out %s/StaleHandle: stale handles are unsafe on this backend", t.Name())
		return
	}
	h := handleOf(t, &pr.server.Context)
	require.NoError(t, pr.server.Delete())
	requireStatus(t, b.DeleteSecurityContext(h), sspictx.StatusInvalidHandle, "backend delete of a deleted handle")
	_, err = b.QueryContextAttributes(h, backend.AttrSizes)
	requireStatus(t, err, sspictx.StatusInvalidHandle, "backend query of a deleted handle")
	err = b.(backend.Signer).MakeSignature(h, 0, []backend.Buffer{{Type: backend.BufferData, Data: []byte("x")}, {Type: backend.BufferToken, Data: make([]byte, 64)}}, 0)
	requireStatus(t, err, sspictx.StatusInvalidHandle, "backend sign with a deleted handle")
	_, _, err = b.(backend.Exporter).ExportSecurityContext(h, 0, false)
	requireStatus(t, err, sspictx.StatusInvalidHandle, "backend export of a deleted handle")
}

func (s *suite) testConcurrent(t *testing.T, p Package) {
	st := s.store(t)
	cc, sc := creds(t, st, p)
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
					err := handshake(c, srv)
					if err == nil {
						err = roundTrip(c, srv, fmt.Sprintf("worker %d round %d", w, r), p.Caps)
					}
					_ = c.Delete()
					_ = srv.Delete()
					if err != nil {
						return err
					}
				}
				return nil
			}()
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// One context shared by many goroutines: calls are serialized.
	pr := establish(t, st, p)
	if p.Caps.ClientSign != Supported {
		return
	}
	var mu sync.Mutex
	type signed struct{ msg, sig []byte }
	var order []signed
	var wg2 sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg2.Add(1)
		go func(w int) {
			defer wg2.Done()
			msg := []byte(fmt.Sprintf("parallel %d", w))
			mu.Lock()
			defer mu.Unlock()
			sig, err := pr.client.Sign(msg)
			if assert.NoError(t, err) {
				order = append(order, signed{msg, sig})
			}
		}(w)
	}
	wg2.Wait()
	for _, m := range order {
		require.NoError(t, pr.server.Verify(m.msg, m.sig))
	}
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
func handleOf(t *testing.T, c *sspictx.Context) backend.Handle {
	t.Helper()
	var h backend.Handle
	require.NoError(t, c.Raw(func(_ backend.Backend, raw backend.Handle) error { h = raw; return nil }))
	return h
}
