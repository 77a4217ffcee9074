package fake

import (
	"encoding/asn1"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/spnego"
)

// negEnv is a store with Negotiate credentials for both sides.
func negEnv(t *testing.T) (*Machine, *sspictx.Store, *sspictx.Credentials, *sspictx.Credentials) {
	t.Helper()
	m := NewMachine(MachineConfig{Name: "WEB01", Domain: testDomain})
	m.AddUser(testDomain, testUser, testPassword)
	st := sspictx.NewStore(m.NewProcess())
	CheckLeaks(t, st)
	sc, err := st.AcquireCredentials("Negotiate", flags.Inbound, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sc.Release() })
	cc, err := st.AcquireCredentials("Negotiate", flags.Outbound, &sspictx.AuthIdentity{Domain: testDomain, User: testUser, Password: testPassword})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Release() })
	return m, st, cc, sc
}

func newNegPair(t *testing.T, cc, sc *sspictx.Credentials) (*sspictx.ClientContext, *sspictx.ServerContext) {
	c := cc.NewClientContext("HTTP/web01.contoso.test", flags.ClientReqIntegrity|flags.ClientReqConfidentiality)
	s := sc.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	t.Cleanup(func() { _ = c.Delete(); _ = s.Delete() })
	return c, s
}

// The SPNEGO exchange has the shape Windows uses between hosts without a
// domain: NegTokenInit, then three NegTokenResps, the client finishing last.
func TestNegotiateHandshake(t *testing.T) {
	_, _, cc, sc := negEnv(t)
	c, s := newNegPair(t, cc, sc)

	init, done, err := c.Step(nil)
	require.NoError(t, err)
	require.False(t, done)
	require.True(t, spnego.IsNegTokenInit(init))
	ti, err := spnego.ParseNegTokenInit(init)
	require.NoError(t, err)
	assert.Equal(t, []asn1.ObjectIdentifier{spnego.OIDNTLMSSP}, ti.MechTypes)
	assert.Equal(t, "NTLMSSP\x00", string(ti.MechToken[:8]))

	chal, done, err := s.Step(init)
	require.NoError(t, err)
	require.False(t, done)
	r1, err := spnego.ParseNegTokenResp(chal)
	require.NoError(t, err)
	assert.Equal(t, spnego.AcceptIncomplete, r1.NegState)
	assert.True(t, r1.SupportedMech.Equal(spnego.OIDNTLMSSP))

	auth, done, err := c.Step(chal)
	require.NoError(t, err)
	require.False(t, done, "the client waits for the server's mechListMIC")
	r2, err := spnego.ParseNegTokenResp(auth)
	require.NoError(t, err)
	assert.NotEmpty(t, r2.MechListMIC)

	final, done, err := s.Step(auth)
	require.NoError(t, err)
	require.True(t, done)
	r3, err := spnego.ParseNegTokenResp(final)
	require.NoError(t, err)
	assert.Equal(t, spnego.AcceptCompleted, r3.NegState)

	out, done, err := c.Step(final)
	require.NoError(t, err)
	require.True(t, done)
	assert.Empty(t, out)

	who, err := s.UserName()
	require.NoError(t, err)
	assert.Equal(t, `CONTOSO\alice`, who)
	info, err := s.PackageInfo()
	require.NoError(t, err)
	assert.Equal(t, "NTLM", info.Name, "a Negotiate context reports the package it selected")

	msg := []byte("after SPNEGO")
	sig, err := c.Sign(msg)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 0, 0, 0}, sig[12:], "the MICs spent sequence number 0")
	require.NoError(t, s.Verify(msg, sig))
	tok, data, err := s.Seal(msg)
	require.NoError(t, err)
	plain, err := c.Unseal(tok, data)
	require.NoError(t, err)
	assert.Equal(t, msg, plain)
}

