package fake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
	"github.com/gosspi/gosspi/internal/ntlm"
	"github.com/gosspi/gosspi/internal/rc4"
	"github.com/gosspi/gosspi/internal/spnego"
)

// ntlmPkg is NTLM (MS-NLMP), with the values Windows reports for it.
var ntlmPkg = &pkgDesc{
	info: backend.PackageInfo{
		Name:         "NTLM",
		Comment:      "NTLM Security Package",
		Capabilities: 0x00082B37,
		Version:      1,
		RPCID:        10,
		MaxToken:     2888,
	},
	sizes: ntlmSizes,
	oid:   spnego.OIDNTLMSSP,
	mech:  ntlmMech{},
}

var ntlmSizes = backend.Sizes{MaxToken: 2888, MaxSignature: ntlm.SignatureSize, BlockSize: 0, SecurityTrailer: ntlm.SignatureSize}

// ntlmMech is NTLMv2 with extended session security: NEGOTIATE,
// CHALLENGE, AUTHENTICATE, then an ntlm.Session.
type ntlmMech struct{}

func (ntlmMech) client(h *host, cfg clientConfig) handshake {
	cbHash, cbErr := bindingsHash(cfg.bindings)
	c := &ntlmClient{first: true, bindErr: cbErr}
	c.cl = &c.own
	var key ntlm.ResponseKey
	defer key.Wipe()
	if cfg.id != nil {
		cfg.id.responseKey(&key)
	} else {
		key = ntlm.NewResponseKey(cfg.password, cfg.user, cfg.domain)
	}
	ntlm.InitClientKey(c.cl, ntlm.ClientConfig{
		User: cfg.user, Domain: cfg.domain,
		Workstation:         h.name(),
		TargetSPN:           cfg.target,
		ChannelBindingsHash: cbHash,
		MachineID:           h.m.machineID,
		Rand:                h.rand(),
		Now:                 h.clock(),
		Flags:               ntlmRequestFlags(cfg.req),
		Version:             h.m.windows.ntlmVersion(),
	}, &key)
	return c
}

// ntlmRequestFlags are the NEGOTIATE flags a Windows client sends for a
// request. Windows asks for SIGN only when integrity, replay or sequence
// detection is requested and for SEAL only with confidentiality (Wine's
// secur32 tests assert this on Windows), and offers LM_KEY and KEY_EXCH
// only with one of them: 0xe20882b7 with both, 0xe2088297 with SIGN
// alone, 0xa2088207 with neither.
func ntlmRequestFlags(req flags.ClientReq) uint32 {
	f := ntlm.NegotiateUnicode | ntlm.NegotiateOEM | ntlm.RequestTarget | ntlm.NegotiateNTLM |
		ntlm.NegotiateAlwaysSign | ntlm.NegotiateExtendedSessionSecurity | ntlm.NegotiateVersion |
		ntlm.Negotiate128 | ntlm.Negotiate56
	if req&(flags.ClientReqIntegrity|flags.ClientReqReplayDetect|flags.ClientReqSequenceDetect) != 0 {
		f |= ntlm.NegotiateSign
	}
	if req&flags.ClientReqConfidentiality != 0 {
		f |= ntlm.NegotiateSeal
	}
	if f&(ntlm.NegotiateSign|ntlm.NegotiateSeal) != 0 {
		f |= ntlm.NegotiateLMKey | ntlm.NegotiateKeyExch
	}
	if req&flags.ClientReqIdentify != 0 {
		f |= ntlm.NegotiateIdentify
	}
	return f
}

func (ntlmMech) server(h *host) handshake {
	cfg := ntlm.ServerConfig{
		NetBIOSDomain: h.domain(), NetBIOSComputer: h.name(),
		DNSDomain: h.dnsDomain, DNSComputer: h.dnsName,
		Standalone: h.m.role == RoleStandalone,
		LookupKey:  h.responseKey,
		Rand:       h.rand(),
		Now:        h.clock(),
		Version:    h.m.windows.ntlmVersion(),
	}
	if h.m.role == RoleDomainController {
		cfg.DNSTreeName = h.dnsDomain // a single-domain forest
	}
	s := &ntlmServer{}
	s.srv = &s.own
	ntlm.InitServer(s.srv, cfg)
	return s
}

