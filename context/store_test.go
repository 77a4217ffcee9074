package context_test

import (
	"errors"
	"strings"
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
	require.NoError(t, fake.Handshake(c, s))
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

// A package name is reported as the backend spells it, whatever the
// caller typed: by credentials, contexts (imported ones too), leak
// reports and errors.
func TestCanonicalPackageName(t *testing.T) {
	store, proc := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	sc, err := store.AcquireCredentials("ntlm", flags.Inbound, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, sc.Release()) }()
	cc, err := store.AcquireCredentials("nTlM", flags.Outbound, &sspictx.AuthIdentity{Domain: "TEST", User: "alice", Password: "pw"})
	require.NoError(t, err)
	defer func() { require.NoError(t, cc.Release()) }()
	assert.Equal(t, "NTLM", sc.Package())
	assert.Equal(t, "NTLM", cc.Package())

	c := cc.NewClientContext("HOST/x", flags.ClientReqIntegrity)
	defer func() { require.NoError(t, c.Delete()) }()
	s := sc.NewServerContext(flags.ServerReqIntegrity)
	require.NoError(t, fake.Handshake(c, s))
	assert.Equal(t, "NTLM", c.Package())
	assert.Equal(t, "NTLM", s.Package())

	leaks := store.Leaks()
	require.Len(t, leaks, 4)
	wantWhat := []string{
		"NTLM inbound credential for current user",
		`NTLM outbound credential for TEST\alice`,
		"NTLM client context for HOST/x",
		"NTLM server context",
	}
	for i, l := range leaks {
		assert.Equal(t, wantWhat[i], l.What)
		assert.False(t, l.When.IsZero(), "the test store records when")
	}
	leakErr := store.CheckLeaks()
	require.Error(t, leakErr)
	assert.NotContains(t, leakErr.Error(), "ntlm", "leak report: %v", leakErr)
	assert.Equal(t, 4, strings.Count(leakErr.Error(), "NTLM "), "leak report: %v", leakErr)

	msg := []byte("hand me over")
	sig, err := c.Sign(msg)
	require.NoError(t, err)
	blob, err := s.Export(flags.DeleteOld)
	require.NoError(t, err)
	worker := sspictx.NewStore(proc.Machine().NewProcess())
	fake.CheckLeaks(t, worker)
	imported, err := worker.Import("ntlm", blob, nil)
	require.NoError(t, err)
	assert.Equal(t, "NTLM", imported.Package())
	require.NoError(t, imported.Verify(msg, sig))
	require.Len(t, worker.Leaks(), 1)
	assert.Equal(t, "NTLM imported context", worker.Leaks()[0].What)
	require.NoError(t, imported.Delete())

	// Errors name the canonical package too.
	_, err = s.Sizes()
	var serr *sspictx.Error
	require.ErrorAs(t, err, &serr)
	assert.Equal(t, "NTLM", serr.Package)

	neg, err := store.AcquireCredentials("negotiate", flags.Inbound, nil)
	require.NoError(t, err)
	assert.Equal(t, "Negotiate", neg.Package())
	require.NoError(t, neg.Release())

	// A name no package has is passed through, and the call fails with it.
	_, err = store.AcquireCredentials("nosuch", flags.Inbound, nil)
	require.ErrorIs(t, err, sspictx.StatusSecpkgNotFound)
	require.ErrorAs(t, err, &serr)
	assert.Equal(t, "nosuch", serr.Package)
}

// SealInPlace and UnsealInPlace interoperate with Seal and Unseal: the
// in-place forms change the caller's bytes, the copying ones never do.
func TestSealInPlace(t *testing.T) {
	store, _ := fake.NewTestStore(t, fake.User{Name: "alice", Password: "pw"})
	c, s := establishedPair(t, store)
	msg := []byte("sealed without a copy")

	buf := append([]byte(nil), msg...)
	tok, err := c.SealInPlace(buf)
	require.NoError(t, err)
	assert.NotEqual(t, msg, buf, "encrypted in place")
	plain, err := s.Unseal(tok, buf)
	require.NoError(t, err)
	assert.Equal(t, msg, plain)

	tok, data, err := c.Seal(msg)
	require.NoError(t, err)
	plain, err = s.UnsealInPlace(tok, data)
	require.NoError(t, err)
	assert.Equal(t, msg, plain)
	assert.Equal(t, msg, data, "decrypted in place")
	assert.Same(t, &data[0], &plain[0])

	buf = append([]byte(nil), msg...)
	tok, err = c.SealInPlace(buf)
	require.NoError(t, err)
	buf[0] ^= 1
	_, err = s.UnsealInPlace(tok, buf)
	require.ErrorIs(t, err, sspictx.StatusMessageAltered)

	require.NoError(t, c.Delete())
	_, err = c.SealInPlace(buf)
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)
	_, err = c.UnsealInPlace(tok, buf)
	require.ErrorIs(t, err, sspictx.StatusInvalidHandle)
}

// Without RecordStacks a leak says what it is, but not where or when it
// was made.
func TestLeakWithoutStacks(t *testing.T) {
	m := fake.NewMachine(fake.MachineConfig{Name: "HOST", Domain: "TEST"})
	store := sspictx.NewStore(m.NewProcess(fake.AsUser("TEST", "alice", "pw")))
	c, err := store.AcquireCredentials("NTLM", flags.Outbound, nil)
	require.NoError(t, err)
	leaks := store.Leaks()
	require.Len(t, leaks, 1)
	assert.Equal(t, "NTLM outbound credential for current user", leaks[0].What)
	assert.Empty(t, leaks[0].Created)
	assert.True(t, leaks[0].When.IsZero())
	require.NoError(t, c.Release())
	assert.Empty(t, store.Leaks())
}
