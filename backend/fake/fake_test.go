package fake

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/serialize"
)

// env is a machine with one user, a process for each side, and an
// established NTLM pair.
type env struct {
	m            *Machine
	proc         *Process
	store        *sspictx.Store
	client       *sspictx.ClientContext
	server       *sspictx.ServerContext
	ccred, scred *sspictx.Credentials
	clock        *ManualClock
}

const (
	testDomain   = "CONTOSO"
	testUser     = "alice"
	testPassword = "Passw0rd!"
)

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := NewManualClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	m := NewMachine(MachineConfig{Name: "HOST", Domain: testDomain, Clock: clock.Now, ContextLifetime: time.Hour})
	m.AddUser(testDomain, testUser, testPassword, "S-1-5-32-545")
	e := &env{m: m, proc: m.NewProcess(), clock: clock}
	e.store = sspictx.NewStore(e.proc)
	CheckLeaks(t, e.store)
	var err error
	e.scred, err = e.store.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	e.ccred, err = e.store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: testDomain, User: testUser, Password: testPassword})
	require.NoError(t, err)
	e.client, e.server = e.handshake(t)
	t.Cleanup(func() {
		_ = e.client.Delete()
		_ = e.server.Delete()
		_ = e.ccred.Release()
		_ = e.scred.Release()
	})
	return e
}

func (e *env) handshake(t *testing.T) (*sspictx.ClientContext, *sspictx.ServerContext) {
	t.Helper()
	c := e.ccred.NewClientContext("HOST/host.contoso.test", flags.ClientReqIntegrity|flags.ClientReqConfidentiality)
	s := e.scred.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	neg, done, err := c.Step(nil)
	require.NoError(t, err)
	require.False(t, done)
	chal, done, err := s.Step(neg)
	require.NoError(t, err)
	require.False(t, done)
	auth, done, err := c.Step(chal)
	require.NoError(t, err)
	require.True(t, done)
	out, done, err := s.Step(auth)
	require.NoError(t, err)
	require.True(t, done)
	require.Empty(t, out)
	return c, s
}

// works asserts that the pair still signs and verifies both ways.
func (e *env) works(t *testing.T, client, server *sspictx.Context) {
	t.Helper()
	msg := []byte(fmt.Sprintf("still works %d", time.Now().UnixNano()))
	sig, err := client.Sign(msg)
	require.NoError(t, err)
	require.NoError(t, server.Verify(msg, sig))
	sig, err = server.Sign(msg)
	require.NoError(t, err)
	require.NoError(t, client.Verify(msg, sig))
}

func requireStatus(t *testing.T, err error, st sspictx.Status) {
	t.Helper()
	require.Error(t, err)
	require.Truef(t, errors.Is(err, st), "want %v, got %v", st, err)
}

// Strict: flag bits beyond 0x7 are SEC_E_INVALID_PARAMETER and change nothing.
func TestExportUnknownFlags(t *testing.T) {
	e := newEnv(t)
	for _, f := range []flags.Export{0x8, 0x10 | flags.DeleteOld, 0x80000000} {
		_, err := e.server.Export(f)
		requireStatus(t, err, sspictx.StatusInvalidParameter)
	}
	e.works(t, &e.client.Context, &e.server.Context)
}

// Doc: TO_KERNEL is unsupported, and the context is untouched even with DELETE_OLD.
func TestExportToKernel(t *testing.T) {
	e := newEnv(t)
	_, err := e.server.Export(flags.ToKernel | flags.DeleteOld)
	requireStatus(t, err, sspictx.StatusUnsupportedFunction)
	requireStatus(t, err, sspictx.StatusNotSupported)
	e.works(t, &e.client.Context, &e.server.Context)
}

// Strict: a context whose handshake has not finished cannot be exported.
func TestExportBeforeEstablished(t *testing.T) {
	e := newEnv(t)
	c := e.ccred.NewClientContext("HOST/x", 0)
	_, err := c.Export(0)
	requireStatus(t, err, sspictx.StatusInvalidHandle) // no handle at all yet
	_, _, err = c.Step(nil)
	require.NoError(t, err)
	_, err = c.Export(flags.DeleteOld)
	requireStatus(t, err, sspictx.StatusInvalidHandle)
	require.NoError(t, c.Delete(), "the half-made context is intact and deletable")
}

