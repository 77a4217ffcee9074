package ntlm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Fixed header sizes of the three messages (MS-NLMP 2.2.1). The "min" sizes
// are the smallest headers a peer may send (no VERSION, no MIC); payload
// fields may not point into them.
const (
	negotiateMinHeader    = 32
	negotiateHeader       = 40 // with VERSION
	challengeMinHeader    = 48
	challengeHeader       = 56 // with VERSION
	authenticateMinHeader = 64
	authenticateHeader    = 72 // with VERSION
	authenticateMICHeader = 88 // with VERSION and MIC
	micOffset             = 72
	micSize               = 16
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// IsMessage reports whether b begins like an NTLMSSP message: the
// "NTLMSSP\0" signature and room for a message type. It only dispatches
// (a Negotiate acceptor takes such a token as raw NTLM, not SPNEGO); the
// message may still fail to parse.
func IsMessage(b []byte) bool {
	return len(b) >= 12 && bytes.Equal(b[:8], signature[:])
}

// checkHeader validates size, signature and message type.
func checkHeader(b []byte, msgType uint32, minLen int) error {
	if len(b) > MaxTokenSize {
		return malformed("token of %d bytes exceeds %d", len(b), MaxTokenSize)
	}
	if len(b) < minLen {
		return malformed("token of %d bytes is shorter than the %d-byte header", len(b), minLen)
	}
	if !bytes.Equal(b[:8], signature[:]) {
		return malformed("bad signature")
	}
	if t := binary.LittleEndian.Uint32(b[8:12]); t != msgType {
		return malformed("message type %d, want %d", t, msgType)
	}
	return nil
}

// field reads a (Len, MaxLen, Offset) descriptor at b[at:] and returns the
// payload it points to, inside b: the exported parsers copy what they
// keep, the handshake's own parsing does not. Empty fields may carry any
// offset. The arithmetic is done in uint64 so a hostile offset cannot wrap
// around.
func field(b []byte, at, minOffset int, name string) ([]byte, int, error) {
	n := uint64(binary.LittleEndian.Uint16(b[at:]))
	off := uint64(binary.LittleEndian.Uint32(b[at+4:]))
	if n == 0 {
		return nil, -1, nil
	}
	if off < uint64(minOffset) {
		return nil, 0, malformed("%s at offset %d overlaps the header", name, off)
	}
	if off+n > uint64(len(b)) {
		return nil, 0, malformed("%s (offset %d, length %d) runs past the %d-byte token", name, off, n, len(b))
	}
	return b[off : off+n : off+n], int(off), nil
}

// writer lays out a message: a fixed header followed by the payload, with
// descriptors patched in as payload fields are appended.
type writer struct {
	buf []byte
	err error
}

func newWriter(msgType uint32, header, payload int) writer {
	return newWriterInto(nil, msgType, header, payload)
}

// newWriterInto is newWriter building in dst's storage when it has room
// (a buffer a Client or Server keeps), in a new one otherwise.
func newWriterInto(dst []byte, msgType uint32, header, payload int) writer {
	var w writer
	if cap(dst) >= header+payload {
		w.buf = dst[:header]
		clear(w.buf)
	} else {
		w.buf = make([]byte, header, header+payload)
	}
	copy(w.buf, signature[:])
	binary.LittleEndian.PutUint32(w.buf[8:], msgType)
	return w
}

// fits reports whether a payload field of n bytes can be described,
// recording the error otherwise.
func (w *writer) fits(n int) bool {
	if n > 0xffff {
		if w.err == nil {
			w.err = fmt.Errorf("ntlm: field of %d bytes does not fit in 16 bits", n)
		}
		return false
	}
	return true
}

// describe writes the descriptor of a payload field of n bytes that is
// about to be appended.
func (w *writer) describe(at, n int) {
	binary.LittleEndian.PutUint16(w.buf[at:], uint16(n))
	binary.LittleEndian.PutUint16(w.buf[at+2:], uint16(n))
	binary.LittleEndian.PutUint32(w.buf[at+4:], uint32(len(w.buf)))
}

// payloadString is payload of s, UTF-16LE with unicode and OEM (Latin-1)
// otherwise, without an intermediate slice.
func (w *writer) payloadString(at int, s string, unicode bool) {
	n := stringLen(s, unicode)
	if !w.fits(n) {
		return
	}
	w.describe(at, n)
	if unicode {
		w.buf = appendUTF16LE(w.buf, s)
	} else {
		w.buf = appendOEM(w.buf, s)
	}
}

// payloadAVPairs is payload(at, p.Marshal()) without the intermediate
// slice.
func (w *writer) payloadAVPairs(at int, p AVPairs) {
	n := p.marshalLen()
	if !w.fits(n) {
		return
	}
	w.describe(at, n)
	w.buf = p.appendTo(w.buf)
}

// payload appends data and writes its descriptor at header offset at.
func (w *writer) payload(at int, data []byte) {
	if !w.fits(len(data)) {
		return
	}
	w.describe(at, len(data))
	w.buf = append(w.buf, data...)
}

func (w *writer) bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if len(w.buf) > MaxTokenSize {
		return nil, fmt.Errorf("ntlm: message of %d bytes exceeds %d", len(w.buf), MaxTokenSize)
	}
	return w.buf, nil
}

