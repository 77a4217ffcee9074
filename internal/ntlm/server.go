package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// NetBIOSDomain, NetBIOSComputer, DNSDomain and DNSComputer fill the
	// target name and target info of the CHALLENGE. The target is the
	// domain NetBIOSDomain, unless Standalone is set or NetBIOSDomain is
	// empty.
	NetBIOSDomain, NetBIOSComputer, DNSDomain, DNSComputer string
	// DNSTreeName is the DNS name of the forest, sent as MsvAvDnsTreeName
	// when set. Windows domain controllers send it, members and
	// stand-alone servers do not.
	DNSTreeName string
	// Standalone makes the target the server NetBIOSComputer
	// (NTLMSSP_TARGET_TYPE_SERVER), as a Windows machine that is in no
	// domain says, whose NetBIOS domain is its own name.
	Standalone bool
	// Lookup is the principal directory: it returns the NT hash (NTHash) of
	// the user's password. Domain and user are as the client sent them; case
	// folding is the directory's business.
	Lookup func(domain, user string) (ntHash []byte, ok bool)
	// LookupKey, when set, is used instead of Lookup: it returns
	// ResponseKeyNT, NTOWFv2 of the user's password with user and domain
	// exactly as given, so a directory can keep it per spelling instead
	// of deriving it for every logon.
	LookupKey func(domain, user string) (key ResponseKey, ok bool)
	// Rand supplies the server challenge; nil means crypto/rand.
	Rand io.Reader
	// Now supplies MsvAvTimestamp and the clock for MaxClockSkew; nil means
	// time.Now.
	Now func() time.Time
	// MaxClockSkew, when positive, rejects NTLMv2 responses whose timestamp
	// is further than this from Now (ErrLogonDenied), bounding how long a
	// captured response stays useful. 0 disables the check.
	MaxClockSkew time.Duration
	// Version is the 8-byte VERSION structure sent in the CHALLENGE; nil
	// means Windows 10.
	Version []byte
}

// AuthResult is what a successful Server.Authenticate established.
type AuthResult struct {
	// User, Domain and Workstation are as the client sent them.
	User, Domain, Workstation string
	// Flags are the negotiated flags that select the session security.
	Flags uint32
	// SessionKey is the ExportedSessionKey.
	SessionKey []byte
	// TargetName is the client's MsvAvTargetName (the SPN it meant to
	// reach), empty if absent, for the backend's SPN checks.
	TargetName string
	// ChannelBindings is the client's MsvAvChannelBindings (16-byte MD5), nil
	// if absent, for the backend's SEC_E_BAD_BINDINGS check.
	ChannelBindings []byte
	// MIC reports that the AUTHENTICATE carried a MIC and it verified.
	MIC bool

	key [16]byte // SessionKey's storage
	cb  [16]byte // ChannelBindings' storage when 16 bytes long
}

type serverState int

const (
	serverInitial serverState = iota
	serverChallenged
	serverDone
)

// Server is the acceptor's state machine: Challenge, then Authenticate.
// Each Server handles one handshake and allows one Authenticate attempt, so a
// challenge can never be used for repeated password guesses. It is not safe
// for concurrent use.
type Server struct {
	cfg             ServerConfig
	state           serverState
	negotiate       []byte // inputs of the MIC
	challenge       []byte
	serverChallenge [8]byte
	flags           uint32 // flags offered in the CHALLENGE
	// Storage for negotiate and challenge when they fit, so a handshake
	// does not allocate for them.
	negBuf  [64]byte
	chalBuf [384]byte
}

// NewServer returns a Server for cfg.
func NewServer(cfg ServerConfig) *Server {
	s := new(Server)
	InitServer(s, cfg)
	return s
}