// clientFlags is what NTLM can grant of a client request.
func (ntlmMech) clientFlags(req flags.ClientReq) flags.ClientRet {
	const same = flags.ClientReqReplayDetect | flags.ClientReqSequenceDetect | flags.ClientReqConfidentiality |
		flags.ClientReqIntegrity | flags.ClientReqConnection | flags.ClientReqIdentify | flags.ClientReqDatagram
	ret := flags.ClientRet(req & same)
	if req&flags.ClientReqAllocateMemory != 0 {
		ret |= flags.ClientRetAllocatedMemory
	}
	return ret
}

// serverFlags is what NTLM can grant of a server request.
func (ntlmMech) serverFlags(req flags.ServerReq) flags.ServerRet {
	const same = flags.ServerReqReplayDetect | flags.ServerReqSequenceDetect | flags.ServerReqConfidentiality |
		flags.ServerReqIntegrity | flags.ServerReqConnection | flags.ServerReqIdentify | flags.ServerReqDatagram
	ret := flags.ServerRet(req & same)
	if req&flags.ServerReqAllocateMemory != 0 {
		ret |= flags.ServerRetAllocatedMemory
	}
	return ret
}

// responseKey is the NTLM server's view of the principal directory: the
// NTLMv2 ResponseKey of the user's password, with user and domain as the
// client spelled them.
func (h *host) responseKey(domain, user string) (ntlm.ResponseKey, bool) {
	p, ok := h.lookup(domain, user)
	if !ok {
		return ntlm.ResponseKey{}, false
	}
	return p.responseKey(domain, user), true
}

// bindingsHash is the MsvAvChannelBindings value for a SEC_CHANNEL_BINDINGS
// structure: the MD5 of the gss_channel_bindings_struct it describes, as
// Windows and GSSAPI peers compute it. nil bindings give nil.
func bindingsHash(b []byte) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	cb, err := ntlm.ParseSecChannelBindings(b)
	if err != nil {
		return nil, err
	}
	return cb.Hash(), nil
}

// ntlmStatus maps an internal/ntlm error onto its SSPI status.
func ntlmStatus(err error) backend.Status {
	switch {
	case errors.Is(err, ntlm.ErrLogonDenied):
		return backend.StatusLogonDenied
	case errors.Is(err, ntlm.ErrMessageAltered):
		return backend.StatusMessageAltered
	case errors.Is(err, ntlm.ErrOutOfSequence):
		return backend.StatusOutOfSequence
	}
	return backend.StatusInvalidToken
}

// ntlmClient is the initiator: NEGOTIATE on the first step, AUTHENTICATE
// for the server's CHALLENGE on the second. ntlm.Client keeps the position
// and refuses steps out of order. The session lives in the same
// allocation.
type ntlmClient struct {
	cl      *ntlm.Client // &own, nil once done
	first   bool         // the NEGOTIATE is still to be sent
	bindErr error        // the channel bindings given do not decode
	sess    ntlmSession
	own     ntlm.Client
}

