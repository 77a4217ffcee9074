package ntlm

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	User, Domain, Password string
	// Workstation is the client's NetBIOS name, sent in the AUTHENTICATE
	// message for the server's audit log.
	Workstation string
	// TargetSPN goes into MsvAvTargetName of the NTLMv2 response, so the
	// server can check that the client meant to talk to it.
	TargetSPN string
	// ChannelBindingsHash is the optional 16-byte MD5 of the
	// gss_channel_bindings_struct (see ChannelBindingsHash), sent as
	// MsvAvChannelBindings. Without it the client sends 16 zero bytes
	// there, as every Windows client since Windows 7 does.
	ChannelBindingsHash []byte
	// MachineID, when 32 bytes long, is sent in MsvAvSingleHost
	// (MS-NLMP 2.2.2.2), as Windows 7 and later do, so a server on the
	// same machine can recognise a loopback logon. nil sends none.
	MachineID []byte
	// NoEmptyBindings leaves MsvAvChannelBindings out when there are no
	// bindings, as Windows before 7 did (and the examples of MS-NLMP
	// section 4 show).
	NoEmptyBindings bool
	// Rand supplies the client challenge and the random session key;
	// nil means crypto/rand. Tests pass a fixed stream to get the
	// MS-NLMP example tokens.
	Rand io.Reader
	// Now supplies the NTLMv2 timestamp when the server sent none;
	// nil means time.Now.
	Now func() time.Time
	// Flags are the negotiate flags requested; 0 means DefaultClientFlags.
	Flags uint32
	// Version is the 8-byte VERSION structure sent when
	// NTLMSSP_NEGOTIATE_VERSION is requested; nil means Windows 10.
	Version []byte
}

type clientState int

const (
	clientInitial clientState = iota
	clientNegotiated
	clientDone
)

// Client is the initiator's state machine: Negotiate, then Authenticate.
// It is not safe for concurrent use; the backend serializes calls on a
// context.
type Client struct {
	cfg        ClientConfig
	respKey    ResponseKey // computed once, so the password is not kept around
	state      clientState
	negotiate  []byte // our NEGOTIATE_MESSAGE, an input of the MIC
	flags      uint32
	sessionKey []byte // key[:] once set
	key        [16]byte
	rnd        [24]byte              // the client challenge and random session key, during Authenticate
	negBuf     [negotiateHeader]byte // negotiate's storage
}

// NewClient returns a Client for cfg. The password is reduced to
// ResponseKeyNT immediately and not retained.
func NewClient(cfg ClientConfig) *Client {
	c := new(Client)
	InitClient(c, cfg)
	return c
}

// InitClient is NewClient into *c, for a caller that holds the Client
// inside another allocation.
func InitClient(c *Client, cfg ClientConfig) {
	key := NewResponseKey(cfg.Password, cfg.User, cfg.Domain)
	InitClientKey(c, cfg, &key)
	key.Wipe()
}

// InitClientKey is InitClient with the ResponseKey of cfg's password,
// user and domain derived by the caller; cfg.Password is not used. The
// key is copied, not retained.
func InitClientKey(c *Client, cfg ClientConfig, key *ResponseKey) {
	if cfg.Flags == 0 {
		cfg.Flags = DefaultClientFlags
	}
	if cfg.Version == nil {
		cfg.Version = defaultVersion
	}
	*c = Client{respKey: *key}
	cfg.Password = ""
	c.cfg = cfg
}

func (c *Client) rand() io.Reader {
	if c.cfg.Rand != nil {
		return c.cfg.Rand
	}
	return rand.Reader
}

// Negotiate returns the NEGOTIATE_MESSAGE.
func (c *Client) Negotiate() ([]byte, error) {
	if c.state != clientInitial {
		return nil, fmt.Errorf("%w: Negotiate called twice", ErrState)
	}
	m := NegotiateMessage{Flags: c.cfg.Flags}
	if c.cfg.Flags&NegotiateVersion != 0 {
		m.Version = c.cfg.Version
	}
	b, err := m.marshalInto(c.negBuf[:0])
	if err != nil {
		return nil, err
	}
	c.negotiate = b
	c.state = clientNegotiated
	return bytes.Clone(b), nil
}

