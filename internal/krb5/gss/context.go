package gss

import (
	"crypto/md5"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Errors. Every error of this package wraps one of them.
var (
	// ErrMalformed reports a token that cannot be parsed; a mechanism maps
	// it to SEC_E_INVALID_TOKEN.
	ErrMalformed = errors.New("gss: malformed token")
	// ErrModified reports a per-message token that fails its integrity
	// check, or claims a sender or key the context does not have; a
	// mechanism maps it to SEC_E_MESSAGE_ALTERED.
	ErrModified = errors.New("gss: message altered")
	// ErrOutOfSequence reports a genuine per-message token whose sequence
	// number is not the next one expected: replayed, reordered or after a
	// gap; a mechanism maps it to SEC_E_OUT_OF_SEQUENCE.
	ErrOutOfSequence = errors.New("gss: message out of sequence")
)

// Mechanism OIDs.
var (
	// OIDKerberos is the Kerberos V5 GSS-API mechanism (RFC 1964, RFC
	// 4121), which also names the mechanism in the framing of its context
	// tokens.
	OIDKerberos = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	// OIDMSKerberos is the OID under which Windows offers the same
	// mechanism in SPNEGO (MS-KILE 3.1.5.1), a relic of a mis-encoding in
	// Windows 2000. Its context tokens are framed with OIDKerberos.
	OIDMSKerberos = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
)

// TokenID is the two-byte TOK_ID that says what a token carries (RFC 4121
// section 4.1 and 4.2.6), read big-endian.
type TokenID uint16

// Token IDs.
const (
	TokAPReq TokenID = 0x0100 // context token: KRB_AP_REQ
	TokAPRep TokenID = 0x0200 // context token: KRB_AP_REP
	TokError TokenID = 0x0300 // context token: KRB_ERROR
	TokMIC   TokenID = 0x0404 // per-message: MIC token
	TokWrap  TokenID = 0x0504 // per-message: Wrap token
)

// String names the token ID.
func (t TokenID) String() string {
	switch t {
	case TokAPReq:
		return "AP-REQ"
	case TokAPRep:
		return "AP-REP"
	case TokError:
		return "KRB-ERROR"
	case TokMIC:
		return "MIC"
	case TokWrap:
		return "Wrap"
	}
	return fmt.Sprintf("TOK_ID %04x", uint16(t))
}

// MaxTokenSize bounds the context tokens UnframeToken accepts. Windows
// advertises cbMaxToken 48000 for Kerberos (65535 on newer versions); a
// ticket with a large PAC stays well below 64 KiB.
const MaxTokenSize = 64 * 1024

// FrameToken frames a Kerberos message as a context token: the
// [APPLICATION 0] InitialContextToken of RFC 2743 section 3.1 holding
// OIDKerberos, then the token ID and the message (RFC 4121 section 4.1).
func FrameToken(id TokenID, msg []byte) []byte {
	oid := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02} // OIDKerberos in DER
	n := len(oid) + 2 + len(msg)
	b := make([]byte, 0, 6+n)
	b = appendDERLength(append(b, 0x60), n)
	b = append(b, oid...)
	b = binary.BigEndian.AppendUint16(b, uint16(id))
	return append(b, msg...)
}

// appendDERLength appends n as a DER length: one byte below 128, else the
// count of big-endian length bytes with the high bit set, then the bytes.
func appendDERLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], uint64(n))
	i := 0
	for be[i] == 0 {
		i++
	}
	b = append(b, 0x80|byte(8-i))
	return append(b, be[i:]...)
}

// UnframeToken takes a context token apart: it checks the framing and the
// mechanism OID (OIDKerberos, or the OIDMSKerberos alias) and returns the
// token ID and the Kerberos message. The message aliases tok.
func UnframeToken(tok []byte) (TokenID, []byte, error) {
	if len(tok) > MaxTokenSize {
		return 0, nil, fmt.Errorf("%w: context token of %d bytes, more than %d", ErrMalformed, len(tok), MaxTokenSize)
	}
	s := cryptobyte.String(tok)
	var inner cryptobyte.String
	var oid asn1.ObjectIdentifier
	var id uint16
	if !s.ReadASN1(&inner, cbasn1.Tag(0).Constructed()|0x40) || !s.Empty() {
		return 0, nil, fmt.Errorf("%w: not a GSS-API InitialContextToken", ErrMalformed)
	}
	if !inner.ReadASN1ObjectIdentifier(&oid) || !inner.ReadUint16(&id) {
		return 0, nil, fmt.Errorf("%w: truncated context token", ErrMalformed)
	}
	if !oid.Equal(OIDKerberos) && !oid.Equal(OIDMSKerberos) {
		return 0, nil, fmt.Errorf("%w: context token of mechanism %v, not Kerberos", ErrMalformed, oid)
	}
	return TokenID(id), inner, nil
}

// ChecksumType is the checksum type of the authenticator checksum that
// carries GSS-API data (RFC 4121 section 4.1.1).
const ChecksumType = 0x8003

// Flags are the GSS context flags as the authenticator checksum carries
// them (RFC 4121 section 4.1.1.1, RFC 2744), with the additions Windows
// defines (MS-KILE 3.2.5.2).
type Flags uint32

