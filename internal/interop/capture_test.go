package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend/fake"
	"github.com/gosspi/gosspi/internal/capture"
	"github.com/gosspi/gosspi/internal/capture/replay"
	"github.com/gosspi/gosspi/internal/spnego"
)

// Captures: conversations with real peers, written to the repository's
// testdata/interop so that the fake's own tests replay them without the
// peers (internal/capture reads them, internal/capture/replay plays the
// fake's side again).
//
// GOSSPI_INTEROP_CAPTURE=1 writes the captures that are not there yet,
// GOSSPI_INTEROP_CAPTURE=rewrite all of them. Without it the tier still
// makes every capture and replays it, so the captures stay reproducible.
const envCapture = "GOSSPI_INTEROP_CAPTURE"

var captureDir = filepath.Join("..", "..", "testdata", "interop")

// captureTime is the clock of the capture's fake machine. It is fixed so
// the fake's CHALLENGE (whose timestamp the client's NTLMv2 response
// covers) comes out the same on replay.
var captureTime = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const captureMachine = "TESTHOST"

// captureSpec is one capture: a peer in one direction, like a pairing.
type captureSpec struct {
	name          string // file name, without .txt
	about         string // what the capture shows
	peer          string // matrix row, for its known issues
	fakePkg       string
	fakeInitiates bool
	start         func(t *testing.T, password string) peer
	tools         []*tool
	// versions are the Debian packages whose versions the capture names.
	versions []string
}

// pkgVersions names installed Debian packages with their versions.
func pkgVersions(pkgs ...string) string {
	out, err := exec.Command("dpkg-query", append([]string{"-W", "-f=${Package} ${Version}, "}, pkgs...)...).Output()
	if err != nil {
		return strings.Join(pkgs, ", ")
	}
	return strings.TrimSuffix(string(out), ", ")
}

var (
	mitPkgs   = []string{"libgssapi-krb5-2", "gss-ntlmssp", "python3-gssapi"}
	sambaPkgs = []string{"winbind"}
)

func TestCapture(t *testing.T) {
	tier(t)
	specs := []captureSpec{
		{name: "mit-ntlm-to-fake", about: "MIT GSSAPI's NTLM initiator (gss-ntlmssp) against the fake's NTLM acceptor",
			peer: peerMITNTLM, fakePkg: "NTLM", start: gssInitiator("ntlm"), tools: []*tool{toolGSSAPI, toolNTLMSSP}, versions: mitPkgs},
		{name: "fake-to-mit-ntlm", about: "the fake's NTLM initiator against MIT GSSAPI's NTLM acceptor (gss-ntlmssp)",
			peer: peerMITNTLM, fakePkg: "NTLM", fakeInitiates: true, start: gssAcceptor("ntlm"), tools: []*tool{toolGSSAPI, toolNTLMSSP}, versions: mitPkgs},
		{name: "mit-spnego-to-fake", about: "MIT GSSAPI's SPNEGO initiator, NTLM only, against the fake's Negotiate acceptor",
			peer: peerMITSPNEGO, fakePkg: "Negotiate", start: gssInitiator("spnego"), tools: []*tool{toolGSSAPI, toolNTLMSSP}, versions: mitPkgs},
		{name: "fake-to-mit-spnego", about: "the fake's Negotiate initiator against MIT GSSAPI's SPNEGO acceptor (gss-ntlmssp for NTLM)",
			peer: peerMITSPNEGO, fakePkg: "Negotiate", fakeInitiates: true, start: gssAcceptor("spnego"), tools: []*tool{toolGSSAPI, toolNTLMSSP}, versions: mitPkgs},
		{name: "mit-kerberos-first-to-fake", about: "MIT GSSAPI's SPNEGO initiator holding a Kerberos ticket (Kerberos first, with an optimistic AP-REQ for HTTP/localhost@" + realmName + " of a throwaway realm), then NTLM, against the fake's Negotiate acceptor",
			peer: peerMITKerberosFirst, fakePkg: "Negotiate", start: kerberosFirstInitiator, tools: []*tool{toolGSSAPI, toolNTLMSSP, toolKDC}, versions: append([]string{"krb5-kdc"}, mitPkgs...)},
		{name: "mit-ntlm-to-fake-negotiate", about: "MIT GSSAPI's NTLM initiator (raw NTLMSSP, no SPNEGO) against the fake's Negotiate acceptor",
			peer: peerMITRawNTLM, fakePkg: "Negotiate", start: gssInitiator("ntlm"), tools: []*tool{toolGSSAPI, toolNTLMSSP}, versions: mitPkgs},
		{name: "samba-ntlm-to-fake", about: "Samba's NTLM client (ntlm_auth --helper-protocol=ntlmssp-client-1) against the fake's NTLM acceptor",
			peer: peerSambaNTLM, fakePkg: "NTLM", start: sambaClient("ntlmssp-client-1"), tools: []*tool{toolNTLMAuth}, versions: sambaPkgs},
		{name: "samba-spnego-to-fake", about: "Samba's SPNEGO client (ntlm_auth --helper-protocol=gss-spnego-client), which sends no mechListMIC, against the fake's Negotiate acceptor",
			peer: peerSambaSPNEGO, fakePkg: "Negotiate", start: sambaClient("gss-spnego-client"), tools: []*tool{toolNTLMAuth}, versions: sambaPkgs},
		{name: "samba-ntlm-to-fake-negotiate", about: "Samba's NTLM client (ntlm_auth --helper-protocol=ntlmssp-client-1, raw NTLMSSP) against the fake's Negotiate acceptor",
			peer: peerSambaRawNTLM, fakePkg: "Negotiate", start: sambaClient("ntlmssp-client-1"), tools: []*tool{toolNTLMAuth}, versions: sambaPkgs},
	}
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			tier(t, s.tools...)
			conv, err := s.capture(t)
			issue := captureIssue(s)
			switch {
			case err != nil && issue != "":
				t.Logf("known issue %s: %v", issue, err)
				return
			case err != nil:
				t.Fatal(err)
			case issue != "":
				t.Fatalf("the capture works, but knownIssues says issue %s breaks %s: remove it from the list", issue, s.peer)
			}
			require.NoError(t, replay.Run(conv), "the capture does not replay")
			writeCapture(t, s.name, conv)
		})
	}
}