// putVersion writes an 8-byte VERSION, padding or cutting v as needed.
func putVersion(dst, v []byte) {
	clear(dst[:8])
	copy(dst[:8], v)
}

// stringLen is the length of s encoded as payloadString does.
func stringLen(s string, unicode bool) int {
	if unicode {
		return utf16Len(s)
	}
	return utf8.RuneCountInString(s)
}

func decodeString(b []byte, unicode bool, name string) (string, error) {
	if !unicode {
		return oemString(b), nil
	}
	s, ok := fromUTF16LE(b)
	if !ok {
		return "", malformed("%s has odd UTF-16 length %d", name, len(b))
	}
	return s, nil
}

// NegotiateMessage is the NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1), the client's
// first token.
type NegotiateMessage struct {
	Flags uint32
	// Domain and Workstation are OEM strings, meaningful only with the
	// NTLMSSP_NEGOTIATE_OEM_*_SUPPLIED flags; Windows clients send neither.
	Domain, Workstation string
	// Version is the 8-byte VERSION structure, or nil.
	Version []byte
}

// Marshal encodes the message. The VERSION field is written when Version is
// set or NTLMSSP_NEGOTIATE_VERSION is in Flags. It returns nil only if a
// field is too long to encode (over 65535 bytes).
func (m *NegotiateMessage) Marshal() []byte {
	b, _ := m.marshal()
	return b
}

func (m *NegotiateMessage) marshal() ([]byte, error) {
	return m.marshalInto(nil)
}

// marshalInto is marshal building in dst's storage if it has room.
func (m *NegotiateMessage) marshalInto(dst []byte) ([]byte, error) {
	header := negotiateMinHeader
	if m.Version != nil || m.Flags&NegotiateVersion != 0 {
		header = negotiateHeader
	}
	w := newWriterInto(dst, typeNegotiate, header, stringLen(m.Domain, false)+stringLen(m.Workstation, false))
	binary.LittleEndian.PutUint32(w.buf[12:], m.Flags)
	if header == negotiateHeader {
		putVersion(w.buf[32:], m.Version)
	}
	// Windows leaves the descriptor of an absent domain or workstation
	// all zero, offset included, so a Windows NEGOTIATE re-marshals to
	// its own bytes.
	if m.Domain != "" {
		w.payloadString(16, m.Domain, false)
	}
	if m.Workstation != "" {
		w.payloadString(24, m.Workstation, false)
	}
	return w.bytes()
}

// ParseNegotiate decodes a NEGOTIATE_MESSAGE.
func ParseNegotiate(b []byte) (*NegotiateMessage, error) {
	m := new(NegotiateMessage)
	if err := m.parse(b); err != nil {
		return nil, err
	}
	m.Version = bytes.Clone(m.Version)
	return m, nil
}

// parse is ParseNegotiate leaving Version inside b.
func (m *NegotiateMessage) parse(b []byte) error {
	if err := checkHeader(b, typeNegotiate, negotiateMinHeader); err != nil {
		return err
	}
	*m = NegotiateMessage{Flags: binary.LittleEndian.Uint32(b[12:])}
	dom, domOff, err := field(b, 16, negotiateMinHeader, "DomainName")
	if err != nil {
		return err
	}
	ws, wsOff, err := field(b, 24, negotiateMinHeader, "Workstation")
	if err != nil {
		return err
	}
	m.Domain, m.Workstation = oemString(dom), oemString(ws)
	end := headerEnd(len(b), domOff, wsOff)
	if m.Flags&NegotiateVersion != 0 && end >= negotiateHeader {
		m.Version = b[32:40:40]
	}
	return nil
}

