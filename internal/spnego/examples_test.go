package spnego

import (
	"encoding/asn1"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Real-world tokens, captured from SMB sessions by other projects and quoted
// here as test data (no code was taken from them):
//
//   - responder3*: skelsec/Responder3, responder3/protocols/GSSAPI.py
//     (commit 723d43213499bde6dc0d7863e9a46b74dddccedf), "NTLM GSSAPI over
//     SMB authentication example" and "Kerberos5 GSSAPI over SMB
//     authentication example": a Windows client's NTLM handshake, and a
//     Windows server's NegTokenInit2 and Kerberos accept.
//   - pikeInit2: emc-isilon/pike, README.md (commit
//     af3f0e2ef1c7fb390333111a584b7232a3a43fba), the security buffer of an
//     SMB2 NEGOTIATE response.
//
// No MS-SPNG section 4 example with hex was found; MS-SPNG's examples are
// protocol sequences without token bytes.
const (
	// Client → server: NegTokenInit offering NTLM with an optimistic
	// NTLM NEGOTIATE_MESSAGE.
	responder3InitNTLM = "604806062b0601050502a03e303ca00e300c060a2b06010401823702020a" +
		"a22a04284e544c4d5353500001000000078208a2000000000000000000000000" +
		"000000000501280a0000000f"
	// Server → client: accept-incomplete, NTLM, CHALLENGE_MESSAGE.
	responder3RespChallenge = "a181a63081a3a0030a0101a10c060a2b06010401823702020a" +
		"a2818d04818a4e544c4d53535000020000000a000a003800000005828aa22571" +
		"47965534292500000000000000004800480042000000060072170000000f4900" +
		"410053003000310002000a004900410053003000310001000a00490041005300" +
		"3000310004000a004900410053003000310003000a0049004100530030003100" +
		"07000800607eb34ac5c0cd0100000000"
	// Client → server: only the AUTHENTICATE_MESSAGE, negState absent.
	responder3RespAuth = "a181bf3081bca281b90481b64e544c4d53535000030000001800180086" +
		"000000180018009e00000012001200480000001a001a005a0000001200120074" +
		"00000000000000b6000000058288a20501280a0000000f500041004e0045004c" +
		"005000430030003200410064006d0069006e006900730074007200610074006f" +
		"007200500041004e0045004c0050004300300032008a7c1617ec88d454000000" +
		"00000000000000000000000000a836c8ffec8ef97c96c997908dec9ad665c93b" +
		"3a7c188cf6"
	// Server → client: accept-completed and nothing else.
	responder3RespDone = "a1073005a0030a0100"
	// Server's NegTokenInit2 (SMB NEGOTIATE response): MS Kerberos,
	// Kerberos, NTLM, and negHints.
	responder3Init2 = "605e06062b0601050502a0543052a024302206092a864882f71201020206" +
		"092a864886f712010202060a2b06010401823702020aa32a3028a0261b246e6f" +
		"745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f" +
		"7265"
	// Server → client: accept-completed, MS Kerberos, Kerberos AP-REP.
	responder3RespKerberos = "a181b53081b2a0030a0100a10b06092a864882f712010202a2819d04" +
		"819a60819706092a864886f71201020202006f8187308184a003020105a10302" +
		"010fa2783076a003020112a26f046d1c984dccd970dac7b140ff6901ced969cb" +
		"2979cd16aee5ded0c930c11f57fd1543dcdec2defb7f5f565c619d336ab86d4b" +
		"d4a89c628dd871e8a9c9b2c31836bdd7565297bfd39ed11548d79b22db3c4ceb" +
		"f597df677e18fcaad58680b1258c8cf67a3d10a0c32d44344dedcfe6"
	// SMB2 server's NegTokenInit2: Kerberos, NTLM, and negHints.
	pikeInit2 = "605306062b0601050502a0493047a019301706092a864886f712010202" +
		"060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f" +
		"696e5f5246433431373840706c656173655f69676e6f7265"
)

// ntlmMessageType returns the MessageType of an NTLM message after checking
// its signature, to show the mechanism token came through intact.
func ntlmMessageType(t *testing.T, msg []byte) uint32 {
	t.Helper()
	require.GreaterOrEqual(t, len(msg), 12)
	require.Equal(t, "NTLMSSP\x00", string(msg[:8]))
	return uint32(msg[8]) | uint32(msg[9])<<8 | uint32(msg[10])<<16 | uint32(msg[11])<<24
}

func TestRealWorldNegTokenInitNTLM(t *testing.T) {
	b := mustHex(t, responder3InitNTLM)
	require.True(t, IsNegTokenInit(b))
	tok, err := ParseNegTokenInit(b)
	require.NoError(t, err)
	assert.Equal(t, []asn1.ObjectIdentifier{OIDNTLMSSP}, tok.MechTypes)
	assert.Nil(t, tok.ReqFlags)
	assert.Nil(t, tok.MechListMIC)
	require.Len(t, tok.MechToken, 40)
	assert.Equal(t, uint32(1), ntlmMessageType(t, tok.MechToken), "NEGOTIATE_MESSAGE")

	// Windows encodes DER, so re-encoding must reproduce the capture.
	out, err := tok.Marshal()
	require.NoError(t, err)
	assert.Equal(t, b, out)

	// The MIC input is the list exactly as it sits in the token.
	list, err := MechTypeListDER(tok.MechTypes)
	require.NoError(t, err)
	assert.Equal(t, mustHex(t, "300c060a2b06010401823702020a"), list)
	assert.Equal(t, list, b[16:16+len(list)])
}

func TestRealWorldNegTokenInit2(t *testing.T) {
	tests := []struct {
		name  string
		hex   string
		mechs []asn1.ObjectIdentifier
	}{
		{"responder3", responder3Init2, []asn1.ObjectIdentifier{OIDMSKerberos, OIDKerberos, OIDNTLMSSP}},
		{"pike", pikeInit2, []asn1.ObjectIdentifier{OIDKerberos, OIDNTLMSSP}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustHex(t, tc.hex)
			tok, err := ParseNegTokenInit(b)
			require.NoError(t, err)
			assert.Equal(t, &NegTokenInit{MechTypes: tc.mechs}, tok, "negHints are dropped")

			list, err := MechTypeListDER(tok.MechTypes)
			require.NoError(t, err)
			assert.Equal(t, list, b[16:16+len(list)])

			// Re-encoding gives the plain RFC 4178 form, which must
			// parse to the same token.
			out, err := tok.Marshal()
			require.NoError(t, err)
			assert.Less(t, len(out), len(b))
			again, err := ParseNegTokenInit(out)
			require.NoError(t, err)
			assert.Equal(t, tok, again)
		})
	}
}