// Authenticate parses the CHALLENGE_MESSAGE and returns the
// AUTHENTICATE_MESSAGE with an NTLMv2 response (MS-NLMP 3.1.5.1.2).
//
// When the server's target info carries MsvAvTimestamp, the client uses that
// time, sends Z(24) as LM response, sets MsvAvFlags MIC-present in its AV
// pairs and includes the MIC: HMAC_MD5(ExportedSessionKey, NEGOTIATE ||
// CHALLENGE || AUTHENTICATE with a zero MIC). With NTLMSSP_NEGOTIATE_KEY_EXCH
// the exported session key is random and sent encrypted with the key
// exchange key.
func (c *Client) Authenticate(challenge []byte) ([]byte, error) {
	if c.state != clientNegotiated {
		return nil, fmt.Errorf("%w: Authenticate needs a prior Negotiate and may be called once", ErrState)
	}
	c.state = clientDone   // one attempt per context, as with SSPI
	defer c.respKey.Wipe() // not needed after this call, whatever the outcome
	var info [16]AVPair
	ch, err := parseChallenge(challenge, info[:0], false)
	if err != nil {
		return nil, err
	}
	if ch.Flags&NegotiateLMKey != 0 && ch.Flags&NegotiateExtendedSessionSecurity == 0 {
		return nil, fmt.Errorf("%w: server selected LM_KEY, which NTLMv2 does not support", ErrUnsupported)
	}

	// The negotiated flags are what both sides asked for; REQUEST_TARGET
	// is a request of ours and TARGET_INFO the server's answer to it, and
	// Windows echoes both in AUTHENTICATE (0xa2888205 for its 0xa2088207
	// and a server's 0xa28a8205), but not the target type.
	flags := c.cfg.Flags&ch.Flags | c.cfg.Flags&RequestTarget | ch.Flags&NegotiateTargetInfo
	if flags&(NegotiateUnicode|NegotiateOEM) == 0 {
		return nil, fmt.Errorf("%w: server selected neither Unicode nor OEM strings", ErrMalformed)
	}

	// 8-byte client challenge, then (with KEY_EXCH) the 16-byte exported key.
	rnd := &c.rnd // a field: through the io.Reader it would escape anyway
	need := 8
	if flags&NegotiateKeyExch != 0 {
		need = 24
	}
	if _, err := io.ReadFull(c.rand(), rnd[:need]); err != nil {
		return nil, fmt.Errorf("ntlm: reading random bytes: %w", err)
	}
	defer clear(rnd[:])
	clientChallenge := rnd[:8]

	// AV pairs of the response: the server's, then ours (MS-NLMP
	// 3.1.5.1.2), written straight into the NTLMv2 response: NTProofStr
	// (filled in below), then temp (ntlmv2Temp).
	ts, hasTS := ch.TargetInfo.Get(AvTimestamp)
	var timestamp uint64
	var avFlags uint32
	for _, p := range ch.TargetInfo {
		if p.ID == AvFlags && len(p.Value) == 4 {
			avFlags |= binary.LittleEndian.Uint32(p.Value)
		}
	}
	useMIC := hasTS && len(ts) == 8
	if useMIC {
		timestamp = binary.LittleEndian.Uint64(ts)
		avFlags |= AvFlagMICPresent
	} else {
		now := time.Now
		if c.cfg.Now != nil {
			now = c.cfg.Now
		}
		timestamp = fileTime(now())
	}
	cb := c.cfg.ChannelBindingsHash
	if len(cb) == 0 && !c.cfg.NoEmptyBindings {
		cb = zeroBindings[:]
	}
	spnLen := utf16Len(c.cfg.TargetSPN)
	if len(cb) > 0xffff {
		return nil, fmt.Errorf("ntlm: AV pair %d of %d bytes does not fit", AvChannelBindings, len(cb))
	}
	if spnLen > 0xffff {
		return nil, fmt.Errorf("ntlm: AV pair %d of %d bytes does not fit", AvTargetName, spnLen)
	}
	n := 16 + 28 + 4 + 4 + (4 + 4) + (4 + 48) + (4 + len(cb)) + (4 + spnLen)
	for _, p := range ch.TargetInfo {
		n += 4 + len(p.Value)
	}
	var ntBuf [512]byte
	var ntResp []byte
	if n <= len(ntBuf) {
		ntResp = ntBuf[:16]
	} else {
		ntResp = make([]byte, 16, n)
	}
	ntResp = append(ntResp, 1, 1, 0, 0, 0, 0, 0, 0)
	ntResp = binary.LittleEndian.AppendUint64(ntResp, timestamp)
	ntResp = append(ntResp, clientChallenge...)
	ntResp = append(ntResp, 0, 0, 0, 0)
	for _, p := range ch.TargetInfo {
		switch p.ID {
		case AvFlags, AvTargetName, AvChannelBindings, AvSingleHost:
			continue // ours to set
		}
		ntResp = appendAVPair(ntResp, p.ID, p.Value)
	}
	if avFlags != 0 {
		ntResp = appendAVPairHeader(ntResp, AvFlags, 4)
		ntResp = binary.LittleEndian.AppendUint32(ntResp, avFlags)
	}
	// Windows writes its own pairs in this order: MsvAvFlags,
	// MsvAvSingleHost, MsvAvChannelBindings, MsvAvTargetName.
	if len(c.cfg.MachineID) == 32 {
		ntResp = appendAVPairHeader(ntResp, AvSingleHost, 48)
		ntResp = appendSingleHost(ntResp, c.cfg.MachineID)
	}
	if len(cb) > 0 {
		ntResp = appendAVPair(ntResp, AvChannelBindings, cb)
	}
	if c.cfg.TargetSPN != "" {
		ntResp = appendAVPairHeader(ntResp, AvTargetName, spnLen)
		ntResp = appendUTF16LE(ntResp, c.cfg.TargetSPN)
	}
	ntResp = append(ntResp, 0, 0, 0, 0, 0, 0, 0, 0) // MsvAvEOL, then Z(4)
	proof := c.respKey.pads.sum(ch.ServerChallenge[:], ntResp[16:])
	copy(ntResp, proof[:])
	var lmResp []byte
	if useMIC {
		lmResp = zeroLM[:] // MS-NLMP 3.1.5.1.2: Z(24) when MsvAvTimestamp is present
	} else {
		lmResp = lmv2Response(&c.respKey, ch.ServerChallenge[:], clientChallenge)
	}

	keyExchangeKey := c.respKey.pads.sum(proof[:]) // SessionBaseKey, which NTLMv2 uses as KeyExchangeKey
	defer clear(keyExchangeKey[:])
	var encrypted []byte
	var encBuf [16]byte
	if flags&NegotiateKeyExch != 0 {
		copy(c.key[:], rnd[8:24])
		rc4OnceTo(encBuf[:], keyExchangeKey[:], c.key[:])
		encrypted = encBuf[:]
	} else {
		c.key = keyExchangeKey
	}
	exported := c.key[:]

	m := AuthenticateMessage{
		LmChallengeResponse:       lmResp,
		NtChallengeResponse:       ntResp,
		Domain:                    c.cfg.Domain,
		User:                      c.cfg.User,
		Workstation:               c.cfg.Workstation,
		EncryptedRandomSessionKey: encrypted,
		Flags:                     flags,
	}
	if flags&NegotiateVersion != 0 {
		m.Version = c.cfg.Version
	}
	if useMIC {
		m.MIC = zeroMIC[:]
	}
	out, err := m.marshal()
	if err != nil {
		clear(c.key[:])
		return nil, err
	}
	if useMIC {
		mic := hmacMD5Sum(exported, c.negotiate, challenge, out)
		copy(out[micOffset:], mic[:])
	}
	c.flags = flags
	c.sessionKey = exported
	return out, nil
}