// InitServer is NewServer into *s, for a caller that holds the Server
// inside another allocation.
func InitServer(s *Server, cfg ServerConfig) {
	if cfg.Version == nil {
		cfg.Version = defaultVersion
	}
	*s = Server{cfg: cfg}
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// serverOptional are the client-requested flags the server grants as asked.
// DATAGRAM and LM_KEY are never granted: connectionless mode and NTLMv1 keys
// are not implemented.
const serverOptional = RequestTarget | NegotiateSign | NegotiateSeal | NegotiateAlwaysSign |
	NegotiateExtendedSessionSecurity | NegotiateIdentify | Negotiate128 | Negotiate56 | NegotiateKeyExch

// Challenge parses the NEGOTIATE_MESSAGE and returns the CHALLENGE_MESSAGE,
// whose target info carries the NetBIOS and DNS names and MsvAvTimestamp
// (which obliges an NTLMv2 client to send a MIC).
func (s *Server) Challenge(negotiate []byte) ([]byte, error) {
	if s.state != serverInitial {
		return nil, fmt.Errorf("%w: Challenge called twice", ErrState)
	}
	var neg NegotiateMessage
	if err := neg.parse(negotiate); err != nil {
		return nil, err
	}
	flags := neg.Flags&serverOptional | NegotiateNTLM | NegotiateTargetInfo | NegotiateVersion
	switch {
	case neg.Flags&NegotiateUnicode != 0:
		flags |= NegotiateUnicode
	case neg.Flags&NegotiateOEM != 0:
		flags |= NegotiateOEM
	default:
		return nil, malformed("NEGOTIATE offers neither Unicode nor OEM strings")
	}
	target := s.cfg.NetBIOSComputer
	if s.cfg.NetBIOSDomain != "" && !s.cfg.Standalone {
		target = s.cfg.NetBIOSDomain
		flags |= TargetTypeDomain
	} else {
		flags |= TargetTypeServer
	}
	if _, err := io.ReadFull(s.rand(), s.serverChallenge[:]); err != nil {
		return nil, fmt.Errorf("ntlm: reading random bytes: %w", err)
	}
	// The target info is written in a stack buffer; the pairs point
	// into it.
	var infoBuf [512]byte
	var pairs [6]AVPair
	n, raw := 0, infoBuf[:0]
	add := func(id uint16, s string) {
		start := len(raw)
		raw = appendUTF16LE(raw, s)
		pairs[n] = AVPair{ID: id, Value: raw[start:len(raw):len(raw)]}
		n++
	}
	add(AvNbDomainName, s.cfg.NetBIOSDomain)
	add(AvNbComputerName, s.cfg.NetBIOSComputer)
	if s.cfg.DNSDomain != "" {
		add(AvDNSDomainName, s.cfg.DNSDomain)
	}
	if s.cfg.DNSComputer != "" {
		add(AvDNSComputerName, s.cfg.DNSComputer)
	}
	if s.cfg.DNSTreeName != "" {
		add(AvDNSTreeName, s.cfg.DNSTreeName)
	}
	var ts [8]byte
	binary.LittleEndian.PutUint64(ts[:], fileTime(s.now()))
	pairs[n] = AVPair{ID: AvTimestamp, Value: ts[:]}
	info := pairs[:n+1]
	m := ChallengeMessage{
		Flags:           flags,
		ServerChallenge: s.serverChallenge,
		TargetInfo:      info,
		Version:         s.cfg.Version,
	}
	if flags&RequestTarget != 0 {
		m.TargetName = target
	}
	b, err := m.marshalInto(s.chalBuf[:0])
	if err != nil {
		return nil, err
	}
	if len(negotiate) <= len(s.negBuf) {
		s.negotiate = append(s.negBuf[:0], negotiate...)
	} else {
		s.negotiate = bytes.Clone(negotiate)
	}
	s.challenge = b
	s.flags = flags
	s.state = serverChallenged
	return bytes.Clone(b), nil
}

func (s *Server) rand() io.Reader {
	if s.cfg.Rand != nil {
		return s.cfg.Rand
	}
	return rand.Reader
}

// dummyHash stands in for the NT hash of an unknown user, so that unknown
// users cost the same work as wrong passwords and cannot be told apart by
// timing.
var dummyHash = make([]byte, 16)

var zeroMIC [micSize]byte

// Authenticate verifies the AUTHENTICATE_MESSAGE (MS-NLMP 3.2.5.1.2) and
// returns the authenticated identity and session key.
//
// Errors: ErrMalformed for unparsable tokens or non-NTLMv2 responses;
// ErrLogonDenied for an unknown user, a wrong NTProofStr, clock skew, and a
// missing or wrong MIC. A bad MIC is reported as a logon failure rather than
// ErrMessageAltered because, like Windows, the server cannot tell a forged
// MIC from a client that used a different password-derived key, and
// SEC_E_LOGON_DENIED is what Windows returns for it. The Server is spent
// after one call, whatever the outcome.
func (s *Server) Authenticate(auth []byte) (*AuthResult, error) {
	if s.state != serverChallenged {
		return nil, fmt.Errorf("%w: Authenticate needs a prior Challenge and may be called once", ErrState)
	}
	s.state = serverDone
	var m AuthenticateMessage
	if err := m.parse(auth); err != nil {
		return nil, err
	}
	if len(m.NtChallengeResponse) == 0 {
		return nil, fmt.Errorf("%w: anonymous logon is not supported", ErrLogonDenied)
	}
	if len(m.NtChallengeResponse) < 16+28 {
		return nil, malformed("NtChallengeResponse of %d bytes is not an NTLMv2 response", len(m.NtChallengeResponse))
	}
	proof, temp := m.NtChallengeResponse[:16], m.NtChallengeResponse[16:]
	if temp[0] != 1 || temp[1] != 1 {
		return nil, malformed("NTLMv2 client challenge version %d.%d, want 1.1", temp[0], temp[1])
	}
	var pairBuf [16]AVPair
	pairs, err := parseAVPairs(pairBuf[:0], temp[28:])
	if err != nil {
		return nil, err
	}
	flags := m.Flags & s.flags
	if flags&NegotiateKeyExch != 0 && len(m.EncryptedRandomSessionKey) != 16 {
		return nil, malformed("EncryptedRandomSessionKey of %d bytes, want 16", len(m.EncryptedRandomSessionKey))
	}
	var avFlags uint32
	if v, ok := pairs.Get(AvFlags); ok {
		if len(v) != 4 {
			return nil, malformed("MsvAvFlags of %d bytes", len(v))
		}
		avFlags = binary.LittleEndian.Uint32(v)
	}

	responseKey, known := s.responseKey(m.Domain, m.User)
	defer responseKey.Wipe()
	want := responseKey.pads.sum(s.serverChallenge[:], temp) // NTProofStr
	if !hmac.Equal(want[:], proof) || !known {
		if !known {
			return nil, fmt.Errorf("%w: unknown user %q in domain %q", ErrLogonDenied, m.User, m.Domain)
		}
		return nil, fmt.Errorf("%w: wrong password for %q in domain %q", ErrLogonDenied, m.User, m.Domain)
	}
	if s.cfg.MaxClockSkew > 0 {
		t := timeFromFileTime(binary.LittleEndian.Uint64(temp[8:16]))
		if d := s.now().Sub(t); d > s.cfg.MaxClockSkew || d < -s.cfg.MaxClockSkew {
			return nil, fmt.Errorf("%w: NTLMv2 timestamp %v is %v off", ErrLogonDenied, t, d)
		}
	}

	keyExchangeKey := responseKey.pads.sum(proof) // SessionBaseKey, which NTLMv2 uses as KeyExchangeKey
	defer clear(keyExchangeKey[:])
	res := &AuthResult{
		User:        m.User,
		Domain:      m.Domain,
		Workstation: m.Workstation,
		Flags:       flags,
	}
	if flags&NegotiateKeyExch != 0 {
		rc4OnceTo(res.key[:], keyExchangeKey[:], m.EncryptedRandomSessionKey)
	} else {
		res.key = keyExchangeKey
	}
	exported := res.key[:]
	res.SessionKey = exported
	if avFlags&AvFlagMICPresent != 0 {
		if m.MICOffset == 0 {
			clear(exported)
			return nil, fmt.Errorf("%w: MsvAvFlags announces a MIC but the message has none", ErrLogonDenied)
		}
		mic := hmacMD5Sum(exported, s.negotiate, s.challenge, auth[:m.MICOffset], zeroMIC[:], auth[m.MICOffset+micSize:])
		if !hmac.Equal(mic[:], m.MIC) {
			clear(exported)
			return nil, fmt.Errorf("%w: MIC does not verify", ErrLogonDenied)
		}
		res.MIC = true
	}
	if v, ok := pairs.Get(AvTargetName); ok {
		if res.TargetName, ok = fromUTF16LE(v); !ok {
			return nil, malformed("MsvAvTargetName has odd length %d", len(v))
		}
	}
	if v, ok := pairs.Get(AvChannelBindings); ok {
		if len(v) == len(res.cb) {
			copy(res.cb[:], v)
			res.ChannelBindings = res.cb[:]
		} else {
			res.ChannelBindings = bytes.Clone(v)
		}
	}
	return res, nil
}

// responseKey is ResponseKeyNT for the user as the client named it, and
// whether the directory knows the user. An unknown user gets a key from a
// dummy hash, so that answering costs the same as for a known one.
func (s *Server) responseKey(domain, user string) (ResponseKey, bool) {
	if s.cfg.LookupKey != nil {
		if k, ok := s.cfg.LookupKey(domain, user); ok {
			return k, true
		}
	} else if s.cfg.Lookup != nil {
		if h, ok := s.cfg.Lookup(domain, user); ok && len(h) == 16 {
			return ResponseKeyFromHash(h, user, domain), true
		}
	}
	return ResponseKeyFromHash(dummyHash, user, domain), false
}