func (c *ntlmClient) step(_ *host, in stepIn) (stepOut, error) {
	if c.cl == nil {
		return stepOut{}, refuse(backend.StatusInternalError, "the NTLM handshake is over", nil)
	}
	if c.first {
		if in.token != nil {
			return stepOut{}, refuse(backend.StatusInvalidToken, "a first call takes no input token", nil)
		}
		if c.bindErr != nil {
			return stepOut{}, refuse(backend.StatusBadBindings, "the channel bindings do not decode", c.bindErr)
		}
		c.first = false
		out, err := c.cl.Negotiate()
		if err != nil {
			return stepOut{}, refuse(backend.StatusInternalError, "building NEGOTIATE", err)
		}
		return stepOut{token: out}, nil
	}
	out, err := c.cl.Authenticate(in.token)
	if err != nil {
		return stepOut{}, refuse(ntlmStatus(err), "CHALLENGE refused", err)
	}
	if f := c.cl.NegotiatedFlags(); f&ntlm.NegotiateExtendedSessionSecurity == 0 {
		key := c.cl.SessionKey()
		// A server that granted no extended session security (Wine's
		// capture of one): Windows completes and protects messages
		// without it (MS-NLMP 3.4.4.1).
		sess, err := newNoESSSession(key, f, true)
		clear(key)
		if err != nil {
			return stepOut{}, refuse(backend.StatusInternalError, "deriving session keys", err)
		}
		c.destroy() // the Client still holds the session key
		return stepOut{token: out, sess: sess}, nil
	}
	// The session lives in c, as an imported one does.
	if err := c.cl.InitSession(&c.sess.own); err != nil {
		return stepOut{}, refuse(backend.StatusInternalError, "deriving session keys", err)
	}
	c.destroy()
	c.sess.s = &c.sess.own
	return stepOut{token: out, sess: &c.sess}, nil
}

// destroy drops the client, zeroing the password's ResponseKeyNT, which
// it holds until AUTHENTICATE is made.
func (c *ntlmClient) destroy() {
	c.own = ntlm.Client{}
	c.cl = nil
}

// ntlmServer is the acceptor: CHALLENGE for the client's NEGOTIATE, then
// verification of its AUTHENTICATE. ntlm.Server allows one AUTHENTICATE,
// so a refused one ends what the context can do.
type ntlmServer struct {
	srv        *ntlm.Server // &own, nil once done
	challenged bool
	sess       ntlmSession
	own        ntlm.Server
}

func (s *ntlmServer) step(h *host, in stepIn) (stepOut, error) {
	if s.srv == nil {
		return stepOut{}, refuse(backend.StatusInternalError, "the NTLM handshake is over", nil)
	}
	if !s.challenged {
		out, err := s.srv.Challenge(in.token)
		if err != nil {
			return stepOut{}, refuse(ntlmStatus(err), "NEGOTIATE refused", err)
		}
		s.challenged = true
		return stepOut{token: out}, nil
	}
	res, err := s.srv.Authenticate(in.token)
	if err != nil {
		return stepOut{}, refuse(ntlmStatus(err), "AUTHENTICATE refused", err)
	}
	defer clear(res.SessionKey)
	// A server with bindings checks the client's (Windows' Extended
	// Protection). A client that sent none, or zeros, passes only when the
	// server allows missing bindings (ASC_REQ_ALLOW_MISSING_BINDINGS).
	if in.bindings != nil {
		want, err := bindingsHash(in.bindings)
		if err != nil {
			return stepOut{}, refuse(backend.StatusBadBindings, "the server's channel bindings do not decode", err)
		}
		switch {
		case res.ChannelBindings == nil || allZero(res.ChannelBindings):
			if !in.allowMissingBindings {
				return stepOut{}, refuse(backend.StatusBadBindings, "the client sent no channel bindings, and the server does not allow missing ones", nil)
			}
		case !bytes.Equal(want, res.ChannelBindings):
			return stepOut{}, refuse(backend.StatusBadBindings, "the client's channel bindings differ from the server's", nil)
		}
	}
	pr, ok := h.lookup(res.Domain, res.User)
	if !ok { // removed between CHALLENGE and AUTHENTICATE
		return stepOut{}, refuse(backend.StatusLogonDenied, "unknown user", nil)
	}
	peer := tokenIdentity{domain: pr.domain, user: pr.user, sid: pr.sid, groups: pr.groups}
	if res.Flags&ntlm.NegotiateExtendedSessionSecurity == 0 {
		// A client that asked for no extended session security.
		sess, err := newNoESSSession(res.SessionKey, res.Flags, false)
		if err != nil {
			return stepOut{}, refuse(backend.StatusInternalError, "deriving session keys", err)
		}
		s.srv = nil
		return stepOut{sess: sess, peer: peer, spn: res.TargetName, mechListMIC: res.MIC}, nil
	}
	if err := s.sess.own.Init(res.SessionKey, res.Flags, false); err != nil {
		return stepOut{}, refuse(backend.StatusInternalError, "deriving session keys", err)
	}
	s.srv = nil
	s.sess.s = &s.sess.own
	return stepOut{
		sess:        &s.sess,
		peer:        peer,
		spn:         res.TargetName,
		mechListMIC: res.MIC,
	}, nil
}