// captureIssue is a known issue that breaks the capture's conversation.
func captureIssue(s captureSpec) string {
	dir := peerInitiates
	if s.fakeInitiates {
		dir = fakeInitiates
	}
	for _, op := range []string{opHandshake, opSeal, opSign} {
		if i := knownIssue(s.peer, dir, op); i != "" {
			return i
		}
	}
	return ""
}

// capture runs the conversation against a fake machine with a fixed clock
// and counter randomness, exchanging one sealed and one signed message
// each way after the handshake.
func (s captureSpec) capture(t *testing.T) (*capture.Conversation, error) {
	cfg := fake.MachineConfig{Name: captureMachine, Domain: testDomain, Clock: func() time.Time { return captureTime }, Rand: &capture.Counter{}}
	fe := newFakeEnd(t, s.fakePkg, s.fakeInitiates, testPassword, fake.WithMachineConfig(cfg))
	pe := s.start(t, testPassword)
	var tr transcript
	var err error
	if s.fakeInitiates {
		tr, err = handshake(fe.step, pe.step, "fake initiator", s.peer+" acceptor")
	} else {
		tr, err = handshake(pe.step, fe.step, s.peer+" initiator", "fake acceptor")
	}
	if err != nil {
		return nil, err
	}
	side := "acceptor"
	if s.fakeInitiates {
		side = "initiator"
	}
	conv := &capture.Conversation{
		About: []string{
			s.about + ".",
			"Captured from " + pkgVersions(s.versions...) + " on Debian " + debianVersion() + ",",
			"by `GOSSPI_INTEROP_CAPTURE=1 go test -run TestCapture ./internal/interop/` (bash .ci/interop-tier.sh installs the peers).",
			"The fake's machine has a fixed clock and counter randomness, so internal/capture/replay makes the fake say again what it said here.",
		},
		Machine: &capture.Machine{Name: captureMachine, Domain: testDomain, Time: captureTime},
		Account: &capture.Account{Domain: testDomain, User: testUser, Password: testPassword},
		Fake:    side, Package: s.fakePkg,
	}
	if s.fakeInitiates {
		conv.Target = testTarget
	}
	for _, w := range tr {
		conv.Tokens = append(conv.Tokens, capture.Token{FromInitiator: w.fromInitiator, Data: w.tok})
	}
	if pp, ok := pe.(protectingPeer); ok {
		msgs, err := captureMessages(fe, pp, !s.fakeInitiates)
		if err != nil {
			return nil, err
		}
		conv.Messages = msgs
	}
	return conv, nil
}

