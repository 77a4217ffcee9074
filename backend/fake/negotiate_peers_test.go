package fake_test

import (
	"bytes"
	"encoding/asn1"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/capture"
	"github.com/gosspi/gosspi/internal/ntlm"
	"github.com/gosspi/gosspi/internal/spnego"
)

// The Negotiate acceptor against what real SPNEGO peers send (RFC 4178,
// MS-SPNG), with clients driven by hand from internal/ntlm and
// internal/spnego, so each token can be what a real peer sends rather
// than what the fake's own initiator does. The live interop tier
// (internal/interop) holds the same against MIT and Samba, and
// internal/capture/replay replays what they said.

const (
	peerDomain   = "CONTOSO"
	peerUser     = "alice"
	peerPassword = "Passw0rd!"
)

// negServer is a fake Negotiate acceptor on a machine that knows alice.
func negServer(t *testing.T) (*fake.Process, *sspictx.ServerContext) {
	t.Helper()
	store, proc := fake.NewTestStore(t, fake.User{Domain: peerDomain, Name: peerUser, Password: peerPassword},
		fake.WithMachineConfig(fake.MachineConfig{Name: "WEB01", Domain: peerDomain}))
	cred, err := store.AcquireCredentials("Negotiate", flags.Inbound, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cred.Release() })
	s := cred.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	t.Cleanup(func() { _ = s.Delete() })
	return proc, s
}

// spnegoClient is an initiator made of the internal NTLM client and
// session, which speaks to the fake as a real peer does.
type spnegoClient struct {
	t    *testing.T
	cl   *ntlm.Client
	sess *ntlm.Session
	list []byte // the DER MechTypeList the MICs cover
}

func newSPNEGOClient(t *testing.T, mechs []asn1.ObjectIdentifier) *spnegoClient {
	list, err := spnego.MechTypeListDER(mechs)
	require.NoError(t, err)
	return &spnegoClient{t: t, list: list, cl: ntlm.NewClient(ntlm.ClientConfig{
		User: peerUser, Domain: peerDomain, Password: peerPassword, TargetSPN: "HTTP/web01.contoso.test",
	})}
}

// authenticate answers the CHALLENGE and derives the client's session.
func (c *spnegoClient) authenticate(challenge []byte) []byte {
	auth, err := c.cl.Authenticate(challenge)
	require.NoError(c.t, err)
	key := c.cl.SessionKey()
	c.sess, err = ntlm.NewSession(key, c.cl.NegotiatedFlags(), true)
	require.NoError(c.t, err)
	return auth
}

func marshalResp(t *testing.T, r *spnego.NegTokenResp) []byte {
	t.Helper()
	b, err := r.Marshal()
	require.NoError(t, err)
	return b
}

func parseResp(t *testing.T, b []byte) *spnego.NegTokenResp {
	t.Helper()
	r, err := spnego.ParseNegTokenResp(b)
	require.NoError(t, err)
	return r
}

func readCapture(t *testing.T, name string) *capture.Conversation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "interop", name))
	require.NoError(t, err)
	c, err := capture.Parse(b)
	require.NoError(t, err)
	return c
}

// After the mechListMICs both sides restart their RC4 streams and keep
// their sequence numbers (MS-SPNG 3.2.5.1), as MIT, Samba and Heimdal do:
// the server's first message after the handshake opens with a client
// session that was reset, and has sequence number 1. RESET_NEW returns an
// exported context to that same state.
func TestNegotiateRC4Reset(t *testing.T) {
	proc, s := negServer(t)
	mechs := []asn1.ObjectIdentifier{spnego.OIDNTLMSSP}
	c := newSPNEGOClient(t, mechs)
	neg, err := c.cl.Negotiate()
	require.NoError(t, err)
	init, err := (&spnego.NegTokenInit{MechTypes: mechs, MechToken: neg}).Marshal()
	require.NoError(t, err)
	out, _, err := s.Step(init)
	require.NoError(t, err)
	auth := c.authenticate(parseResp(t, out).ResponseToken)
	out, done, err := s.Step(marshalResp(t, &spnego.NegTokenResp{ResponseToken: auth, MechListMIC: c.sess.Sign(c.list)}))
	require.NoError(t, err)
	require.True(t, done)
	require.NoError(t, c.sess.Verify(c.list, parseResp(t, out).MechListMIC))
	c.sess.ResetStreams()

	msg := []byte("first after the handshake")
	tok, data, err := s.Seal(msg)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 0, 0, 0}, tok[12:], "the MIC spent sequence number 0")
	first := append(bytes.Clone(tok), data...)
	plain, err := c.sess.Unseal(data, tok)
	require.NoError(t, err)
	assert.Equal(t, msg, plain)
	sealed, sig := c.sess.Seal([]byte("and back"))
	plain, err = s.Unseal(sig, sealed)
	require.NoError(t, err)
	assert.Equal(t, "and back", string(plain))

	// Exported with ResetNew after those messages, the context seals the
	// first message again exactly as it did right after the handshake.
	blob, err := s.Export(flags.ResetNew)
	require.NoError(t, err)
	other := sspictx.NewStore(proc.Machine().NewProcess())
	imp, err := other.Import("Negotiate", blob, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, imp.Delete()) }()
	tok, data, err = imp.Seal(msg)
	require.NoError(t, err)
	assert.Equal(t, first, append(bytes.Clone(tok), data...))
}

