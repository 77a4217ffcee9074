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
	cfg         ClientConfig
	responseKey []byte // ResponseKeyNT, computed once so the password is not kept around
	state       clientState
	negotiate   []byte // our NEGOTIATE_MESSAGE, an input of the MIC
	flags       uint32
	sessionKey  []byte
}

// NewClient returns a Client for cfg. The password is reduced to
// ResponseKeyNT immediately and not retained.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Flags == 0 {
		cfg.Flags = DefaultClientFlags
	}
	if cfg.Version == nil {
		cfg.Version = defaultVersion
	}
	c := &Client{responseKey: NTOWFv2(cfg.Password, cfg.User, cfg.Domain)}
	cfg.Password = ""
	c.cfg = cfg
	return c
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
	b, err := m.marshal()
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
	c.state = clientDone       // one attempt per context, as with SSPI
	defer clear(c.responseKey) // not needed after this call, whatever the outcome
	ch, err := ParseChallenge(challenge)
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
	var rnd [24]byte
	need := 8
	if flags&NegotiateKeyExch != 0 {
		need = 24
	}
	if _, err := io.ReadFull(c.rand(), rnd[:need]); err != nil {
		return nil, fmt.Errorf("ntlm: reading random bytes: %w", err)
	}
	defer clear(rnd[:])
	clientChallenge := rnd[:8]

	// AV pairs of the response: the server's, then ours (MS-NLMP 3.1.5.1.2).
	ts, hasTS := ch.TargetInfo.Get(AvTimestamp)
	var timestamp uint64
	var avFlags uint32
	pairs := make(AVPairs, 0, len(ch.TargetInfo)+3)
	for _, p := range ch.TargetInfo {
		switch p.ID {
		case AvFlags:
			if len(p.Value) == 4 {
				avFlags |= binary.LittleEndian.Uint32(p.Value)
			}
			continue
		case AvTargetName, AvChannelBindings, AvSingleHost:
			continue // ours to set
		}
		pairs = append(pairs, p)
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
	if avFlags != 0 {
		pairs = append(pairs, AVPair{ID: AvFlags, Value: binary.LittleEndian.AppendUint32(nil, avFlags)})
	}
	// Windows writes its own pairs in this order: MsvAvFlags,
	// MsvAvSingleHost, MsvAvChannelBindings, MsvAvTargetName.
	if len(c.cfg.MachineID) == 32 {
		pairs = append(pairs, AVPair{ID: AvSingleHost, Value: singleHost(c.cfg.MachineID)})
	}
	if cb := c.cfg.ChannelBindingsHash; len(cb) > 0 {
		pairs = append(pairs, AVPair{ID: AvChannelBindings, Value: cb})
	} else if !c.cfg.NoEmptyBindings {
		pairs = append(pairs, AVPair{ID: AvChannelBindings, Value: make([]byte, 16)})
	}
	if c.cfg.TargetSPN != "" {
		pairs = append(pairs, AVPair{ID: AvTargetName, Value: utf16le(c.cfg.TargetSPN)})
	}
	for _, p := range pairs {
		if len(p.Value) > 0xffff {
			return nil, fmt.Errorf("ntlm: AV pair %d of %d bytes does not fit", p.ID, len(p.Value))
		}
	}

	temp := ntlmv2Temp(timestamp, clientChallenge, pairs.Marshal())
	proof := ntProofStr(c.responseKey, ch.ServerChallenge[:], temp)
	ntResp := append(proof, temp...)
	var lmResp []byte
	if useMIC {
		lmResp = make([]byte, 24) // MS-NLMP 3.1.5.1.2: Z(24) when MsvAvTimestamp is present
	} else {
		lmResp = lmv2Response(c.responseKey, ch.ServerChallenge[:], clientChallenge)
	}

	keyExchangeKey := sessionBaseKey(c.responseKey, proof)
	defer clear(keyExchangeKey)
	var exported, encrypted []byte
	if flags&NegotiateKeyExch != 0 {
		exported = bytes.Clone(rnd[8:24])
		encrypted = rc4Once(keyExchangeKey, exported)
	} else {
		exported = bytes.Clone(keyExchangeKey)
	}

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
		m.MIC = make([]byte, micSize)
	}
	out, err := m.marshal()
	if err != nil {
		return nil, err
	}
	if useMIC {
		mic := hmacMD5(exported, c.negotiate, challenge, out)
		copy(out[micOffset:], mic)
	}
	c.flags = flags
	c.sessionKey = exported
	return out, nil
}

// singleHost is the Single_Host_Data structure (MS-NLMP 2.2.2.2): its size
// (48), Z4, 8 bytes of CustomData, which the emulation leaves zero, and the
// machine's 32-byte MachineID.
func singleHost(machineID []byte) []byte {
	b := make([]byte, 48)
	b[0] = 48
	copy(b[16:], machineID)
	return b
}

// SessionKey returns a copy of the ExportedSessionKey once Authenticate has
// succeeded, nil before.
func (c *Client) SessionKey() []byte { return bytes.Clone(c.sessionKey) }

// NegotiatedFlags returns the flags sent in the AUTHENTICATE_MESSAGE (0
// before Authenticate succeeded); they select the session security.
func (c *Client) NegotiatedFlags() uint32 { return c.flags }
