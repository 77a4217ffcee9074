package interop

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/spnego"
)

// MIT krb5's GSSAPI with gss-ntlmssp, the NTLM mechanism most Linux
// software reaches through GSSAPI, and MIT's own SPNEGO over it.

const (
	peerMITNTLM   = "MIT GSSAPI + gss-ntlmssp, NTLM"
	peerMITSPNEGO = "MIT GSSAPI + gss-ntlmssp, SPNEGO"
)

// gssAcceptor starts a GSSAPI acceptor of mech that knows the test
// account.
func gssAcceptor(mech string) func(*testing.T, string) peer {
	return func(t *testing.T, _ string) peer {
		d := newPeerDir(t)
		return startGSSAcceptor(t, d.gssEnv(ntlmUsers(testPassword), ""), mech)
	}
}

// gssInitiator starts a GSSAPI initiator of mech with explicit NTLM
// credentials for the test account.
func gssInitiator(mech string) func(*testing.T, string) peer {
	return func(t *testing.T, password string) peer {
		d := newPeerDir(t)
		return startGSSInitiator(t, d.gssEnv("", ""), mech, gssTarget, `password:`+testClient, password)
	}
}

func TestMITNTLM(t *testing.T) {
	tier(t, toolGSSAPI, toolNTLMSSP)
	t.Run("fake initiates", func(t *testing.T) {
		converse(t, pairing{peer: peerMITNTLM, fakePkg: "NTLM", fakeInitiates: true, start: gssAcceptor("ntlm")})
	})
	t.Run("peer initiates", func(t *testing.T) {
		converse(t, pairing{peer: peerMITNTLM, fakePkg: "NTLM", start: gssInitiator("ntlm")})
	})
}

func TestMITSPNEGO(t *testing.T) {
	tier(t, toolGSSAPI, toolNTLMSSP)
	t.Run("fake initiates", func(t *testing.T) {
		converse(t, pairing{peer: peerMITSPNEGO, fakePkg: "Negotiate", fakeInitiates: true, start: gssAcceptor("spnego")})
	})
	t.Run("peer initiates", func(t *testing.T) {
		converse(t, pairing{peer: peerMITSPNEGO, fakePkg: "Negotiate", start: gssInitiator("spnego")})
	})
}

const peerMITKerberosFirst = "MIT GSSAPI SPNEGO, Kerberos first"

// wantKerberosFirst checks that the initiator's offer is what the row
// claims: Kerberos listed first, with an optimistic Kerberos token, and
// NTLM after it.
func wantKerberosFirst(t *testing.T, tr transcript) {
	t.Helper()
	require.NotEmpty(t, tr)
	init, err := spnego.ParseNegTokenInit(tr[0].tok)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(init.MechTypes), 2)
	first := init.MechTypes[0]
	assert.True(t, first.Equal(spnego.OIDKerberos) || first.Equal(spnego.OIDMSKerberos), "first mechanism %v", first)
	assert.Contains(t, init.MechTypes, spnego.OIDNTLMSSP)
	require.NotEmpty(t, init.MechToken, "an optimistic Kerberos token")
	assert.Equal(t, byte(0x60), init.MechToken[0], "the optimistic token is a Kerberos InitialContextToken")
}

func TestMITSPNEGOKerberosFirst(t *testing.T) {
	tier(t, toolGSSAPI, toolNTLMSSP, toolKDC)
	converse(t, pairing{peer: peerMITKerberosFirst, fakePkg: "Negotiate", checkTranscript: wantKerberosFirst, start: kerberosFirstInitiator})
}

// kerberosFirstInitiator starts MIT's SPNEGO initiator with default
// credentials, as a logged-on user has them: a Kerberos ticket, and NTLM
// from gss-ntlmssp's user file.
func kerberosFirstInitiator(t *testing.T, password string) peer {
	r := startRealm(t)
	d := newPeerDir(t)
	cc := r.ticket(t, d)
	return startGSSInitiator(t, d.gssEnv(ntlmUsers(password), r.conf, "KRB5CCNAME="+cc), "spnego", gssTarget, "default", "")
}

const peerMITRawNTLM = "MIT GSSAPI + gss-ntlmssp, raw NTLM to Negotiate"

// wantRawNTLM checks that the handshake was raw NTLMSSP both ways, as
// IIS, MIT and Samba answer a raw token given to their SPNEGO acceptor.
func wantRawNTLM(t *testing.T, tr transcript) {
	t.Helper()
	for i, w := range tr {
		assert.True(t, bytes.HasPrefix(w.tok, []byte("NTLMSSP\x00")), "token %d is not raw NTLMSSP: %x", i, w.tok)
	}
}

// An NTLM initiator (not SPNEGO) against the fake's Negotiate acceptor:
// HTTP clients send "Negotiate TlRMTVNT..." routinely.
func TestMITRawNTLMToNegotiate(t *testing.T) {
	tier(t, toolGSSAPI, toolNTLMSSP)
	converse(t, pairing{peer: peerMITRawNTLM, fakePkg: "Negotiate", start: gssInitiator("ntlm"), checkTranscript: wantRawNTLM})
}