// withoutTimestamp drops MsvAvTimestamp from a CHALLENGE_MESSAGE, so the
// NTLM client answers without a MIC in its AUTHENTICATE_MESSAGE, as
// Samba's client does. (The server checks the NTLMv2 response against the
// target info the client echoes, not against what it sent.)
func withoutTimestamp(t *testing.T, challenge []byte) []byte {
	t.Helper()
	ch, err := ntlm.ParseChallenge(challenge)
	require.NoError(t, err)
	var info ntlm.AVPairs
	for _, p := range ch.TargetInfo {
		if p.ID != ntlm.AvTimestamp {
			info = append(info, p)
		}
	}
	ch.TargetInfo = info
	return ch.Marshal()
}

// The client's first choice was taken and its AUTHENTICATE_MESSAGE has
// no MIC: the mechListMIC is optional (RFC 4178 section 5). A client that
// sends none gets accept-completed without one, and as no MICs were
// exchanged no RC4 stream restarts and the first message has sequence
// number 0.
func TestNegotiateOptionalMIC(t *testing.T) {
	_, s := negServer(t)
	mechs := []asn1.ObjectIdentifier{spnego.OIDNTLMSSP}
	c := newSPNEGOClient(t, mechs)
	neg, err := c.cl.Negotiate()
	require.NoError(t, err)
	init, err := (&spnego.NegTokenInit{MechTypes: mechs, MechToken: neg}).Marshal()
	require.NoError(t, err)
	out, _, err := s.Step(init)
	require.NoError(t, err)
	auth := c.authenticate(withoutTimestamp(t, parseResp(t, out).ResponseToken))
	out, done, err := s.Step(marshalResp(t, &spnego.NegTokenResp{ResponseToken: auth}))
	require.NoError(t, err)
	require.True(t, done)
	assert.Equal(t, &spnego.NegTokenResp{NegState: spnego.AcceptCompleted}, parseResp(t, out))

	tok, data, err := s.Seal([]byte("no MICs before me"))
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 0}, tok[12:])
	plain, err := c.sess.Unseal(data, tok)
	require.NoError(t, err)
	assert.Equal(t, "no MICs before me", string(plain))
}

// The client's first choice was taken, but its AUTHENTICATE_MESSAGE
// carries a MIC (the fake's CHALLENGE has a timestamp, so the NTLM client
// sends one): NTLM then requires the mechListMIC too.
func TestNegotiateNTLMMICRequiresMechListMIC(t *testing.T) {
	_, s := negServer(t)
	mechs := []asn1.ObjectIdentifier{spnego.OIDNTLMSSP}
	c := newSPNEGOClient(t, mechs)
	neg, err := c.cl.Negotiate()
	require.NoError(t, err)
	init, err := (&spnego.NegTokenInit{MechTypes: mechs, MechToken: neg}).Marshal()
	require.NoError(t, err)
	out, _, err := s.Step(init)
	require.NoError(t, err)
	auth := c.authenticate(parseResp(t, out).ResponseToken)
	_, _, err = s.Step(marshalResp(t, &spnego.NegTokenResp{ResponseToken: auth}))
	assert.ErrorIs(t, err, sspictx.StatusInvalidToken)
	assert.ErrorContains(t, err, "requires")
}