func (s *ntlmServer) destroy() { s.srv = nil }

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// ntlmSession is NTLM session security and the position RESET_NEW
// returns to. An imported one holds its Session in own, so import
// allocates once for both.
type ntlmSession struct {
	s    *ntlm.Session
	base counters
	own  ntlm.Session
}

// counters is the per-message position of an NTLM session.
type counters struct {
	sendSeq, recvSeq       uint32
	sendStream, recvStream uint64
}

func (s *ntlmSession) sizes() backend.Sizes { return ntlmSizes }

// sign copies out of Sign, which the compiler inlines here, so the
// signature it makes stays on the stack.
func (s *ntlmSession) sign(msg, sig []byte) int {
	if !s.s.SignInto(msg, sig) {
		return 0
	}
	return ntlm.SignatureSize
}

func (s *ntlmSession) verify(msg, sig []byte) error {
	if err := s.s.Verify(msg, sig); err != nil {
		return refuse(ntlmStatus(err), "", err)
	}
	return nil
}

// signMIC and verifyMIC are sign and verify for SPNEGO's mechListMICs,
// after which the RC4 streams restart (micSigner).
func (s *ntlmSession) signMIC(msg, sig []byte) int {
	if !s.s.SignMIC(msg, sig) {
		return 0
	}
	return ntlm.SignatureSize
}

func (s *ntlmSession) verifyMIC(msg, sig []byte) error {
	if err := s.s.VerifyMIC(msg, sig); err != nil {
		return refuse(ntlmStatus(err), "", err)
	}
	return nil
}

func (s *ntlmSession) seal(msg []byte) (sealed, sig []byte) { return s.s.Seal(msg) }

func (s *ntlmSession) sealInPlace(msg, sig []byte) int {
	s.s.SealInPlace(msg, sig)
	return ntlm.SignatureSize
}

func (s *ntlmSession) unseal(sealed, sig []byte) ([]byte, error) {
	plain, err := s.s.Unseal(sealed, sig)
	if err != nil {
		return nil, refuse(ntlmStatus(err), "", err)
	}
	return plain, nil
}

func (s *ntlmSession) unsealInPlace(msg, sig []byte) error {
	if err := s.s.UnsealInPlace(msg, sig); err != nil {
		return refuse(ntlmStatus(err), "", err)
	}
	return nil
}

func (s *ntlmSession) sessionKey() []byte {
	st := s.s.State()
	key := bytes.Clone(st.SessionKey[:])
	st.Wipe()
	return key
}

func (s *ntlmSession) handshakeDone() {
	st := s.s.State()
	st.Wipe()
	s.base = counters{st.SendSeq, st.RecvSeq, st.SendStream, st.RecvStream}
}

// mechListMICsDone restarts both RC4 streams once SPNEGO's mechListMICs
// are exchanged, keeping the sequence numbers (MS-SPNG 3.2.5.1).
func (s *ntlmSession) mechListMICsDone() { s.s.ResetStreams() }

func (s *ntlmSession) destroy() { s.s.Destroy() }