// captureMessages exchanges one sealed and one signed message each way,
// the peer first, and records them; peerInitiates says which side the
// peer is.
func captureMessages(fe *fakeEnd, pp protectingPeer, peerInitiates bool) ([]capture.Message, error) {
	var msgs []capture.Message
	ctx := fe.ctx
	m := []byte("sealed by the peer")
	w, err := pp.wrap(m)
	if err != nil {
		return nil, err
	}
	sig, data, err := splitNTLMWrap(w)
	if err != nil {
		return nil, err
	}
	if plain, err := ctx.Unseal(sig, data); err != nil || !bytes.Equal(plain, m) {
		return nil, fmt.Errorf("the fake refused the peer's sealed message: %v", err)
	}
	msgs = append(msgs, capture.Message{FromInitiator: peerInitiates, Sealed: true, Plain: m, Token: w})

	m = []byte("sealed by the fake")
	tok, data, err := ctx.Seal(m)
	if err != nil {
		return nil, err
	}
	w = append(bytes.Clone(tok), data...)
	if plain, err := pp.unwrap(w); err != nil || !bytes.Equal(plain, m) {
		return nil, fmt.Errorf("the peer refused the fake's sealed message: %v", err)
	}
	msgs = append(msgs, capture.Message{FromInitiator: !peerInitiates, Sealed: true, Plain: m, Token: w})

	m = []byte("signed by the peer")
	mic, err := pp.mic(m)
	if err != nil {
		return nil, err
	}
	if err := ctx.Verify(m, mic); err != nil {
		return nil, fmt.Errorf("the fake refused the peer's signature: %v", err)
	}
	msgs = append(msgs, capture.Message{FromInitiator: peerInitiates, Plain: m, Token: mic})

	m = []byte("signed by the fake")
	sig, err = ctx.Sign(m)
	if err != nil {
		return nil, err
	}
	if err := pp.verifyMIC(m, sig); err != nil {
		return nil, fmt.Errorf("the peer refused the fake's signature: %v", err)
	}
	msgs = append(msgs, capture.Message{FromInitiator: !peerInitiates, Plain: m, Token: sig})
	return msgs, nil
}

// TestCaptureMITReference captures what MIT's own SPNEGO acceptor, with
// NTLM (gss-ntlmssp) and no Kerberos key, answers MIT's Kerberos-first
// initiator: the reference for the fake's answer to the same offer.
func TestCaptureMITReference(t *testing.T) {
	tier(t, toolGSSAPI, toolNTLMSSP, toolKDC)
	r := startRealm(t)
	d := newPeerDir(t)
	cc := r.ticket(t, d)
	ini := startGSSInitiator(t, d.gssEnv(ntlmUsers(testPassword), r.conf, "KRB5CCNAME="+cc), "spnego", gssTarget, "default", "")
	acc := startGSSAcceptor(t, newPeerDir(t).gssEnv(ntlmUsers(testPassword), r.conf), "spnego")
	tr, err := handshake(ini.step, acc.step, "MIT initiator", "MIT acceptor")
	require.NoError(t, err)
	wantKerberosFirst(t, tr)
	require.GreaterOrEqual(t, len(tr), 2)
	reply, err := spnego.ParseNegTokenResp(tr[1].tok)
	require.NoError(t, err)
	assert.Equal(t, spnego.RequestMIC, reply.NegState)
	assert.Equal(t, spnego.OIDNTLMSSP, reply.SupportedMech)
	assert.Nil(t, reply.ResponseToken)
	conv := &capture.Conversation{
		About: []string{
			"MIT GSSAPI's SPNEGO initiator holding a Kerberos ticket (Kerberos first, with an optimistic AP-REQ for HTTP/localhost@" + realmName + " of a throwaway realm), then NTLM,",
			"against MIT GSSAPI's own SPNEGO acceptor with NTLM (gss-ntlmssp) and no Kerberos key: it answers request-mic with NTLM as supportedMech and no token.",
			"Captured from " + pkgVersions(append([]string{"krb5-kdc"}, mitPkgs...)...) + " on Debian " + debianVersion() + ",",
			"by `GOSSPI_INTEROP_CAPTURE=1 go test -run TestCapture ./internal/interop/` (bash .ci/interop-tier.sh installs the peers).",
		},
		Account: &capture.Account{Domain: testDomain, User: testUser, Password: testPassword},
	}
	for _, w := range tr {
		conv.Tokens = append(conv.Tokens, capture.Token{FromInitiator: w.fromInitiator, Data: w.tok})
	}
	writeCapture(t, "mit-kerberos-first-to-mit", conv)
}

// writeCapture writes a capture as GOSSPI_INTEROP_CAPTURE asks, or logs
// what it would write.
func writeCapture(t *testing.T, name string, conv *capture.Conversation) {
	t.Helper()
	out, err := conv.Marshal()
	require.NoError(t, err)
	path := filepath.Join(captureDir, name+".txt")
	mode := os.Getenv(envCapture)
	if _, err := os.Stat(path); err == nil && mode != "rewrite" {
		t.Logf("%s exists; %s=rewrite would replace it with:\n%s", path, envCapture, out)
		return
	}
	if mode != "1" && mode != "rewrite" {
		t.Logf("%s=1 would write %s:\n%s", envCapture, path, out)
		return
	}
	require.NoError(t, os.MkdirAll(captureDir, 0o755))
	require.NoError(t, os.WriteFile(path, out, 0o644))
}

func debianVersion() string {
	b, err := os.ReadFile("/etc/debian_version")
	if err != nil {
		return "(unknown)"
	}
	return strings.TrimSpace(string(b))
}