// headerEnd is where the fixed part of a message ends: the lowest offset of
// a non-empty payload field, or the token length when there is none. It
// decides whether the optional VERSION and MIC fields are present, as
// Windows does.
func headerEnd(n int, offsets ...int) int {
	end := n
	for _, o := range offsets {
		if o >= 0 && o < end {
			end = o
		}
	}
	return end
}

// AVPair is one AV_PAIR (MS-NLMP 2.2.2.1) of the target information.
type AVPair struct {
	ID    uint16
	Value []byte
}

// AVPairs is a list of AV pairs without the terminating MsvAvEOL, which
// Marshal adds and ParseAVPairs strips.
type AVPairs []AVPair

// Get returns the value of the first pair with the given ID.
func (p AVPairs) Get(id uint16) ([]byte, bool) {
	for _, a := range p {
		if a.ID == id {
			return a.Value, true
		}
	}
	return nil, false
}

// Marshal encodes the pairs followed by MsvAvEOL. Any MsvAvEOL in the list
// is skipped, since it would end the list early. Values longer than 65535
// bytes cannot be encoded and are truncated to keep Marshal total; callers
// building messages check sizes beforehand.
func (p AVPairs) Marshal() []byte {
	return p.appendTo(make([]byte, 0, p.marshalLen()))
}

// marshalLen is len(p.Marshal()).
func (p AVPairs) marshalLen() int {
	n := 4
	for _, a := range p {
		if a.ID != AvEOL {
			n += 4 + min(len(a.Value), 0xffff)
		}
	}
	return n
}

