package context_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// newFaultyStore returns a Store over a fake process the test can inject
// faults into, with user TEST\alice.
func newFaultyStore(t *testing.T) (*sspictx.Store, *fake.Process) {
	t.Helper()
	m := fake.NewMachine(fake.MachineConfig{Name: "TESTHOST", Domain: "TEST"})
	m.AddUser("TEST", "alice", "pw")
	p := m.NewProcess()
	st := sspictx.NewStore(p)
	fake.CheckLeaks(t, st)
	return st, p
}

func leakKinds(st *sspictx.Store) []string {
	var kinds []string
	for _, l := range st.Leaks() {
		kinds = append(kinds, l.Kind)
	}
	return kinds
}

// A release that fails in the backend keeps the Store's record: the
// handle is still held, a retry releases it, and until then Leaks
// reports it.
func TestFailedReleaseKeepsTheHandle(t *testing.T) {
	st, p := newFaultyStore(t)
	_, s := establishedPair(t, st)

	p.FailNth(backend.OpDeleteSecurityContext, 1, sspictx.StatusInternalError)
	require.ErrorIs(t, s.Delete(), sspictx.StatusInternalError)
	assert.Contains(t, leakKinds(st), "context", "the context the backend still holds is reported")
	_, err := s.Sizes()
	require.NoError(t, err, "the context is still usable after a failed Delete")
	require.NoError(t, s.Delete(), "a retry deletes it")
	require.ErrorIs(t, s.Delete(), sspictx.StatusInvalidHandle)

	_, s2 := establishedPair(t, st)
	tok, err := s2.AccessToken()
	require.NoError(t, err)
	p.FailNth(backend.OpCloseHandle, 1, sspictx.StatusInternalError)
	require.ErrorIs(t, tok.Close(), sspictx.StatusInternalError)
	assert.Contains(t, leakKinds(st), "token")
	require.NoError(t, tok.Close(), "a retry closes it")

	cred, err := st.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	p.FailNth(backend.OpFreeCredentialsHandle, 1, sspictx.StatusInternalError)
	require.ErrorIs(t, cred.Release(), sspictx.StatusInternalError)
	assert.Contains(t, leakKinds(st), "credential")
	require.NoError(t, cred.Release(), "a retry frees it")
	require.ErrorIs(t, cred.Release(), sspictx.StatusInvalidHandle)
}

// Zero values that no constructor made answer with errors, never panics.
func TestZeroValuesDoNotPanic(t *testing.T) {
	var cc sspictx.ClientContext
	_, _, err := cc.Step(nil)
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)
	var sc sspictx.ServerContext
	_, _, err = sc.Step([]byte("x"))
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)
	require.NoError(t, sc.Delete(), "nothing to delete")
	_, err = sc.Sign([]byte("x"))
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)

	var st sspictx.Store
	_, err = st.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)
	_, err = st.Import("NTLM", []byte("x"), nil)
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)
	_, err = st.Packages()
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)

	var cred sspictx.Credentials
	require.ErrorIs(t, cred.Release(), sspictx.StatusInvalidHandle)
	_, _, err = cred.NewClientContext("HOST/x", 0).Step(nil)
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)

	var tok sspictx.Token
	_, err = tok.Info()
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)
	require.ErrorIs(t, tok.Close(), sspictx.StatusInvalidHandle)
}

// SetChannelBindings may race with Step on another goroutine (run with
// -race): the bindings are read and written under the context's lock.
func TestSetChannelBindingsRacesStep(t *testing.T) {
	st, _ := newFaultyStore(t)
	sc, err := st.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	defer sc.Release()
	cc, err := st.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "pw"})
	require.NoError(t, err)
	defer cc.Release()
	c := cc.NewClientContext("HOST/x", 0)
	defer c.Delete()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.SetChannelBindings(make([]byte, 32))
	}()
	_, _, err = c.Step(nil)
	require.NoError(t, err)
	wg.Wait()
}

// The Store's own package-name lookup does not swallow a fault aimed at
// QuerySecurityPackageInfo: the call that made the lookup reports it.
func TestCanonicalLookupFaultSurfaces(t *testing.T) {
	st, p := newFaultyStore(t)
	p.FailNth(backend.OpQuerySecurityPackageInfo, 1, sspictx.StatusInternalError)
	_, err := st.AcquireCredentials("ntlm", flags.Inbound, nil)
	require.ErrorIs(t, err, sspictx.StatusInternalError)
	var e *sspictx.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, backend.OpQuerySecurityPackageInfo, e.Op)
	cred, err := st.AcquireCredentials("ntlm", flags.Inbound, nil)
	require.NoError(t, err, "the fault fired once")
	assert.Equal(t, "NTLM", cred.Package())
	require.NoError(t, cred.Release())
}