func TestRealWorldNegTokenResp(t *testing.T) {
	tests := []struct {
		name      string
		hex       string
		state     NegState
		mech      asn1.ObjectIdentifier
		tokenLen  int
		ntlmType  uint32 // 0: not an NTLM token
		firstByte byte   // of ResponseToken, when not NTLM
	}{
		{"challenge", responder3RespChallenge, AcceptIncomplete, OIDNTLMSSP, 138, 2, 0},
		{"authenticate", responder3RespAuth, NegStateAbsent, nil, 182, 3, 0},
		{"completed", responder3RespDone, AcceptCompleted, nil, -1, 0, 0},
		// The Kerberos AP-REP is itself an InitialContextToken (0x60).
		{"kerberos", responder3RespKerberos, AcceptCompleted, OIDMSKerberos, 154, 0, 0x60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustHex(t, tc.hex)
			require.True(t, IsNegTokenResp(b))
			tok, err := ParseNegTokenResp(b)
			require.NoError(t, err)
			assert.Equal(t, tc.state, tok.NegState)
			assert.Equal(t, tc.mech, tok.SupportedMech)
			assert.Nil(t, tok.MechListMIC)
			if tc.tokenLen < 0 {
				assert.Nil(t, tok.ResponseToken)
			} else {
				require.Len(t, tok.ResponseToken, tc.tokenLen)
				if tc.ntlmType != 0 {
					assert.Equal(t, tc.ntlmType, ntlmMessageType(t, tok.ResponseToken))
				} else {
					assert.Equal(t, tc.firstByte, tok.ResponseToken[0])
				}
			}
			out, err := tok.Marshal()
			require.NoError(t, err)
			assert.Equal(t, b, out)
		})
	}
}