// NTLM state layouts in a packed context. Version 1 is 69 bytes: key 16,
// flags 4, client 1, the two sequence numbers 4+4 and keystream positions
// 8+8, then the same four for the post-handshake position that RESET_NEW
// returns to. Format 1 blobs carry no version (0): they hold either that
// layout or, from the first release, its first 45 bytes, which mean
// position zero after the handshake, right for the NTLM contexts they
// could hold. Both record where each RC4 stream stands, and import
// replays the keystream to get there.
//
// Version 2 is the version 1 layout of a session without extended
// session security (mech_ntlm_noess.go).
//
// Version 3 is version 1 followed by each direction's RC4 state, send
// then receive: a byte 1 and the cipher's state (rc4.StateSize bytes), or
// a byte 0 for a stream at the start of its keystream (position 0), which
// is keyed on first use. Import is then constant work whatever the
// traffic. The post-handshake position stays a position: RESET_NEW
// re-keys from the session key and moves on that many bytes, which is
// zero for every context this build establishes (a few bytes, a
// mechListMIC's checksum, for ones imported from older Negotiate blobs).
const (
	ntlmStateV1    = 1
	ntlmStateV3    = 3
	ntlmStateLenV0 = 16 + 4 + 1 + 4 + 4 + 8 + 8
	ntlmStateLenV1 = ntlmStateLenV0 + 4 + 4 + 8 + 8
)

func (s *ntlmSession) appendState(dst []byte, reset bool) (uint8, []byte) {
	var st ntlm.SessionState
	if reset {
		var err error
		st, err = s.s.StateAt(s.base.sendSeq, s.base.recvSeq, s.base.sendStream, s.base.recvStream)
		if err != nil { // decodeNTLMState bounds the base far below StateAt's limit
			panic("fake: the post-handshake NTLM position does not restore: " + err.Error())
		}
	} else {
		st = s.s.State()
	}
	defer st.Wipe()
	cur := counters{st.SendSeq, st.RecvSeq, st.SendStream, st.RecvStream}
	dst = appendNTLMLayout(dst, st.SessionKey[:], st.Flags, st.Client, cur, s.base, false)
	for _, c := range [...][]byte{st.SendCipher, st.RecvCipher} {
		if c == nil {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = append(dst, c...)
	}
	return ntlmStateV3, dst
}

// appendNTLMLayout writes the version 1 layout (see ntlmStateLenV1): key,
// flags, side, the current position (the post-handshake one with reset),
// and the post-handshake position RESET_NEW returns to.
func appendNTLMLayout(dst, key []byte, flags uint32, client bool, cur, base counters, reset bool) []byte {
	if reset {
		cur = base
	}
	dst = append(dst, key...)
	dst = binary.LittleEndian.AppendUint32(dst, flags)
	side := byte(0)
	if client {
		side = 1
	}
	dst = append(dst, side)
	for _, c := range [2]counters{cur, base} {
		dst = binary.LittleEndian.AppendUint32(dst, c.sendSeq)
		dst = binary.LittleEndian.AppendUint32(dst, c.recvSeq)
		dst = binary.LittleEndian.AppendUint64(dst, c.sendStream)
		dst = binary.LittleEndian.AppendUint64(dst, c.recvStream)
	}
	return dst
}

// maxBaseStream bounds the post-handshake stream positions a state may
// hold: RESET_NEW replays them, and no handshake leaves more than a
// checksum's 8 bytes.
const maxBaseStream = 64

// decodeNTLMState reads an NTLM state of the given layout version.
func decodeNTLMState(version uint8, b []byte) (ntlm.SessionState, counters, error) {
	var ciphers []byte
	switch version {
	case 0:
		if len(b) != ntlmStateLenV1 && len(b) != ntlmStateLenV0 {
			return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state is %d bytes, want %d", len(b), ntlmStateLenV1)
		}
	case ntlmStateV1:
		if len(b) != ntlmStateLenV1 {
			return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state is %d bytes, want %d", len(b), ntlmStateLenV1)
		}
	case ntlmStateV3:
		if len(b) < ntlmStateLenV1+2 {
			return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state is %d bytes, want at least %d", len(b), ntlmStateLenV1+2)
		}
		b, ciphers = b[:ntlmStateLenV1], b[ntlmStateLenV1:]
	default:
		return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state version %d is newer than this build reads", version)
	}
	if b[20] > 1 {
		return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state has side byte %d", b[20])
	}
	st := ntlm.SessionState{
		Flags:      binary.LittleEndian.Uint32(b[16:]),
		Client:     b[20] == 1,
		SendSeq:    binary.LittleEndian.Uint32(b[21:]),
		RecvSeq:    binary.LittleEndian.Uint32(b[25:]),
		SendStream: binary.LittleEndian.Uint64(b[29:]),
		RecvStream: binary.LittleEndian.Uint64(b[37:]),
	}
	var base counters
	if len(b) == ntlmStateLenV1 {
		base = counters{
			sendSeq:    binary.LittleEndian.Uint32(b[45:]),
			recvSeq:    binary.LittleEndian.Uint32(b[49:]),
			sendStream: binary.LittleEndian.Uint64(b[53:]),
			recvStream: binary.LittleEndian.Uint64(b[61:]),
		}
	}
	if base.sendSeq > st.SendSeq || base.recvSeq > st.RecvSeq || base.sendStream > st.SendStream || base.recvStream > st.RecvStream {
		return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state is behind its post-handshake position")
	}
	// Every layout is held to this: RESET_NEW replays the post-handshake
	// position, and a version 3 state must be able to carry it on.
	if base.sendStream > maxBaseStream || base.recvStream > maxBaseStream {
		return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state's post-handshake position is %d and %d keystream bytes on, more than a handshake spends", base.sendStream, base.recvStream)
	}
	if version == ntlmStateV3 {
		var err error
		if st.SendCipher, ciphers, err = decodeCipher(ciphers, st.SendStream); err != nil {
			return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state's send stream: %w", err)
		}
		if st.RecvCipher, ciphers, err = decodeCipher(ciphers, st.RecvStream); err != nil {
			return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state's receive stream: %w", err)
		}
		if len(ciphers) != 0 {
			return ntlm.SessionState{}, counters{}, fmt.Errorf("NTLM state has %d bytes after its RC4 states", len(ciphers))
		}
	}
	copy(st.SessionKey[:], b[0:16])
	return st, base, nil
}

// decodeCipher reads one direction's RC4 state of a version 3 NTLM state
// and returns the rest. A stream that has moved must carry its state:
// version 3 never replays.
func decodeCipher(b []byte, stream uint64) (cipher, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, errors.New("cut off")
	}
	switch b[0] {
	case 0:
		if stream != 0 {
			return nil, nil, fmt.Errorf("at keystream byte %d without its RC4 state", stream)
		}
		return nil, b[1:], nil
	case 1:
		if len(b) < 1+rc4.StateSize {
			return nil, nil, errors.New("RC4 state cut off")
		}
		return b[1 : 1+rc4.StateSize : 1+rc4.StateSize], b[1+rc4.StateSize:], nil
	}
	return nil, nil, fmt.Errorf("RC4 state marker %d", b[0])
}