// tamperMIC flips a bit of the mechListMIC in a NegTokenResp.
func tamperMIC(t *testing.T, tok []byte) []byte {
	t.Helper()
	r, err := spnego.ParseNegTokenResp(tok)
	require.NoError(t, err)
	r.MechListMIC[5] ^= 1
	out, err := r.Marshal()
	require.NoError(t, err)
	return out
}

// An altered mechListMIC from either side fails the handshake with
// SEC_E_MESSAGE_ALTERED: a downgrade of the mechanism list is detected.
func TestNegotiateMICTampered(t *testing.T) {
	t.Run("client", func(t *testing.T) {
		_, _, cc, sc := negEnv(t)
		c, s := newNegPair(t, cc, sc)
		init, _, err := c.Step(nil)
		require.NoError(t, err)
		chal, _, err := s.Step(init)
		require.NoError(t, err)
		auth, _, err := c.Step(chal)
		require.NoError(t, err)
		_, _, err = s.Step(tamperMIC(t, auth))
		requireStatus(t, err, sspictx.StatusMessageAltered)
		assert.False(t, s.Established())
	})
	t.Run("server", func(t *testing.T) {
		_, _, cc, sc := negEnv(t)
		c, s := newNegPair(t, cc, sc)
		init, _, err := c.Step(nil)
		require.NoError(t, err)
		chal, _, err := s.Step(init)
		require.NoError(t, err)
		auth, _, err := c.Step(chal)
		require.NoError(t, err)
		final, _, err := s.Step(auth)
		require.NoError(t, err)
		_, _, err = c.Step(tamperMIC(t, final))
		requireStatus(t, err, sspictx.StatusMessageAltered)
		assert.False(t, c.Established())
	})
}

// Tokens that are neither SPNEGO nor NTLMSSP, SPNEGO without NTLM, and a
// raw NTLMSSP token that is not a NEGOTIATE_MESSAGE are refused. (A
// Kerberos-first offer that lists NTLM too is steered to NTLM, and a raw
// NEGOTIATE_MESSAGE is NTLM: negotiate_peers_test.go.)
func TestNegotiateBadTokens(t *testing.T) {
	_, _, _, sc := negEnv(t)
	krbOnly, err := (&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos}, MechToken: []byte("krb")}).Marshal()
	require.NoError(t, err)
	rawChallenge := []byte("NTLMSSP\x00\x02\x00\x00\x00\x07\x82\x08\xa2\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	for name, tok := range map[string][]byte{"Kerberos only": krbOnly, "raw NTLM, not a NEGOTIATE": rawChallenge, "garbage": []byte("\x60\x03\x06\x01\x00")} {
		t.Run(name, func(t *testing.T) {
			s := sc.NewServerContext(0)
			_, _, err := s.Step(tok)
			requireStatus(t, err, sspictx.StatusInvalidToken)
		})
	}
}

// A Negotiate context exports and imports under its own package name; the
// same blob offered as NTLM is a blob of another package.
func TestNegotiateExportImport(t *testing.T) {
	m, _, cc, sc := negEnv(t)
	c, s := newNegPair(t, cc, sc)
	var toS, toC []byte
	var err error
	for done := false; !done; {
		toS, done, err = c.Step(toC)
		require.NoError(t, err)
		if len(toS) > 0 {
			toC, _, err = s.Step(toS)
			require.NoError(t, err)
		}
	}
	blob, err := s.Export(flags.DeleteOld)
	require.NoError(t, err)
	other := sspictx.NewStore(m.NewProcess())
	_, err = other.Import("NTLM", blob, nil)
	requireStatus(t, err, sspictx.StatusInvalidToken)
	assert.Contains(t, err.Error(), `"Negotiate"`)
	imp, err := other.Import("Negotiate", blob, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, imp.Delete()) }()
	sig, err := c.Sign([]byte("moved"))
	require.NoError(t, err)
	require.NoError(t, imp.Verify([]byte("moved"), sig))
}