// Strict: a failed export (here an injected SEC_E_INSUFFICIENT_MEMORY)
// leaves the old context fully intact, even with DELETE_OLD.
func TestExportFailureLosesNothing(t *testing.T) {
	for _, st := range []sspictx.Status{sspictx.StatusInsufficientMemory, sspictx.StatusInternalError} {
		t.Run(st.Name(), func(t *testing.T) {
			e := newEnv(t)
			e.works(t, &e.client.Context, &e.server.Context)
			e.proc.FailNth(backend.OpExportSecurityContext, 1, st)
			_, err := e.server.Export(flags.DeleteOld | flags.ResetNew)
			requireStatus(t, err, st)
			// Same sequence position as before: the next message verifies.
			e.works(t, &e.client.Context, &e.server.Context)
			blob, err := e.server.Export(flags.DeleteOld)
			require.NoError(t, err, "the retry succeeds")
			imp, err := e.store.Import("NTLM", blob, nil)
			require.NoError(t, err)
			e.works(t, &e.client.Context, imp)
			require.NoError(t, imp.Delete())
		})
	}
}

// FailNth counts calls: the second export fails, the first and third work.
func TestFailNth(t *testing.T) {
	e := newEnv(t)
	e.proc.FailNth(backend.OpQueryContextAttributes, 2, sspictx.StatusInternalError)
	_, err := e.server.Sizes()
	require.NoError(t, err)
	_, err = e.server.UserName()
	requireStatus(t, err, sspictx.StatusInternalError)
	name, err := e.server.UserName()
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, name)
}

// exportBlob returns a fresh server blob exported without DELETE_OLD.
func (e *env) exportBlob(t *testing.T) []byte {
	t.Helper()
	blob, err := e.server.Export(0)
	require.NoError(t, err)
	return blob
}

// Strict: every malformed blob is SEC_E_INVALID_TOKEN with a detail, never
// a panic, and nothing else in the process changes.
func TestImportBadBlobs(t *testing.T) {
	e := newEnv(t)
	good := e.exportBlob(t)
	tampered := bytes.Clone(good)
	tampered[len(tampered)-5] ^= 1
	newer := bytes.Clone(good)
	newer[8] = 0xFF // the version field follows the 8-byte magic
	other, err := e.m.sealer.Seal(&serialize.State{Package: "Kerberos", Server: true, Established: true, Expiry: e.clock.Now().Add(time.Hour)}, nil)
	require.NoError(t, err)
	cases := []struct {
		name   string
		blob   []byte
		detail string
	}{
		{"empty", nil, "truncated"},
		{"garbage", []byte("definitely not a packed security context, just words"), "not a gosspi packed context"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"tampered", tampered, "altered"},
		{"newer", newer, "newer"},
		{"other package", other, `"Kerberos"`},
		{"oversized", make([]byte, 1<<20), "too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.store.Import("NTLM", tc.blob, nil)
			requireStatus(t, err, sspictx.StatusInvalidToken)
			assert.Contains(t, err.Error(), tc.detail)
		})
	}
	e.works(t, &e.client.Context, &e.server.Context)
	// The good blob was not used up by the refused ones.
	imp, err := e.store.Import("NTLM", good, nil)
	require.NoError(t, err)
	require.NoError(t, imp.Delete())
}

// Every truncation of a valid blob is refused cleanly.
func TestImportEveryTruncation(t *testing.T) {
	e := newEnv(t)
	good := e.exportBlob(t)
	for n := 0; n < len(good); n++ {
		_, err := e.proc.ImportSecurityContext("NTLM", good[:n], 0)
		requireStatus(t, err, sspictx.StatusInvalidToken)
	}
}

// Doc: a blob from another machine is refused; errors.Is tells it apart.
func TestImportForeignMachine(t *testing.T) {
	e := newEnv(t)
	blob := e.exportBlob(t)
	other := NewMachine(MachineConfig{Name: "OTHER"})
	_, err := other.NewProcess().ImportSecurityContext("NTLM", blob, 0)
	requireStatus(t, err, sspictx.StatusInvalidToken)
	require.ErrorIs(t, err, ErrForeignMachine)
	assert.Contains(t, err.Error(), "another machine")
	// A machine can still import it: the foreign attempt did not use it up.
	h, err := e.m.NewProcess().ImportSecurityContext("NTLM", blob, 0)
	require.NoError(t, err)
	assert.False(t, h.IsZero())
}

// Strict: a blob imports once per machine, in any process of it.
func TestImportTwice(t *testing.T) {
	e := newEnv(t)
	blob := e.exportBlob(t)
	imp, err := e.store.Import("NTLM", blob, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, imp.Delete()) }()
	_, err = e.m.NewProcess().ImportSecurityContext("NTLM", blob, 0)
	requireStatus(t, err, sspictx.StatusInvalidToken)
	require.ErrorIs(t, err, ErrAlreadyImported)
}

// Import of an unknown package is SEC_E_SECPKG_NOT_FOUND (Wine's wrapper
// answers so too).
func TestImportUnknownPackage(t *testing.T) {
	e := newEnv(t)
	_, err := e.store.Import("Digest", e.exportBlob(t), nil)
	requireStatus(t, err, sspictx.StatusSecpkgNotFound)
}