// appendTo appends p.Marshal() to b.
func (p AVPairs) appendTo(b []byte) []byte {
	for _, a := range p {
		if a.ID == AvEOL {
			continue
		}
		v := a.Value
		if len(v) > 0xffff {
			v = v[:0xffff]
		}
		b = binary.LittleEndian.AppendUint16(b, a.ID)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	return append(b, 0, 0, 0, 0)
}

// ParseAVPairs decodes an AV pair list. The list must end with MsvAvEOL;
// bytes after it are ignored, because the NTLMv2 client challenge carries
// padding there.
func ParseAVPairs(b []byte) (AVPairs, error) {
	p, err := parseAVPairs(nil, b)
	if err != nil {
		return nil, err
	}
	for i := range p {
		p[i].Value = bytes.Clone(p[i].Value)
	}
	return p, nil
}

// parseAVPairs is ParseAVPairs appending to p, with values inside b.
func parseAVPairs(p AVPairs, b []byte) (AVPairs, error) {
	if len(b) > MaxTokenSize {
		return nil, malformed("AV pair list of %d bytes exceeds %d", len(b), MaxTokenSize)
	}
	for i := 0; ; {
		if len(b)-i < 4 {
			return nil, malformed("AV pair list not terminated by MsvAvEOL")
		}
		id := binary.LittleEndian.Uint16(b[i:])
		n := int(binary.LittleEndian.Uint16(b[i+2:]))
		i += 4
		if id == AvEOL {
			return p, nil
		}
		if len(b)-i < n {
			return nil, malformed("AV pair %d of length %d runs past the list", id, n)
		}
		p = append(p, AVPair{ID: id, Value: b[i : i+n : i+n]})
		i += n
	}
}

// ChallengeMessage is the CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2), the server's
// token.
type ChallengeMessage struct {
	Flags uint32
	// TargetName is UTF-16LE on the wire with NTLMSSP_NEGOTIATE_UNICODE,
	// OEM otherwise.
	TargetName      string
	ServerChallenge [8]byte
	TargetInfo      AVPairs
	// Version is the 8-byte VERSION structure, or nil.
	Version []byte
}

// Marshal encodes the message. The VERSION field is written when Version is
// set or NTLMSSP_NEGOTIATE_VERSION is in Flags; TargetInfo is written when
// non-empty or NTLMSSP_NEGOTIATE_TARGET_INFO is set. It returns nil only if
// a field is too long to encode.
func (m *ChallengeMessage) Marshal() []byte {
	b, _ := m.marshal()
	return b
}

func (m *ChallengeMessage) marshal() ([]byte, error) {
	return m.marshalInto(nil)
}

// marshalInto is marshal building in dst's storage if it has room.
func (m *ChallengeMessage) marshalInto(dst []byte) ([]byte, error) {
	header := challengeMinHeader
	if m.Version != nil || m.Flags&NegotiateVersion != 0 {
		header = challengeHeader
	}
	uni := m.Flags&NegotiateUnicode != 0
	withInfo := len(m.TargetInfo) > 0 || m.Flags&NegotiateTargetInfo != 0
	infoLen := 0
	if withInfo {
		for _, a := range m.TargetInfo {
			if len(a.Value) > 0xffff {
				return nil, fmt.Errorf("ntlm: AV pair %d of %d bytes does not fit", a.ID, len(a.Value))
			}
		}
		infoLen = m.TargetInfo.marshalLen()
	}
	w := newWriterInto(dst, typeChallenge, header, stringLen(m.TargetName, uni)+infoLen)
	binary.LittleEndian.PutUint32(w.buf[20:], m.Flags)
	copy(w.buf[24:32], m.ServerChallenge[:])
	if header == challengeHeader {
		putVersion(w.buf[48:], m.Version)
	}
	w.payloadString(12, m.TargetName, uni)
	if withInfo {
		w.payloadAVPairs(40, m.TargetInfo)
	} else {
		w.payload(40, nil)
	}
	return w.bytes()
}

// ParseChallenge decodes a CHALLENGE_MESSAGE.
func ParseChallenge(b []byte) (*ChallengeMessage, error) {
	v, err := parseChallenge(b, nil, true)
	if err != nil {
		return nil, err
	}
	m := &v
	for i := range m.TargetInfo {
		m.TargetInfo[i].Value = bytes.Clone(m.TargetInfo[i].Value)
	}
	m.Version = bytes.Clone(m.Version)
	return m, nil
}

// parseChallenge is ParseChallenge leaving Version and the AV pair values inside
// b and appending the pairs to info. It returns the message by value so
// that info may be a caller's stack array. Without decodeName, TargetName is
// checked but left empty.
func parseChallenge(b []byte, info AVPairs, decodeName bool) (ChallengeMessage, error) {
	if err := checkHeader(b, typeChallenge, challengeMinHeader); err != nil {
		return ChallengeMessage{}, err
	}
	m := ChallengeMessage{Flags: binary.LittleEndian.Uint32(b[20:])}
	copy(m.ServerChallenge[:], b[24:32])
	name, nameOff, err := field(b, 12, challengeMinHeader, "TargetName")
	if err != nil {
		return ChallengeMessage{}, err
	}
	uni := m.Flags&NegotiateUnicode != 0
	switch {
	case decodeName:
		if m.TargetName, err = decodeString(name, uni, "TargetName"); err != nil {
			return ChallengeMessage{}, err
		}
	case uni && len(name)%2 != 0:
		return ChallengeMessage{}, malformed("%s has odd UTF-16 length %d", "TargetName", len(name))
	}
	raw, infoOff, err := field(b, 40, challengeMinHeader, "TargetInfo")
	if err != nil {
		return ChallengeMessage{}, err
	}
	if len(raw) > 0 {
		if m.TargetInfo, err = parseAVPairs(info, raw); err != nil {
			return ChallengeMessage{}, err
		}
	}
	end := headerEnd(len(b), nameOff, infoOff)
	if m.Flags&NegotiateVersion != 0 && end >= challengeHeader {
		m.Version = b[48:56:56]
	}
	return m, nil
}

// AuthenticateMessage is the AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3), the
// client's last token.
type AuthenticateMessage struct {
	LmChallengeResponse, NtChallengeResponse []byte
	// Domain, User and Workstation are UTF-16LE on the wire with
	// NTLMSSP_NEGOTIATE_UNICODE, OEM otherwise.
	Domain, User, Workstation string
	EncryptedRandomSessionKey []byte
	Flags                     uint32
	// Version is the 8-byte VERSION structure, or nil.
	Version []byte
	// MIC is the 16-byte message integrity code, or nil when absent.
	MIC []byte
	// MICOffset is where ParseAuthenticate found the MIC in its input, 0 when
	// absent. A verifier zeroes those 16 bytes before recomputing the MIC.
	// Marshal ignores it: the MIC is always at offset 72 when written.
	MICOffset int
}

// Marshal encodes the message. Payload order matches Windows (domain, user,
// workstation, LM, NT, session key) so the MS-NLMP examples round-trip byte
// for byte. The header has room for the MIC when MIC is non-nil and for the
// VERSION when Version is set, MIC is set, or NTLMSSP_NEGOTIATE_VERSION is
// in Flags. It returns nil only if a field is too long to encode.
func (m *AuthenticateMessage) Marshal() []byte {
	b, _ := m.marshal()
	return b
}

func (m *AuthenticateMessage) marshal() ([]byte, error) {
	header := authenticateMinHeader
	if m.Version != nil || m.Flags&NegotiateVersion != 0 {
		header = authenticateHeader
	}
	if m.MIC != nil {
		header = authenticateMICHeader
	}
	uni := m.Flags&NegotiateUnicode != 0
	w := newWriter(typeAuthenticate, header, stringLen(m.Domain, uni)+stringLen(m.User, uni)+stringLen(m.Workstation, uni)+
		len(m.LmChallengeResponse)+len(m.NtChallengeResponse)+len(m.EncryptedRandomSessionKey))
	binary.LittleEndian.PutUint32(w.buf[60:], m.Flags)
	if header >= authenticateHeader {
		putVersion(w.buf[64:], m.Version)
	}
	if m.MIC != nil {
		copy(w.buf[micOffset:micOffset+micSize], m.MIC)
	}
	w.payloadString(28, m.Domain, uni)
	w.payloadString(36, m.User, uni)
	w.payloadString(44, m.Workstation, uni)
	w.payload(12, m.LmChallengeResponse)
	w.payload(20, m.NtChallengeResponse)
	w.payload(52, m.EncryptedRandomSessionKey)
	return w.bytes()
}

// ParseAuthenticate decodes an AUTHENTICATE_MESSAGE. VERSION and MIC are
// recognised by the room the payload leaves for them: the MIC is present
// when no payload field starts before offset 88 (MS-NLMP defines no other
// marker; the MsvAvFlags bit in the NTLMv2 response says whether it must be
// checked).
func ParseAuthenticate(b []byte) (*AuthenticateMessage, error) {
	m := new(AuthenticateMessage)
	if err := m.parse(b); err != nil {
		return nil, err
	}
	m.LmChallengeResponse = bytes.Clone(m.LmChallengeResponse)
	m.NtChallengeResponse = bytes.Clone(m.NtChallengeResponse)
	m.EncryptedRandomSessionKey = bytes.Clone(m.EncryptedRandomSessionKey)
	m.Version = bytes.Clone(m.Version)
	m.MIC = bytes.Clone(m.MIC)
	return m, nil
}

// parse is ParseAuthenticate leaving the byte fields inside b.
func (m *AuthenticateMessage) parse(b []byte) error {
	if err := checkHeader(b, typeAuthenticate, authenticateMinHeader); err != nil {
		return err
	}
	*m = AuthenticateMessage{Flags: binary.LittleEndian.Uint32(b[60:])}
	var offs [6]int
	var err error
	if m.LmChallengeResponse, offs[0], err = field(b, 12, authenticateMinHeader, "LmChallengeResponse"); err != nil {
		return err
	}
	if m.NtChallengeResponse, offs[1], err = field(b, 20, authenticateMinHeader, "NtChallengeResponse"); err != nil {
		return err
	}
	var dom, user, ws []byte
	if dom, offs[2], err = field(b, 28, authenticateMinHeader, "DomainName"); err != nil {
		return err
	}
	if user, offs[3], err = field(b, 36, authenticateMinHeader, "UserName"); err != nil {
		return err
	}
	if ws, offs[4], err = field(b, 44, authenticateMinHeader, "Workstation"); err != nil {
		return err
	}
	if m.EncryptedRandomSessionKey, offs[5], err = field(b, 52, authenticateMinHeader, "EncryptedRandomSessionKey"); err != nil {
		return err
	}
	uni := m.Flags&NegotiateUnicode != 0
	if m.Domain, err = decodeString(dom, uni, "DomainName"); err != nil {
		return err
	}
	if m.User, err = decodeString(user, uni, "UserName"); err != nil {
		return err
	}
	if m.Workstation, err = decodeString(ws, uni, "Workstation"); err != nil {
		return err
	}
	end := headerEnd(len(b), offs[:]...)
	if m.Flags&NegotiateVersion != 0 && end >= authenticateHeader {
		m.Version = b[64:72:72]
	}
	if end >= authenticateMICHeader {
		m.MIC = b[micOffset : micOffset+micSize : micOffset+micSize]
		m.MICOffset = micOffset
	}
	return nil
}