func (m ntlmMech) restore(version uint8, state []byte, server bool) (session, *pkgDesc, error) {
	return m.restoreHolding(version, state, server, nil)
}

// restoreHolding is restore that, given the import's buffer, leaves the
// RC4 states where the import decrypted them (the tail of state) for the
// session to keep: an import after traffic then copies nothing.
func (ntlmMech) restoreHolding(version uint8, state []byte, server bool, ib *importBuf) (session, *pkgDesc, error) {
	if version == ntlmStateNoESS {
		return restoreNoESS(state, server)
	}
	ss, base, err := decodeNTLMState(version, state)
	if err != nil {
		return nil, nil, refuse(backend.StatusInvalidToken, "the package state does not decode", err)
	}
	defer clear(ss.SessionKey[:]) // the cipher states are the blob's, which the caller zeroes
	if ss.Client == server {
		return nil, nil, refuse(backend.StatusInvalidToken, "the package state contradicts the context's side", nil)
	}
	hold := ib != nil && (ss.SendCipher != nil || ss.RecvCipher != nil)
	if hold {
		ss.Holder = ib
	}
	sess := &ntlmSession{base: base}
	if err := sess.own.Restore(ss); err != nil {
		return nil, nil, refuse(backend.StatusInvalidToken, "the session state does not restore", err)
	}
	if hold {
		ib.keepTail = len(state) - ntlmStateLenV1 // the cipher states, the layout's tail
	}
	sess.s = &sess.own
	return sess, nil, nil
}