// appendSingleHost appends the Single_Host_Data structure (MS-NLMP
// 2.2.2.2): its size (48), Z4, 8 bytes of CustomData, which the emulation
// leaves zero, and the machine's 32-byte MachineID.
func appendSingleHost(b, machineID []byte) []byte {
	b = append(b, 48, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	return append(b, machineID[:32]...)
}

// appendAVPairHeader appends the AvId and AvLen of a pair.
func appendAVPairHeader(b []byte, id uint16, n int) []byte {
	b = binary.LittleEndian.AppendUint16(b, id)
	return binary.LittleEndian.AppendUint16(b, uint16(n))
}

// appendAVPair appends one pair; v is at most 65535 bytes.
func appendAVPair(b []byte, id uint16, v []byte) []byte {
	return append(appendAVPairHeader(b, id, len(v)), v...)
}

// zeroBindings is the MsvAvChannelBindings of a client without bindings,
// zeroLM the LmChallengeResponse sent with a MIC. Both are only read.
var (
	zeroBindings [16]byte
	zeroLM       [24]byte
)

// SessionKey returns a copy of the ExportedSessionKey once Authenticate has
// succeeded, nil before.
func (c *Client) SessionKey() []byte { return bytes.Clone(c.sessionKey) }

// InitSession is NewSession(c.SessionKey(), c.NegotiatedFlags(), true)
// into s, without copying the key out. The Client then forgets the key:
// SessionKey returns nil.
func (c *Client) InitSession(s *Session) error {
	err := s.init(c.sessionKey, c.flags, true)
	clear(c.key[:])
	c.sessionKey = nil
	return err
}

// NegotiatedFlags returns the flags sent in the AUTHENTICATE_MESSAGE (0
// before Authenticate succeeded); they select the session security.
func (c *Client) NegotiatedFlags() uint32 { return c.flags }
