package context_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

func establishedPair(t *testing.T, store *sspictx.Store) (*sspictx.ClientContext, *sspictx.ServerContext) {
	t.Helper()
	sc, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sc.Release() })
	cc, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "pw"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Release() })
	c := cc.NewClientContext("HOST/x", flags.ClientReqIntegrity)
	s := sc.NewServerContext(flags.ServerReqIntegrity)
	var toS, toC []byte
	for done := false; !done; {
		toS, done, err = c.Step(toC)
		require.NoError(t, err)
		if len(toS) > 0 {
			toC, _, err = s.Step(toS)
			require.NoError(t, err)
		}
	}
	t.Cleanup(func() { _ = c.Delete(); _ = s.Delete() })
	return c, s
}

// Impersonate reverts even when fn fails or panics, and passes fn's error on.
func TestImpersonate(t *testing.T) {
	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	c, s := establishedPair(t, store)
	boom := errors.New("boom")
	require.ErrorIs(t, s.Impersonate(func() error { return boom }), boom)
	require.NoError(t, s.Impersonate(func() error { return nil }))
	assert.Panics(t, func() { _ = s.Impersonate(func() error { panic("in fn") }) })
	require.NoError(t, s.Impersonate(func() error { return nil }), "the context is usable after a panic")
	err := c.Impersonate(func() error { return nil })
	require.ErrorIs(t, err, sspictx.StatusNoImpersonation)
}

// A handshake step on a context whose credentials were released fails
// cleanly, and stepping a failed context is SEC_E_INVALID_HANDLE.
func TestStepAfterFailure(t *testing.T) {
	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	sc, err := store.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	s := sc.NewServerContext(0)
	_, _, err = s.Step([]byte("garbage"))
	require.ErrorIs(t, err, sspictx.StatusInvalidToken)
	_, _, err = s.Step([]byte("again"))
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)
	require.NoError(t, s.Delete(), "a failed context needs no Delete, and Delete is harmless")
	require.NoError(t, sc.Release())
	s2 := sc.NewServerContext(0)
	_, _, err = s2.Step([]byte("x"))
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle, "released credentials")
}
