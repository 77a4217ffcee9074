package spnego

import (
	"encoding/asn1"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/capture"
)

// captures are the conversations the interop tier recorded with real
// peers (MIT GSSAPI, Samba); see testdata/interop/README.md.
var captureDir = filepath.Join("..", "..", "testdata", "interop")

func readCapture(t *testing.T, name string) *capture.Conversation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(captureDir, name))
	require.NoError(t, err)
	c, err := capture.Parse(b)
	require.NoError(t, err)
	return c
}

// Every SPNEGO token a real peer sent parses, and encodes back to the same
// bytes: the peers write DER, and the fake's encoder writes what they do.
func TestCapturedTokensRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(captureDir, "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	n := 0
	for _, f := range files {
		c := readCapture(t, filepath.Base(f))
		for i, tok := range c.Tokens {
			var out []byte
			switch {
			case IsNegTokenInit(tok.Data):
				init, err := ParseNegTokenInit(tok.Data)
				require.NoError(t, err, "%s token %d", f, i)
				out, err = init.Marshal()
				require.NoError(t, err)
			case IsNegTokenResp(tok.Data):
				resp, err := ParseNegTokenResp(tok.Data)
				require.NoError(t, err, "%s token %d", f, i)
				out, err = resp.Marshal()
				require.NoError(t, err)
			default:
				continue // raw NTLMSSP
			}
			assert.Equal(t, tok.Data, out, "%s token %d", f, i)
			n++
		}
	}
	t.Logf("%d SPNEGO tokens of real peers", n)
}

// MIT's SPNEGO initiator with a Kerberos ticket offers Kerberos first,
// with an optimistic AP-REQ, and NTLM second; MIT's acceptor, which has no
// Kerberos key, answers request-mic with NTLM and no token (RFC 4178
// section 5: the MICs are no longer optional once the acceptor picks
// another mechanism than the initiator's first).
func TestCapturedKerberosFirst(t *testing.T) {
	c := readCapture(t, "mit-kerberos-first-to-mit.txt")
	require.GreaterOrEqual(t, len(c.Tokens), 5)

	init, err := ParseNegTokenInit(c.Tokens[0].Data)
	require.NoError(t, err)
	assert.Equal(t, []asn1.ObjectIdentifier{OIDKerberos, OIDNTLMSSP}, init.MechTypes)
	require.NotEmpty(t, init.MechToken)
	// The optimistic token is a Kerberos InitialContextToken: [APPLICATION
	// 0] with the Kerberos OID, then the AP-REQ.
	var krb struct {
		Mech asn1.ObjectIdentifier
	}
	_, err = asn1.UnmarshalWithParams(init.MechToken, &krb, "application,tag:0")
	require.NoError(t, err)
	assert.Equal(t, OIDKerberos, krb.Mech)

	reply, err := ParseNegTokenResp(c.Tokens[1].Data)
	require.NoError(t, err)
	assert.Equal(t, &NegTokenResp{NegState: RequestMIC, SupportedMech: OIDNTLMSSP}, reply)
	built, err := (&NegTokenResp{NegState: RequestMIC, SupportedMech: OIDNTLMSSP}).Marshal()
	require.NoError(t, err)
	assert.Equal(t, c.Tokens[1].Data, built, "the fake's encoding of that answer is MIT's")

	// The initiator then starts NTLM in a NegTokenResp, and both sides
	// send a mechListMIC at the end.
	next, err := ParseNegTokenResp(c.Tokens[2].Data)
	require.NoError(t, err)
	assert.Equal(t, "NTLMSSP\x00\x01\x00\x00\x00", string(next.ResponseToken[:12]))
	last := len(c.Tokens) - 1
	auth, err := ParseNegTokenResp(c.Tokens[last-1].Data)
	require.NoError(t, err)
	assert.NotEmpty(t, auth.MechListMIC)
	done, err := ParseNegTokenResp(c.Tokens[last].Data)
	require.NoError(t, err)
	assert.Equal(t, AcceptCompleted, done.NegState)
	assert.NotEmpty(t, done.MechListMIC)
}