// A client that offers Kerberos first, with or without an optimistic
// Kerberos token, is steered to NTLM: request-mic, NTLM as supportedMech,
// no token (byte for byte what MIT's acceptor answers). The client starts
// NTLM in its next token, both mechListMICs are required, and afterwards
// both sides restart their RC4 streams (MS-SPNG 3.2.5.1) while the
// sequence numbers go on.
func TestNegotiateKerberosFirst(t *testing.T) {
	mit := readCapture(t, "mit-kerberos-first-to-mit.txt")
	mechs := []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos, spnego.OIDNTLMSSP}
	for name, krbToken := range map[string][]byte{
		"with an optimistic token": {0x60, 0x03, 0x06, 0x01, 0x00}, // not even Kerberos: it is dropped unread
		"without one":              nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, s := negServer(t)
			c := newSPNEGOClient(t, mechs)
			init, err := (&spnego.NegTokenInit{MechTypes: mechs, MechToken: krbToken}).Marshal()
			require.NoError(t, err)
			out, done, err := s.Step(init)
			require.NoError(t, err)
			require.False(t, done)
			assert.Equal(t, mit.Tokens[1].Data, out, "the answer MIT's acceptor gives")

			neg, err := c.cl.Negotiate()
			require.NoError(t, err)
			out, done, err = s.Step(marshalResp(t, &spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, ResponseToken: neg}))
			require.NoError(t, err)
			require.False(t, done)
			r := parseResp(t, out)
			assert.Equal(t, spnego.AcceptIncomplete, r.NegState)
			assert.Nil(t, r.SupportedMech, "supportedMech is only in the first reply")
			auth := c.authenticate(r.ResponseToken)

			out, done, err = s.Step(marshalResp(t, &spnego.NegTokenResp{ResponseToken: auth, MechListMIC: c.sess.Sign(c.list)}))
			require.NoError(t, err)
			require.True(t, done)
			r = parseResp(t, out)
			assert.Equal(t, spnego.AcceptCompleted, r.NegState)
			require.NoError(t, c.sess.Verify(c.list, r.MechListMIC))
			who, err := s.UserName()
			require.NoError(t, err)
			assert.Equal(t, peerDomain+`\`+peerUser, who)

			// Both restart RC4; the server's first message has sequence
			// number 1.
			c.sess.ResetStreams()
			tok, data, err := s.Seal([]byte("first after the handshake"))
			require.NoError(t, err)
			assert.Equal(t, []byte{1, 0, 0, 0}, tok[12:])
			plain, err := c.sess.Unseal(data, tok)
			require.NoError(t, err)
			assert.Equal(t, "first after the handshake", string(plain))
			sealed, sig := c.sess.Seal([]byte("and back"))
			plain, err = s.Unseal(sig, sealed)
			require.NoError(t, err)
			assert.Equal(t, "and back", string(plain))
		})
	}
}

// After request-mic the client's mechListMIC is required: its last token
// without one is refused before NTLM sees it.
func TestNegotiateRequiredMICMissing(t *testing.T) {
	_, s := negServer(t)
	mechs := []asn1.ObjectIdentifier{spnego.OIDKerberos, spnego.OIDNTLMSSP}
	c := newSPNEGOClient(t, mechs)
	init, err := (&spnego.NegTokenInit{MechTypes: mechs}).Marshal()
	require.NoError(t, err)
	_, _, err = s.Step(init)
	require.NoError(t, err)
	neg, err := c.cl.Negotiate()
	require.NoError(t, err)
	out, _, err := s.Step(marshalResp(t, &spnego.NegTokenResp{ResponseToken: neg}))
	require.NoError(t, err)
	auth := c.authenticate(parseResp(t, out).ResponseToken)
	_, _, err = s.Step(marshalResp(t, &spnego.NegTokenResp{ResponseToken: auth}))
	assert.ErrorIs(t, err, sspictx.StatusInvalidToken)
	assert.ErrorContains(t, err, "mechListMIC")
}

// NTLM first without its token: accept-incomplete, NTLM, no token; the
// client starts NTLM next, and as its first choice was taken the
// exchange is the usual one.
func TestNegotiateFirstChoiceWithoutToken(t *testing.T) {
	_, s := negServer(t)
	mechs := []asn1.ObjectIdentifier{spnego.OIDNTLMSSP, spnego.OIDKerberos}
	c := newSPNEGOClient(t, mechs)
	init, err := (&spnego.NegTokenInit{MechTypes: mechs}).Marshal()
	require.NoError(t, err)
	out, _, err := s.Step(init)
	require.NoError(t, err)
	assert.Equal(t, &spnego.NegTokenResp{NegState: spnego.AcceptIncomplete, SupportedMech: spnego.OIDNTLMSSP}, parseResp(t, out))
	neg, err := c.cl.Negotiate()
	require.NoError(t, err)
	out, _, err = s.Step(marshalResp(t, &spnego.NegTokenResp{ResponseToken: neg}))
	require.NoError(t, err)
	auth := c.authenticate(parseResp(t, out).ResponseToken)
	out, done, err := s.Step(marshalResp(t, &spnego.NegTokenResp{ResponseToken: auth, MechListMIC: c.sess.Sign(c.list)}))
	require.NoError(t, err)
	require.True(t, done)
	require.NoError(t, c.sess.Verify(c.list, parseResp(t, out).MechListMIC))
}

// An offer without any mechanism the fake has is refused.
func TestNegotiateNothingInCommon(t *testing.T) {
	_, s := negServer(t)
	init, err := (&spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{spnego.OIDMSKerberos, spnego.OIDKerberos}, MechToken: []byte{0x60, 0}}).Marshal()
	require.NoError(t, err)
	_, _, err = s.Step(init)
	assert.ErrorIs(t, err, sspictx.StatusInvalidToken)
}

// A raw NTLMSSP client (the NTLM package, or an HTTP client sending
// "Negotiate TlRMTVNT...") gets raw NTLM from the Negotiate acceptor: no
// SPNEGO, no mechListMICs, no RC4 restart, and a context that protects
// messages, reports NTLM, and moves between processes.
func TestNegotiateRawNTLM(t *testing.T) {
	store, proc := fake.NewTestStore(t, fake.User{Domain: peerDomain, Name: peerUser, Password: peerPassword},
		fake.WithMachineConfig(fake.MachineConfig{Name: "WEB01", Domain: peerDomain}))
	sc, err := store.AcquireCredentials("Negotiate", flags.Inbound, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, sc.Release()) }()
	cc, err := store.AcquireCredentials("NTLM", flags.Outbound, &sspictx.AuthIdentity{Domain: peerDomain, User: peerUser, Password: peerPassword})
	require.NoError(t, err)
	defer func() { require.NoError(t, cc.Release()) }()
	c := cc.NewClientContext("HTTP/web01.contoso.test", flags.ClientReqIntegrity|flags.ClientReqConfidentiality)
	defer func() { _ = c.Delete() }()
	s := sc.NewServerContext(flags.ServerReqIntegrity | flags.ServerReqConfidentiality)
	defer func() { _ = s.Delete() }()

	neg, _, err := c.Step(nil)
	require.NoError(t, err)
	chal, done, err := s.Step(neg)
	require.NoError(t, err)
	require.False(t, done)
	require.True(t, ntlm.IsMessage(chal), "a raw CHALLENGE: %x", chal)
	auth, done, err := c.Step(chal)
	require.NoError(t, err)
	require.True(t, done)
	out, done, err := s.Step(auth)
	require.NoError(t, err)
	require.True(t, done)
	assert.Empty(t, out, "raw NTLM ends with the client's AUTHENTICATE")

	info, err := s.PackageInfo()
	require.NoError(t, err)
	assert.Equal(t, "NTLM", info.Name)
	sig, err := c.Sign([]byte("raw"))
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 0, 0}, sig[12:], "no MIC spent sequence number 0")
	require.NoError(t, s.Verify([]byte("raw"), sig))

	blob, err := s.Export(flags.DeleteOld)
	require.NoError(t, err)
	other := sspictx.NewStore(proc.Machine().NewProcess())
	imp, err := other.Import("Negotiate", blob, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, imp.Delete()) }()
	tok, data, err := imp.Seal([]byte("moved"))
	require.NoError(t, err)
	plain, err := c.Unseal(tok, data)
	require.NoError(t, err)
	assert.Equal(t, "moved", string(plain))
}

// The Negotiate acceptor takes the raw NEGOTIATE_MESSAGEs real clients
// sent, and answers with a raw CHALLENGE_MESSAGE.
func TestNegotiateRawNTLMCaptured(t *testing.T) {
	for _, name := range []string{"mit-ntlm-to-fake.txt", "samba-ntlm-to-fake.txt"} {
		t.Run(name, func(t *testing.T) {
			c := readCapture(t, name)
			_, s := negServer(t)
			out, done, err := s.Step(c.Tokens[0].Data)
			require.NoError(t, err)
			require.False(t, done)
			_, err = ntlm.ParseChallenge(out)
			require.NoError(t, err)
		})
	}
}