// Without RESET_NEW the import continues exactly where the exporter stood,
// including the RC4 positions of both directions after sealed traffic.
// traffic seals and unseals rounds messages each way, of 1000 bytes and
// up from the client, so both RC4 streams move on.
func (e *env) traffic(t *testing.T, rounds int) {
	t.Helper()
	for i := 0; i < rounds; i++ {
		tok, data, err := e.client.Seal(bytes.Repeat([]byte{byte(i)}, 1000+i))
		require.NoError(t, err)
		_, err = e.server.Unseal(tok, data)
		require.NoError(t, err)
		tok, data, err = e.server.Seal([]byte("reply"))
		require.NoError(t, err)
		_, err = e.client.Unseal(tok, data)
		require.NoError(t, err)
	}
}

func TestImportContinuesCipherState(t *testing.T) {
	e := newEnv(t)
	e.traffic(t, 5)
	blob, err := e.server.Export(flags.DeleteOld)
	require.NoError(t, err)
	other := sspictx.NewStore(e.m.NewProcess())
	imp, err := other.Import("NTLM", blob, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, imp.Delete()) }()
	msg := []byte("after the move")
	tok, data, err := e.client.Seal(msg)
	require.NoError(t, err)
	plain, err := imp.Unseal(tok, data)
	require.NoError(t, err)
	assert.Equal(t, msg, plain)
	tok, data, err = imp.Seal([]byte("reply from the new process"))
	require.NoError(t, err)
	plain, err = e.client.Unseal(tok, data)
	require.NoError(t, err)
	assert.Equal(t, "reply from the new process", string(plain))
	// The imported handle means nothing in the exporting process.
	_, err = e.proc.QueryContextAttributes(hOf(t, imp), backend.AttrSizes)
	requireStatus(t, err, sspictx.StatusInvalidHandle)
}

// Imported contexts expire with the exporter's lifetime, by the injected clock.
func TestExpiry(t *testing.T) {
	e := newEnv(t)
	blob := e.exportBlob(t)
	e.clock.Advance(2 * time.Hour)
	_, err := e.client.Sign([]byte("late"))
	requireStatus(t, err, sspictx.StatusContextExpired)
	_, err = e.store.Import("NTLM", blob, nil)
	requireStatus(t, err, sspictx.StatusContextExpired)
}

// Handshake failures map onto the right statuses.
func TestLogonDenied(t *testing.T) {
	e := newEnv(t)
	for _, id := range []sspictx.AuthIdentity{
		{Domain: testDomain, User: testUser, Password: "wrong"},
		{Domain: testDomain, User: "mallory", Password: testPassword},
	} {
		cc, err := e.store.AcquireCredentials("NTLM", flags.Outbound, &id)
		require.NoError(t, err)
		c := cc.NewClientContext("HOST/x", 0)
		s := e.scred.NewServerContext(0)
		neg, _, err := c.Step(nil)
		require.NoError(t, err)
		chal, _, err := s.Step(neg)
		require.NoError(t, err)
		auth, _, err := c.Step(chal)
		require.NoError(t, err)
		_, _, err = s.Step(auth)
		requireStatus(t, err, sspictx.StatusLogonDenied)
		require.NoError(t, s.Delete())
		require.NoError(t, c.Delete())
		require.NoError(t, cc.Release())
	}
}

// A process without a user has no default credentials.
func TestNoDefaultCredentials(t *testing.T) {
	m := NewMachine(MachineConfig{})
	s := sspictx.NewStore(m.NewProcess())
	_, err := s.AcquireCredentials("NTLM", flags.Outbound, nil)
	requireStatus(t, err, sspictx.StatusNoCredentials)
	m.AddUser("", "bob", "pw")
	s2 := sspictx.NewStore(m.NewProcess(AsUser(m.Domain(), "bob", "pw")))
	c, err := s2.AcquireCredentials("NTLM", flags.Outbound, nil)
	require.NoError(t, err)
	require.NoError(t, c.Release())
}

// The access token attribute belongs to the context and cannot be closed,
// while a token from QuerySecurityContextToken is the caller's.
func TestAccessTokens(t *testing.T) {
	e := newEnv(t)
	v, err := e.proc.QueryContextAttributes(hOf(t, &e.server.Context), backend.AttrAccessToken)
	require.NoError(t, err)
	th := v.(backend.TokenHandle)
	info, err := e.proc.TokenInformation(th)
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, info.User)
	assert.Contains(t, info.Groups, "S-1-5-32-545")
	requireStatus(t, e.proc.CloseToken(th), sspictx.StatusInvalidHandle)
	tok, err := e.server.AccessToken()
	require.NoError(t, err)
	require.NoError(t, tok.Close())
	_, err = e.client.AccessToken()
	requireStatus(t, err, sspictx.StatusNoImpersonation)
}

