package interop

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/gosspi/gosspi/backend/fake"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// The account every peer authenticates as, or checks: the fake machine's
// directory and the peers' user files both hold it.
const (
	testDomain   = "TEST"
	testUser     = "alice"
	testPassword = "Interop-Pw1!"
	badPassword  = "Not-Her-Pw2!"
	testClient   = testDomain + `\` + testUser
	// testTarget is the SPN the fake initiator names, and gssTarget the
	// same service as a GSSAPI host-based name.
	testTarget = "HTTP/localhost"
	gssTarget  = "HTTP@localhost"
)

// ntlmUsers is gss-ntlmssp's user file with the test account.
func ntlmUsers(password string) string {
	return fmt.Sprintf("%s:%s:%s\n", testDomain, testUser, password)
}

// peer is the real side of one security context.
type peer interface {
	// step takes the fake's last token (nil for an initiator's first
	// step) and returns the next one, and whether this side is done.
	step(in []byte) (out []byte, done bool, err error)
}

// protectingPeer protects messages as GSSAPI does: wrap's token is the
// NTLM signature followed by the sealed data, as gss-ntlmssp lays it out.
type protectingPeer interface {
	peer
	wrap(msg []byte) ([]byte, error)
	unwrap(tok []byte) ([]byte, error)
	mic(msg []byte) ([]byte, error)
	verifyMIC(msg, mic []byte) error
}

// infoPeer reports what its side of the context knows.
type infoPeer interface {
	info() (peerInfo, error)
}

// peerInfo is a peer's view of an established context. Empty fields are
// what the peer cannot tell.
type peerInfo struct {
	name string // an acceptor's name for its client
	mech string // the mechanism's OID
	key  []byte // the session key SSPI reports as SECPKG_ATTR_SESSION_KEY
}

// fakeEnd is the fake's side of one security context, in a fresh process
// of a machine that knows the test account.
type fakeEnd struct {
	t      *testing.T
	proc   *fake.Process
	client *sspictx.ClientContext
	server *sspictx.ServerContext
	ctx    *sspictx.Context // whichever of client and server, or an import
}

// newFakeEnd makes the fake's side for package pkg: an initiator
// authenticating with password, or an acceptor.
func newFakeEnd(t *testing.T, pkg string, initiator bool, password string, opts ...fake.TestOption) *fakeEnd {
	t.Helper()
	opts = append([]fake.TestOption{fake.User{Domain: testDomain, Name: testUser, Password: testPassword}}, opts...)
	store, proc := fake.NewTestStore(t, opts...)
	if initiator {
		return fakeEndOn(t, store, proc, pkg, &sspictx.AuthIdentity{Domain: testDomain, User: testUser, Password: password}, testTarget, 0)
	}
	return fakeEndOn(t, store, proc, pkg, nil, "", 0)
}

// moreFlags are what a fake end asks for beyond the usual.
type moreFlags uint8

const (
	moreMutual               moreFlags = 1 << iota // ISC_REQ_MUTUAL_AUTH, ASC_REQ_MUTUAL_AUTH
	moreAllowMissingBindings                       // ASC_REQ_ALLOW_MISSING_BINDINGS
)

// fakeEndOn makes the fake's side in proc (whose store is store): an
// initiator authenticating as id to target, or, with a nil id, an
// acceptor. Both ask for integrity, confidentiality, replay and sequence
// detection, and more.
func fakeEndOn(t *testing.T, store *sspictx.Store, proc *fake.Process, pkg string, id *sspictx.AuthIdentity, target string, more moreFlags) *fakeEnd {
	t.Helper()
	e := &fakeEnd{t: t, proc: proc}
	if id != nil {
		cred, err := store.AcquireCredentials(pkg, flags.Outbound, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cred.Release() })
		var cm flags.ClientReq
		if more&moreMutual != 0 {
			cm |= flags.ClientReqMutualAuth
		}
		e.client = cred.NewClientContext(target, cm|flags.ClientReqIntegrity|flags.ClientReqConfidentiality|flags.ClientReqReplayDetect|flags.ClientReqSequenceDetect)
		e.ctx = &e.client.Context
	} else {
		cred, err := store.AcquireCredentials(pkg, flags.Inbound, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cred.Release() })
		var sm flags.ServerReq
		if more&moreMutual != 0 {
			sm |= flags.ServerReqMutualAuth
		}
		if more&moreAllowMissingBindings != 0 {
			sm |= flags.ServerReqAllowMissingBindings
		}
		e.server = cred.NewServerContext(sm | flags.ServerReqIntegrity | flags.ServerReqConfidentiality | flags.ServerReqReplayDetect | flags.ServerReqSequenceDetect)
		e.ctx = &e.server.Context
	}
	t.Cleanup(func() { _ = e.ctx.Delete() })
	return e
}

func (e *fakeEnd) step(in []byte) ([]byte, bool, error) {
	if e.client != nil {
		return e.client.Step(in)
	}
	return e.server.Step(in)
}

// moveTo exports the context (with ResetNew if reset) and imports it into
// a new process of the same machine, which then speaks for this end.
func (e *fakeEnd) moveTo(reset bool) error {
	f := flags.DeleteOld
	if reset {
		f |= flags.ResetNew
	}
	blob, err := e.ctx.Export(f)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	store := sspictx.NewStore(e.proc.Machine().NewProcess())
	fake.CheckLeaks(e.t, store)
	ctx, err := store.Import(e.ctx.Package(), blob, nil)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	e.t.Cleanup(func() { _ = ctx.Delete() })
	e.ctx = ctx
	return nil
}

// transcript is the tokens of one handshake, in order, for captures.
type transcript []wireToken

type wireToken struct {
	fromInitiator bool
	tok           []byte
}

// maxSteps bounds a handshake: NTLM takes three tokens, SPNEGO over NTLM
// up to five (six after a Kerberos-first offer).
const maxSteps = 12

// handshake runs first and second against each other, first starting
// with no token, until both are done. A token left when both are done is
// dropped, as SSPI callers do with an optional final token.
func handshake(first, second func([]byte) ([]byte, bool, error), firstName, secondName string) (transcript, error) {
	var tr transcript
	var tok []byte
	var done [2]bool
	steps := [2]func([]byte) ([]byte, bool, error){first, second}
	names := [2]string{firstName, secondName}
	for i := 0; i < maxSteps; i++ {
		s := i % 2
		if done[s] {
			return tr, fmt.Errorf("handshake stalled: the %s is done but got another token from the %s", names[s], names[1-s])
		}
		if i > 0 && len(tok) == 0 {
			return tr, fmt.Errorf("handshake stalled: the %s sent nothing but the %s is not done", names[1-s], names[s])
		}
		out, d, err := steps[s](tok)
		if err != nil {
			return tr, fmt.Errorf("%s, step %d: %w", names[s], i/2+1, err)
		}
		if len(out) > 0 {
			tr = append(tr, wireToken{fromInitiator: s == 0, tok: bytes.Clone(out)})
		}
		tok, done[s] = out, d
		if done[0] && done[1] {
			return tr, nil
		}
	}
	return tr, fmt.Errorf("handshake not done after %d steps", maxSteps)
}

// pairing describes one peer in one direction for converse.
type pairing struct {
	peer    string // the matrix row
	fakePkg string // the fake's package: "NTLM" or "Negotiate"
	// fakeInitiates puts the fake on the initiator side.
	fakeInitiates bool
	// start starts the real side; when it initiates, it authenticates as
	// the test account with password.
	start func(t *testing.T, password string) peer
	// checkTranscript, if set, checks the handshake's tokens: that the
	// peer really sent what the row claims (a Kerberos-first offer, a raw
	// NTLM token, no mechListMIC).
	checkTranscript func(t *testing.T, tr transcript)
	// onTranscript, if set, gets every successful handshake's tokens,
	// for captures.
	onTranscript func(t *testing.T, tr transcript)

	// newFake, if set, makes the fake's side instead of a fresh process
	// of a machine that knows TEST\alice (newFakeEnd): a process on a
	// machine of a fake domain, for Kerberos. An initiator authenticates
	// with password.
	newFake func(t *testing.T, password string) *fakeEnd
	// client, if set, is the name the acceptor must report for the
	// client instead of testClient.
	client string
	// nativeClient, if set, is the client's NATIVE_NAMES name where it
	// is not the NAMES one: Kerberos reports the principal
	// (alice@CONTOSO.TEST), NTLM DOMAIN\user for both.
	nativeClient string
	// split, if set, splits the peer's wrap token for a message of n
	// bytes into SSPI's token and data buffers; without it the token is
	// NTLM's 16-byte signature and the data the rest.
	split func(w []byte, n int) (tok, data []byte, err error)
	// wrongPassword, if set, is the check of a wrong password instead of
	// a handshake with it: where the password goes to a KDC rather than
	// the acceptor, the KDC is what refuses it.
	wrongPassword func(t *testing.T) error
	// bindings, if set, checks channel bindings: a handshake with the
	// same bindings on both sides succeeds, one with others fails.
	bindings func(t *testing.T) error
	// checkClient, if set, checks more of what a fake acceptor knows of
	// its client (its access token, say), as part of "names".
	checkClient func(ctx *sspictx.Context) error
	// fakeMech, if set, is the package that must have run under the
	// fake's context (its PACKAGE_INFO), and peerMech the mechanism OID
	// the peer must report: that SPNEGO chose Kerberos, not NTLM, on
	// both sides. Checked as part of "names".
	fakeMech, peerMech string
}

// checkMechs checks that the fake and the peer ran the mechanisms the
// row claims.
func (p pairing) checkMechs(s *session, info peerInfo) error {
	if p.fakeMech != "" {
		pi, err := s.fake.ctx.PackageInfo()
		if err != nil {
			return err
		}
		if pi.Name != p.fakeMech {
			return fmt.Errorf("the fake's %s context ran %q, want %q", p.fakePkg, pi.Name, p.fakeMech)
		}
	}
	if p.peerMech != "" && info.mech != p.peerMech {
		return fmt.Errorf("the peer ran mechanism %q, want %q", info.mech, p.peerMech)
	}
	return nil
}

// clientName is the name the acceptor must report for the client.
func (p pairing) clientName() string {
	if p.client != "" {
		return p.client
	}
	return testClient
}

// splitWrap splits a peer's wrap token of an n-byte message.
func (p pairing) splitWrap(w []byte, n int) (tok, data []byte, err error) {
	if p.split != nil {
		return p.split(w, n)
	}
	return splitNTLMWrap(w)
}

func (p pairing) dir() string {
	if p.fakeInitiates {
		return fakeInitiates
	}
	return peerInitiates
}

// session is one handshake between the fake and a peer.
type session struct {
	row  pairing
	fake *fakeEnd
	peer peer
	tr   transcript
}

// open makes a fake end and a peer and runs their handshake.
func (p pairing) open(t *testing.T, password string) (*session, error) {
	t.Helper()
	var fe *fakeEnd
	if p.newFake != nil {
		fe = p.newFake(t, password)
	} else {
		fe = newFakeEnd(t, p.fakePkg, p.fakeInitiates, password)
	}
	pe := p.start(t, password)
	s := &session{row: p, fake: fe, peer: pe}
	var err error
	if p.fakeInitiates {
		s.tr, err = handshake(fe.step, pe.step, "fake initiator", p.peer+" acceptor")
	} else {
		s.tr, err = handshake(pe.step, fe.step, p.peer+" initiator", "fake acceptor")
	}
	return s, err
}

// recorder notes outcomes for one matrix row and fails the test on any
// failure.
type recorder struct {
	t   *testing.T
	row pairing
}

// check runs one operation and records its outcome.
func (r recorder) check(op string, fn func() error) bool {
	r.t.Helper()
	err := fn()
	issue := knownIssue(r.row.peer, r.row.dir(), op)
	switch {
	case err != nil && issue != "":
		record(r.row.peer, r.row.dir(), op, outFail+" (issue "+issue+")")
		r.t.Logf("%s, %s, %s: known issue %s: %v", r.row.peer, r.row.dir(), op, issue, err)
		return false
	case err != nil:
		record(r.row.peer, r.row.dir(), op, outFail)
		r.t.Errorf("%s, %s, %s: %v", r.row.peer, r.row.dir(), op, err)
		return false
	case issue != "":
		r.t.Errorf("%s, %s, %s: passes, but knownIssues says issue %s breaks it: remove it from the list", r.row.peer, r.row.dir(), op, issue)
	}
	record(r.row.peer, r.row.dir(), op, outPass)
	return true
}

func (r recorder) mark(outcome string, ops ...string) {
	for _, op := range ops {
		record(r.row.peer, r.row.dir(), op, outcome)
	}
}

// converse holds the fake against one peer in one direction and records
// every operation in the matrix: the handshake, the names, equal session
// keys, three messages signed and sealed each way, tampered and replayed
// messages refused by each side, export and import of the fake's context
// with and without ResetNew in the middle of a conversation, channel
// bindings where the row checks them, and a wrong password refused. What
// the peer cannot do (no message protection, no session key) is "n/a".
func converse(t *testing.T, p pairing) {
	r := recorder{t: t, row: p}
	s, err := p.open(t, testPassword)
	if !r.check(opHandshake, func() error { return err }) {
		r.mark(outNotReached, opNames, opKey, opSign, opSeal, opTamper, opReplay, opExport)
		if p.bindings != nil {
			r.mark(outNotReached, opBindings)
		}
	} else {
		if p.checkTranscript != nil {
			p.checkTranscript(t, s.tr)
		}
		if p.onTranscript != nil {
			p.onTranscript(t, s.tr)
		}
		checkInfo(r, s)
		if _, ok := s.peer.(protectingPeer); ok {
			protection(r, s)
			replayToPeer(r)
			exportImport(r)
		} else {
			r.mark(outNA, opSign, opSeal, opTamper, opReplay, opExport)
		}
		if p.bindings != nil {
			r.check(opBindings, func() error { return p.bindings(t) })
		}
	}
	wrongPassword(r)
}

// checkInfo compares names and session keys.
func checkInfo(r recorder, s *session) {
	ip, ok := s.peer.(infoPeer)
	var info peerInfo
	var infoErr error
	if ok {
		info, infoErr = ip.info()
	}
	r.check(opNames, func() error {
		if infoErr != nil {
			return infoErr
		}
		if r.row.fakeInitiates {
			if !ok || info.name == "" {
				return errors.New("the peer does not say whom it authenticated")
			}
			if want := r.row.clientName(); info.name != want {
				return fmt.Errorf("the peer authenticated %q, want %q", info.name, want)
			}
			return r.row.checkMechs(s, info)
		}
		who, err := s.fake.ctx.UserName()
		if err != nil {
			return err
		}
		if want := r.row.clientName(); who != want {
			return fmt.Errorf("the fake authenticated %q, want %q", who, want)
		}
		names, err := s.fake.ctx.NativeNames()
		if err != nil {
			return err
		}
		want := r.row.clientName()
		if r.row.nativeClient != "" {
			want = r.row.nativeClient
		}
		if names.ClientName != want {
			return fmt.Errorf("the fake's native client name is %q, want %q", names.ClientName, want)
		}
		if err := r.row.checkMechs(s, info); err != nil {
			return err
		}
		if r.row.checkClient != nil {
			return r.row.checkClient(s.fake.ctx)
		}
		return nil
	})
	if !ok || infoErr == nil && info.key == nil {
		r.mark(outNA, opKey)
		return
	}
	r.check(opKey, func() error {
		if infoErr != nil {
			return infoErr
		}
		key, err := s.fake.ctx.SessionKey()
		if err != nil {
			return err
		}
		if !bytes.Equal(key, info.key) {
			return fmt.Errorf("session keys differ: fake %x, peer %x", key, info.key)
		}
		return nil
	})
}

// message makes the i-th test message from side, of a length that varies
// so that the RC4 streams of the two sides advance by different amounts.
func message(side string, i int) []byte {
	m := []byte(fmt.Sprintf("message %d from the %s|", i, side))
	return append(m, bytes.Repeat([]byte{byte('a' + i)}, 37*i*i)...)
}

// exchange sends n signed and n sealed messages each way, starting at
// message number from. It returns the first failure of each kind.
func exchange(s *session, from, n int) (signErr, sealErr error) {
	pp := s.peer.(protectingPeer)
	ctx := s.fake.ctx
	for i := from; i < from+n; i++ {
		if signErr == nil {
			signErr = func() error {
				m := message("fake", i)
				sig, err := ctx.Sign(m)
				if err != nil {
					return fmt.Errorf("fake Sign %d: %w", i, err)
				}
				if err := pp.verifyMIC(m, sig); err != nil {
					return fmt.Errorf("the peer refused the fake's signature %d: %w", i, err)
				}
				m = message("peer", i)
				mic, err := pp.mic(m)
				if err != nil {
					return fmt.Errorf("peer mic %d: %w", i, err)
				}
				if err := ctx.Verify(m, mic); err != nil {
					return fmt.Errorf("the fake refused the peer's signature %d: %w", i, err)
				}
				return nil
			}()
		}
		if sealErr == nil {
			sealErr = func() error {
				m := message("fake", i)
				tok, data, err := ctx.Seal(m)
				if err != nil {
					return fmt.Errorf("fake Seal %d: %w", i, err)
				}
				plain, err := pp.unwrap(append(bytes.Clone(tok), data...))
				if err != nil {
					return fmt.Errorf("the peer refused the fake's sealed message %d: %w", i, err)
				}
				if !bytes.Equal(plain, m) {
					return fmt.Errorf("the peer unsealed message %d as %q", i, plain)
				}
				m = message("peer", i)
				w, err := pp.wrap(m)
				if err != nil {
					return fmt.Errorf("peer wrap %d: %w", i, err)
				}
				sig, sealed, err := s.row.splitWrap(w, len(m))
				if err != nil {
					return err
				}
				plain, err = ctx.Unseal(sig, sealed)
				if err != nil {
					return fmt.Errorf("the fake refused the peer's sealed message %d: %w", i, err)
				}
				if !bytes.Equal(plain, m) {
					return fmt.Errorf("the fake unsealed message %d as %q", i, plain)
				}
				return nil
			}()
		}
	}
	return signErr, sealErr
}

// signatureSize is the size of an NTLM message signature, the SSPI
// security trailer that gss-ntlmssp puts before the sealed data.
const signatureSize = 16

func splitNTLMWrap(w []byte) (sig, data []byte, err error) {
	if len(w) < signatureSize {
		return nil, nil, fmt.Errorf("the peer's wrap token has %d bytes", len(w))
	}
	return bytes.Clone(w[:signatureSize]), bytes.Clone(w[signatureSize:]), nil
}

// wantStatus checks that err carries status st.
func wantStatus(err error, st sspictx.Status, what string) error {
	if err == nil {
		return fmt.Errorf("%s was accepted", what)
	}
	if !errors.Is(err, st) {
		return fmt.Errorf("%s: want %v, got %w", what, st, err)
	}
	return nil
}

// protection exchanges messages both ways, then checks that each side
// refuses a tampered message and the fake refuses replays (the peer's
// refusal of a replay needs a session of its own: replayToPeer).
func protection(r recorder, s *session) {
	signErr, sealErr := exchange(s, 0, 3)
	r.check(opSign, func() error { return signErr })
	r.check(opSeal, func() error { return sealErr })
	if signErr != nil || sealErr != nil {
		r.mark(outNotReached, opTamper, opReplay)
		return
	}
	pp := s.peer.(protectingPeer)
	ctx := s.fake.ctx
	var replayed func() error
	r.check(opTamper, func() error {
		// The fake: a tampered message is refused and leaves the context
		// as it was, so the untampered one still unseals; replaying that
		// is refused as out of sequence.
		m := message("peer", 10)
		w, err := pp.wrap(m)
		if err != nil {
			return err
		}
		sig, data, err := s.row.splitWrap(w, len(m))
		if err != nil {
			return err
		}
		bad := bytes.Clone(data)
		bad[len(bad)/2] ^= 0x20
		if err := wantStatus(errOf(ctx.Unseal(sig, bad)), sspictx.StatusMessageAltered, "a tampered sealed message from the peer"); err != nil {
			return err
		}
		if _, err := ctx.Unseal(sig, data); err != nil {
			return fmt.Errorf("the untampered message after a tampered one: %w", err)
		}
		// Copies: data is reused below for a message of the fake's.
		rsig, rdata := bytes.Clone(sig), bytes.Clone(data)
		replayed = func() error {
			return wantStatus(errOf(ctx.Unseal(rsig, rdata)), sspictx.StatusOutOfSequence, "a replayed sealed message from the peer")
		}
		m = message("peer", 11)
		mic, err := pp.mic(m)
		if err != nil {
			return err
		}
		altered := bytes.Clone(m)
		altered[0] ^= 1
		if err := wantStatus(ctx.Verify(altered, mic), sspictx.StatusMessageAltered, "a tampered signed message from the peer"); err != nil {
			return err
		}
		if err := ctx.Verify(m, mic); err != nil {
			return fmt.Errorf("the untampered signed message after a tampered one: %w", err)
		}
		if err := wantStatus(ctx.Verify(m, mic), sspictx.StatusOutOfSequence, "a replayed signed message from the peer"); err != nil {
			return err
		}
		// The peer: a tampered sealed message from the fake is refused.
		// (gss-ntlmssp's RC4 state moves on even for a refused message,
		// so this is the last message the peer gets in this session.)
		tok, data, err := ctx.Seal(message("fake", 12))
		if err != nil {
			return err
		}
		data[0] ^= 0x20
		if _, err := pp.unwrap(append(bytes.Clone(tok), data...)); err == nil {
			return errors.New("the peer accepted a tampered sealed message from the fake")
		}
		return nil
	})
	if replayed == nil {
		r.mark(outNotReached, opReplay)
		return
	}
	r.check(opReplay, replayed)
}

func errOf(_ []byte, err error) error { return err }

// replayToPeer checks, in a session of its own, that the peer refuses a
// message of the fake's that it has already accepted.
func replayToPeer(r recorder) {
	s, err := r.row.open(r.t, testPassword)
	if err != nil {
		r.check(opReplay, func() error { return fmt.Errorf("handshake for the replay session: %w", err) })
		return
	}
	pp := s.peer.(protectingPeer)
	r.check(opReplay, func() error {
		m := message("fake", 0)
		tok, data, err := s.fake.ctx.Seal(m)
		if err != nil {
			return err
		}
		w := append(bytes.Clone(tok), data...)
		if _, err := pp.unwrap(w); err != nil {
			return fmt.Errorf("the peer refused the first sealed message: %w", err)
		}
		if _, err := pp.unwrap(w); err == nil {
			return errors.New("the peer accepted a replayed sealed message from the fake")
		}
		return nil
	})
}

// exportImport moves the fake's context to another process twice while
// it talks to the peer: right after the handshake with ResetNew (the
// hand-off of an accepted context to a worker), then in the middle of the
// conversation without it. The peer notices nothing either time.
func exportImport(r recorder) {
	s, err := r.row.open(r.t, testPassword)
	if err != nil {
		r.check(opExport, func() error { return fmt.Errorf("handshake for the export session: %w", err) })
		return
	}
	r.check(opExport, func() error {
		if err := s.fake.moveTo(true); err != nil {
			return fmt.Errorf("with ResetNew after the handshake: %w", err)
		}
		signErr, sealErr := exchange(s, 0, 2)
		if err := errors.Join(signErr, sealErr); err != nil {
			return fmt.Errorf("after an import with ResetNew: %w", err)
		}
		if err := s.fake.moveTo(false); err != nil {
			return fmt.Errorf("without ResetNew mid-conversation: %w", err)
		}
		signErr, sealErr = exchange(s, 2, 2)
		if err := errors.Join(signErr, sealErr); err != nil {
			return fmt.Errorf("after an import without ResetNew: %w", err)
		}
		return nil
	})
}

// wrongPassword checks that a handshake with the wrong password fails:
// the fake acceptor says SEC_E_LOGON_DENIED, a peer acceptor refuses.
func wrongPassword(r recorder) {
	r.check(opPassword, func() error {
		if r.row.wrongPassword != nil {
			return r.row.wrongPassword(r.t)
		}
		s, err := r.row.open(r.t, badPassword)
		if err == nil {
			return errors.New("the handshake succeeded with a wrong password")
		}
		if !r.row.fakeInitiates {
			return wantStatus(err, sspictx.StatusLogonDenied, "a wrong password")
		}
		// An NTLM initiator is done once it sends AUTHENTICATE and cannot
		// learn the verdict; a Negotiate one waits for the acceptor's
		// last token, so it must not be established.
		if r.row.fakePkg == "Negotiate" && s.fake.ctx.Established() {
			return fmt.Errorf("the fake Negotiate initiator is established although the peer refused: %v", err)
		}
		return nil
	})
}
