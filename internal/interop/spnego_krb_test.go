package interop

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/gss"
	"github.com/gosspi/gosspi/internal/spnego"
)

// SPNEGO over Kerberos with MIT, both ways: the raw Kerberos rows'
// setups (krb_test.go) with the fake's Negotiate and MIT's spnego
// mechanism asking for mutual authentication, as a domain member's
// SPNEGO runs. Both MIT peers also have gss-ntlmssp and the test
// account's NTLM password, so SPNEGO could settle on NTLM; the rows hold
// only if Kerberos ran, on the wire and on both sides.

const (
	peerMITSPNEGOKerberosFakeKDC = "MIT GSSAPI SPNEGO, Kerberos (fake domain's KDC)"
	peerMITSPNEGOKerberosMITKDC  = "MIT GSSAPI SPNEGO, Kerberos (MIT KDC)"
)

// wantSPNEGOKerberos checks that the handshake was Kerberos in one round
// trip: a NegTokenInit listing a Kerberos OID first with an AP-REQ as its
// optimistic token, answered by accept-completed for that OID with the
// AP-REP.
func wantSPNEGOKerberos(t *testing.T, tr transcript) {
	t.Helper()
	require.Len(t, tr, 2, "the handshake: a NegTokenInit and a NegTokenResp")
	require.True(t, tr[0].fromInitiator)
	init, err := spnego.ParseNegTokenInit(tr[0].tok)
	require.NoError(t, err)
	require.NotEmpty(t, init.MechTypes)
	first := init.MechTypes[0]
	assert.True(t, first.Equal(spnego.OIDKerberos) || first.Equal(spnego.OIDMSKerberos), "the first mechanism offered is %v, want Kerberos", first)
	assert.Contains(t, init.MechTypes, spnego.OIDNTLMSSP, "NTLM offered after Kerberos: the choice was real")
	id, _, err := gss.UnframeToken(init.MechToken)
	if assert.NoError(t, err, "the optimistic token") {
		assert.Equal(t, gss.TokAPReq, id, "the optimistic token")
	}

	require.False(t, tr[1].fromInitiator)
	resp, err := spnego.ParseNegTokenResp(tr[1].tok)
	require.NoError(t, err)
	assert.Equal(t, spnego.AcceptCompleted, resp.NegState)
	assert.True(t, resp.SupportedMech.Equal(first), "the acceptor chose %v, want the first offered %v", resp.SupportedMech, first)
	id, _, err = gss.UnframeToken(resp.ResponseToken)
	if assert.NoError(t, err, "the acceptor's token") {
		assert.Equal(t, gss.TokAPRep, id, "the acceptor's token")
	}
}

func TestMITSPNEGOKerberos(t *testing.T) {
	tier(t, toolGSSAPI, toolNTLMSSP, toolKDC)
	row := krbRow{
		fakePkg: "Negotiate", mech: "spnego", peerArgs: []string{"mutual"}, ntlm: true,
		checkTranscript: wantSPNEGOKerberos,
		fakeMech:        "Kerberos", peerMech: spnego.OIDKerberos.String(),
	}
	t.Run("peer initiates, fake KDC", func(t *testing.T) {
		row.peer = peerMITSPNEGOKerberosFakeKDC
		row.peerInitiatesFakeKDC(t)
	})
	t.Run("fake initiates, MIT KDC", func(t *testing.T) {
		row.peer = peerMITSPNEGOKerberosMITKDC
		row.fakeInitiatesMITKDC(t)
	})
}
