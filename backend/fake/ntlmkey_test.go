package fake

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/ntlm"
)

// ntlmLogon runs one NTLM handshake for id against the env's server
// credential and returns the server's last error.
func ntlmLogon(t *testing.T, e *env, id sspictx.AuthIdentity) error {
	t.Helper()
	cc, err := e.store.AcquireCredentials("NTLM", flags.Outbound, &id)
	require.NoError(t, err)
	defer cc.Release()
	c := cc.NewClientContext("HOST/x", flags.ClientReqIntegrity)
	defer c.Delete()
	s := e.scred.NewServerContext(flags.ServerReqIntegrity)
	defer s.Delete()
	neg, _, err := c.Step(nil)
	require.NoError(t, err)
	chal, _, err := s.Step(neg)
	require.NoError(t, err)
	auth, _, err := c.Step(chal)
	require.NoError(t, err)
	_, _, err = s.Step(auth)
	return err
}

// The server keeps NTOWFv2 for the last spelling of a user's names.
// NTOWFv2 hashes the domain in the case the client sent it, so logons that
// alternate spellings must each get their own key, and a wrong password
// after a right one must still fail.
func TestServerResponseKeyPerSpelling(t *testing.T) {
	e := newEnv(t)
	for i, tc := range []struct {
		domain, user, password string
		ok                     bool
	}{
		{"contoso", "alice", testPassword, true},
		{"CONTOSO", "alice", testPassword, true},
		{"CONTOSO", "ALICE", testPassword, true},
		{"contoso", "alice", testPassword, true},
		{"contoso", "alice", "wrong", false},
		{"Contoso", "Alice", testPassword, true},
		{"Contoso", "Alice", "wrong", false},
	} {
		err := ntlmLogon(t, e, sspictx.AuthIdentity{Domain: tc.domain, User: tc.user, Password: tc.password})
		if tc.ok {
			assert.NoError(t, err, "logon %d as %s\\%s", i, tc.domain, tc.user)
		} else {
			requireStatus(t, err, sspictx.StatusLogonDenied)
		}
	}
}

// A client credential derives its key once and wipes it when freed; the
// process's own identity, shared by its credentials, keeps it.
func TestClientResponseKeyWiped(t *testing.T) {
	e := newEnv(t)
	e.m.AddUser(testDomain, "bob", "B0b's password")
	cc, err := e.store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: testDomain, User: "bob", Password: "B0b's password"})
	require.NoError(t, err)
	c := cc.NewClientContext("HOST/x", 0)
	_, _, err = c.Step(nil)
	require.NoError(t, err)
	require.NoError(t, c.Delete())
	id := credIdentity(t, e.proc, "bob")
	require.True(t, id.keyed)
	require.NotEqual(t, ntlm.ResponseKey{}, id.ntlmKey)
	require.NoError(t, cc.Release())
	assert.False(t, id.keyed)
	assert.Equal(t, ntlm.ResponseKey{}, id.ntlmKey)

	p := e.m.NewProcess(AsUser(testDomain, testUser, testPassword))
	st := sspictx.NewStore(p)
	own, err := st.AcquireCredentials("NTLM", flags.Outbound, nil)
	require.NoError(t, err)
	c = own.NewClientContext("HOST/x", 0)
	_, _, err = c.Step(nil)
	require.NoError(t, err)
	require.NoError(t, c.Delete())
	require.NoError(t, own.Release())
	assert.True(t, p.user.keyed, "the process identity outlives one credential")
}

// credIdentity is the explicit identity of user behind a credential of p.
func credIdentity(t *testing.T, p *Process, user string) *logon {
	t.Helper()
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, ce := range p.creds {
		if ce.identity != nil && ce.identity != p.user && ce.identity.user == user {
			return ce.identity
		}
	}
	t.Fatal("no credential with an explicit identity")
	return nil
}