// Context flags.
const (
	FlagDeleg         Flags = 0x0001 // GSS_C_DELEG_FLAG: a credential is delegated
	FlagMutual        Flags = 0x0002 // GSS_C_MUTUAL_FLAG: the acceptor must answer with an AP-REP
	FlagReplay        Flags = 0x0004 // GSS_C_REPLAY_FLAG
	FlagSequence      Flags = 0x0008 // GSS_C_SEQUENCE_FLAG
	FlagConf          Flags = 0x0010 // GSS_C_CONF_FLAG
	FlagInteg         Flags = 0x0020 // GSS_C_INTEG_FLAG
	FlagAnon          Flags = 0x0040 // GSS_C_ANON_FLAG
	FlagDCEStyle      Flags = 0x1000 // GSS_C_DCE_STYLE (Windows)
	FlagIdentify      Flags = 0x2000 // GSS_C_IDENTIFY_FLAG (Windows)
	FlagExtendedError Flags = 0x4000 // GSS_C_EXTENDED_ERROR_FLAG (Windows)
)

// BindingsSize is the length of the channel bindings hash.
const BindingsSize = md5.Size

// AuthChecksum is the content of the 0x8003 authenticator checksum (RFC
// 4121 section 4.1.1): the binding of the context to its channel, the
// flags the initiator asks for, and a delegated credential.
type AuthChecksum struct {
	// Bindings is the MD5 of the channel bindings (ChannelBindingsHash),
	// or zeros for none.
	Bindings [BindingsSize]byte
	Flags    Flags
	// Deleg is the KRB-CRED of a delegated ticket; present when Flags has
	// FlagDeleg (DlgOpt 1).
	Deleg []byte
	// Exts are any bytes after the fields above, kept as they are.
	Exts []byte
}

// Marshal encodes the checksum value: Lgth (16, little-endian like all
// its integers), Bnd, Flags, then DlgOpt, Dlgth and Deleg when a
// credential is delegated, then Exts.
func (c *AuthChecksum) Marshal() []byte {
	b := make([]byte, 0, 24+4+len(c.Deleg)+len(c.Exts))
	b = binary.LittleEndian.AppendUint32(b, BindingsSize)
	b = append(b, c.Bindings[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(c.Flags))
	if c.Flags&FlagDeleg != 0 {
		b = binary.LittleEndian.AppendUint16(b, 1)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(c.Deleg)))
		b = append(b, c.Deleg...)
	}
	return append(b, c.Exts...)
}

// ParseAuthChecksum decodes a 0x8003 checksum value. Lgth must be 16; a
// delegated credential is read when the flags say there is one.
func ParseAuthChecksum(v []byte) (*AuthChecksum, error) {
	if len(v) < 24 {
		return nil, fmt.Errorf("%w: authenticator checksum of %d bytes, at least 24 needed", ErrMalformed, len(v))
	}
	if n := binary.LittleEndian.Uint32(v); n != BindingsSize {
		return nil, fmt.Errorf("%w: channel bindings length %d, want %d", ErrMalformed, n, BindingsSize)
	}
	c := &AuthChecksum{Flags: Flags(binary.LittleEndian.Uint32(v[20:24]))}
	copy(c.Bindings[:], v[4:20])
	rest := v[24:]
	if c.Flags&FlagDeleg != 0 {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: delegation flag without a credential", ErrMalformed)
		}
		opt, n := binary.LittleEndian.Uint16(rest), int(binary.LittleEndian.Uint16(rest[2:]))
		if opt != 1 || len(rest)-4 < n {
			return nil, fmt.Errorf("%w: delegated credential (DlgOpt %d, %d bytes of %d)", ErrMalformed, opt, n, len(rest)-4)
		}
		c.Deleg = append([]byte(nil), rest[4:4+n]...)
		rest = rest[4+n:]
	}
	if len(rest) > 0 {
		c.Exts = append([]byte(nil), rest...)
	}
	return c, nil
}

// ChannelBindingsHash is the MD5 of the gss_channel_bindings_struct of RFC
// 4121 section 4.1.1.2: each address type and the lengths as four
// little-endian bytes, the values after their lengths. SSPI's
// SEC_CHANNEL_BINDINGS reduce to this with their offsets resolved; TLS
// channel bindings are application data alone, with zero address types.
func ChannelBindingsHash(initiatorAddrType uint32, initiatorAddr []byte, acceptorAddrType uint32, acceptorAddr []byte, appData []byte) [BindingsSize]byte {
	h := md5.New()
	var n [4]byte
	put := func(v uint32) {
		binary.LittleEndian.PutUint32(n[:], v)
		h.Write(n[:])
	}
	put(initiatorAddrType)
	put(uint32(len(initiatorAddr)))
	h.Write(initiatorAddr)
	put(acceptorAddrType)
	put(uint32(len(acceptorAddr)))
	h.Write(acceptorAddr)
	put(uint32(len(appData)))
	h.Write(appData)
	var sum [BindingsSize]byte
	h.Sum(sum[:0])
	return sum
}