// recorder is a TB that records failures instead of failing.
type recorder struct {
	errs     []string
	cleanups []func()
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// A forgotten credential, context or token fails the leak check, which
// names where each was created.
func TestLeakCheckNamesCreator(t *testing.T) {
	rec := &recorder{}
	store, _ := NewTestStore(rec, User{Name: "alice", Password: "pw"})
	sc, err := store.AcquireCredentials("NTLM", flags.Inbound, nil) // leaked
	require.NoError(t, err)
	cc, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "pw"})
	require.NoError(t, err)
	c := cc.NewClientContext("HOST/x", 0)
	s := sc.NewServerContext(0)
	neg, _, err := c.Step(nil) // leaked: never deleted
	require.NoError(t, err)
	chal, _, err := s.Step(neg)
	require.NoError(t, err)
	auth, _, err := c.Step(chal)
	require.NoError(t, err)
	_, _, err = s.Step(auth)
	require.NoError(t, err)
	tok, err := s.AccessToken() // leaked
	require.NoError(t, err)
	_ = tok
	require.NoError(t, s.Delete())
	require.NoError(t, cc.Release())

	rec.finish()
	require.Len(t, rec.errs, 3, "leaks: %v", rec.errs)
	all := strings.Join(rec.errs, "\n")
	assert.Contains(t, all, "NTLM inbound credential")
	assert.Contains(t, all, "NTLM client context for HOST/x")
	assert.Contains(t, all, "NTLM access token")
	for _, e := range rec.errs {
		assert.Contains(t, e, "fake_test.go:", "the leak names the line that created it: %s", e)
		assert.Contains(t, e, "TestLeakCheckNamesCreator")
	}

	// And a clean test passes the check.
	rec2 := &recorder{}
	store2, _ := NewTestStore(rec2)
	c2, err := store2.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	require.NoError(t, c2.Release())
	rec2.finish()
	assert.Empty(t, rec2.errs)
}

// Process.Leaks counts what the process itself still holds; the attribute
// token a context owns is not the caller's and is not counted.
func TestProcessLeaks(t *testing.T) {
	e := newEnv(t)
	creds, ctxs, toks := e.proc.Leaks()
	assert.Equal(t, [3]int{2, 2, 0}, [3]int{creds, ctxs, toks})
	_, err := e.proc.QueryContextAttributes(hOf(t, &e.server.Context), backend.AttrAccessToken)
	require.NoError(t, err)
	tok, err := e.server.AccessToken()
	require.NoError(t, err)
	_, _, toks = e.proc.Leaks()
	assert.Equal(t, 1, toks)
	require.NoError(t, tok.Close())
	require.NoError(t, e.client.Delete())
	require.NoError(t, e.server.Delete())
	require.NoError(t, e.ccred.Release())
	require.NoError(t, e.scred.Release())
	creds, ctxs, toks = e.proc.Leaks()
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{creds, ctxs, toks}, "deleting a context frees its attribute token too")
}

// Several DATA buffers are protected as one message, in order, and a QOP
// other than zero is refused.
func TestMessageSeveralDataBuffers(t *testing.T) {
	e := newEnv(t)
	hdr, body := []byte("header:"), []byte("body of the message")
	msg := []backend.Buffer{
		{Type: backend.BufferData, Data: bytes.Clone(hdr)},
		{Type: backend.BufferToken, Data: make([]byte, 16)},
		{Type: backend.BufferData, Data: bytes.Clone(body)},
	}
	require.NoError(t, e.proc.EncryptMessage(hOf(t, &e.client.Context), 0, msg, 0))
	assert.NotEqual(t, hdr, msg[0].Data)
	_, err := e.proc.DecryptMessage(hOf(t, &e.server.Context), msg, 0)
	require.NoError(t, err)
	assert.Equal(t, hdr, msg[0].Data)
	assert.Equal(t, body, msg[2].Data)
	err = e.proc.MakeSignature(hOf(t, &e.client.Context), 1, msg, 0)
	requireStatus(t, err, sspictx.StatusQOPNotSupported)
}

func hOf(t *testing.T, c *sspictx.Context) backend.Handle {
	t.Helper()
	_, h := raw(t, c)
	return h
}

// TestUserKeyMatchesToUpper keeps the principal directory's key what
// strings.ToUpper made of it, invalid UTF-8 and special cases included.
func TestUserKeyMatchesToUpper(t *testing.T) {
	for _, s := range []string{"alice", "Ärger", "straße", "ǆ", "ı", "\xff\xfex", "𝒜bc", ""} {
		want := strings.ToUpper("Contoso"+s) + `\` + strings.ToUpper(s)
		if got := userKey("Contoso"+s, s); got != want {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	}
}
