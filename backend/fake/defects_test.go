package fake

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// pairOn runs an NTLM handshake on a new process of m and returns the
// store, its process and the contexts, deleted at cleanup.
func pairOn(t testing.TB, m *Machine) (*sspictx.Store, *Process, *sspictx.ClientContext, *sspictx.ServerContext) {
	t.Helper()
	p := m.NewProcess()
	st := sspictx.NewStore(p)
	sc, err := st.AcquireCredentials("NTLM", flags.Inbound, nil)
	require.NoError(t, err)
	cc, err := st.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "pw"})
	require.NoError(t, err)
	c, s := cc.NewClientContext("HOST/x", flags.ClientReqIntegrity), sc.NewServerContext(flags.ServerReqIntegrity)
	require.NoError(t, Handshake(c, s))
	t.Cleanup(func() { _ = c.Delete(); _ = s.Delete(); _ = sc.Release(); _ = cc.Release() })
	return st, p, c, s
}

func newDefectMachine(clock func() time.Time) *Machine {
	m := NewMachine(MachineConfig{Name: "WEB01", Domain: "CONTOSO", Clock: clock, ContextLifetime: time.Hour})
	m.AddUser("CONTOSO", "alice", "pw")
	m.AddUser("CONTOSO", "bob", "pw")
	return m
}

// A token handle value issued to one process names nothing in another,
// even where the other process holds tokens of its own.
func TestTokenHandlesBelongToTheirProcess(t *testing.T) {
	m := newDefectMachine(nil)
	_, pa, _, sa := pairOn(t, m)
	_, pb, _, sb := pairOn(t, m)
	ta, err := sa.AccessToken()
	require.NoError(t, err)
	defer ta.Close()
	tb, err := sb.AccessToken()
	require.NoError(t, err)
	defer tb.Close()
	var ha backend.TokenHandle
	require.NoError(t, ta.Raw(func(h backend.TokenHandle) error { ha = h; return nil }))
	_, err = pb.TokenInformation(ha)
	require.ErrorIs(t, err, backend.StatusInvalidHandle, "process B must not resolve A's token handle")
	require.ErrorIs(t, pb.CloseToken(ha), backend.StatusInvalidHandle)
	info, err := pa.TokenInformation(ha)
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, info.User)
}

// An expired context cannot be exported (it would be lost with DeleteOld
// and its token handed out), and its names, keys and token are no longer
// given out; its lifespan still is, to say when it ended.
func TestExpiredContextRefusesExportAndAttributes(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	m := newDefectMachine(clock.Now)
	_, _, _, s := pairOn(t, m)
	clock.Advance(2 * time.Hour)
	for _, f := range []flags.Export{0, flags.DeleteOld} {
		_, err := s.Export(f)
		require.ErrorIs(t, err, backend.StatusContextExpired)
		_, tok, err := s.ExportWithToken(f)
		require.ErrorIs(t, err, backend.StatusContextExpired)
		require.Nil(t, tok)
	}
	_, err := s.UserName()
	require.ErrorIs(t, err, backend.StatusContextExpired)
	_, err = s.SessionKey()
	require.ErrorIs(t, err, backend.StatusContextExpired)
	life, err := s.Lifespan()
	require.NoError(t, err, "the lifespan says when it expired")
	assert.True(t, life.Expiry.Before(clock.Now()))
	_, err = s.Sizes()
	require.NoError(t, err)
	require.NoError(t, s.Delete(), "still deletable: DeleteOld did not take it")
}

// Nil requests are refused, never a panic.
func TestNilRequests(t *testing.T) {
	p := newDefectMachine(nil).NewProcess()
	_, err := p.InitializeSecurityContext(nil)
	require.ErrorIs(t, err, backend.StatusInvalidParameter)
	_, err = p.AcceptSecurityContext(nil)
	require.ErrorIs(t, err, backend.StatusInvalidParameter)
}

// The access-token attribute is created under the context's lock while
// CloseToken and Leaks run under the process's: run with -race.
func TestAttrTokenRacesCloseAndLeaks(t *testing.T) {
	m := newDefectMachine(nil)
	_, p, _, s := pairOn(t, m)
	_, h := raw(t, &s.Context)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			_, _, _ = p.Leaks()
			_ = p.CloseToken(backend.TokenHandle(12345))
		}
	}()
	go func() {
		defer wg.Done()
		v, err := p.QueryContextAttributes(h, backend.AttrAccessToken)
		if assert.NoError(t, err) {
			assert.ErrorIs(t, p.CloseToken(v.(backend.TokenHandle)), backend.StatusInvalidHandle, "the context owns it")
		}
	}()
	wg.Wait()
}

// BenchmarkCloseTokenManyContexts closes a token in a process that holds
// many contexts: closing must not depend on how many there are.
func BenchmarkCloseTokenManyContexts(b *testing.B) {
	m := newDefectMachine(nil)
	_, p, _, s := pairOn(b, m)
	_, h := raw(b, &s.Context)
	for i := 0; i < 200_000; i++ {
		p.addCtx(&ctxEntry{pkg: ntlmPkg, runs: ntlmPkg})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := p.QuerySecurityContextToken(h)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.CloseToken(t); err != nil {
			b.Fatal(err)
		}
	}
}
