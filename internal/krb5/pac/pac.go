package pac

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
)

// Errors. Every error of this package wraps one of them.
var (
	// ErrMalformed reports a PAC or buffer that cannot be decoded.
	ErrMalformed = errors.New("pac: malformed PAC")
	// ErrSignature reports a PAC signature that is missing or does not
	// verify: the PAC was altered, or the key is not the signer's.
	ErrSignature = errors.New("pac: bad PAC signature")
)

// BufferType is the ulType of a PAC_INFO_BUFFER (MS-PAC 2.4).
type BufferType uint32

// Buffer types.
const (
	TypeLogonInfo       BufferType = 0x01 // KERB_VALIDATION_INFO
	TypeCredentials     BufferType = 0x02 // PAC_CREDENTIAL_INFO
	TypeServerChecksum  BufferType = 0x06 // PAC_SIGNATURE_DATA of the server
	TypeKDCChecksum     BufferType = 0x07 // PAC_SIGNATURE_DATA of the KDC
	TypeClientInfo      BufferType = 0x0a // PAC_CLIENT_INFO
	TypeDelegationInfo  BufferType = 0x0b // S4U_DELEGATION_INFO
	TypeUPNDNSInfo      BufferType = 0x0c // UPN_DNS_INFO
	TypeClientClaims    BufferType = 0x0d // PAC_CLIENT_CLAIMS_INFO
	TypeDeviceInfo      BufferType = 0x0e // PAC_DEVICE_INFO
	TypeDeviceClaims    BufferType = 0x0f // PAC_DEVICE_CLAIMS_INFO
	TypeTicketChecksum  BufferType = 0x10 // PAC_SIGNATURE_DATA over the ticket
	TypeAttributes      BufferType = 0x11 // PAC_ATTRIBUTES_INFO
	TypeRequestor       BufferType = 0x12 // PAC_REQUESTOR
	TypeFullPACChecksum BufferType = 0x13 // extended KDC PAC_SIGNATURE_DATA
)

// Buffer is one PAC_INFO_BUFFER and its data.
type Buffer struct {
	Type BufferType
	Data []byte
}

// PAC is a PACTYPE (MS-PAC 2.3): a list of buffers. A PAC from Parse
// remembers the bytes it came from, which its signatures are over.
type PAC struct {
	Buffers []Buffer
	raw     []byte
	offsets []int // of each buffer's data in raw
}

// MaxBuffers bounds the number of buffers Parse accepts; Windows PACs
// have about ten.
const MaxBuffers = 64

// Parse decodes a PACTYPE: its buffers must lie within the PAC, start at
// multiples of 8, and not overlap its header.
func Parse(b []byte) (*PAC, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if v := binary.LittleEndian.Uint32(b[4:]); v != 0 {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, v)
	}
	if n > MaxBuffers || 8+16*int(n) > len(b) {
		return nil, fmt.Errorf("%w: %d buffers in %d bytes", ErrMalformed, n, len(b))
	}
	p := &PAC{raw: append([]byte(nil), b...), Buffers: make([]Buffer, 0, n), offsets: make([]int, 0, n)}
	hdr := 8 + 16*int(n)
	for i := 0; i < int(n); i++ {
		e := b[8+16*i:]
		t := BufferType(binary.LittleEndian.Uint32(e))
		size := uint64(binary.LittleEndian.Uint32(e[4:]))
		off := binary.LittleEndian.Uint64(e[8:])
		if off%8 != 0 || off < uint64(hdr) || off > uint64(len(b)) || size > uint64(len(b))-off {
			return nil, fmt.Errorf("%w: buffer %d (type %#x) at %d, %d bytes, in a PAC of %d", ErrMalformed, i, t, off, size, len(b))
		}
		// The buffers alias the PAC's own copy of the bytes.
		p.Buffers = append(p.Buffers, Buffer{Type: t, Data: p.raw[off : off+size : off+size]})
		p.offsets = append(p.offsets, int(off))
	}
	return p, nil
}

// Marshal encodes the PAC: the header, then each buffer at the next
// multiple of 8, with zero padding.
func (p *PAC) Marshal() []byte {
	hdr := align8(8 + 16*len(p.Buffers))
	size := hdr
	for _, buf := range p.Buffers {
		size = align8(size + len(buf.Data))
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, uint32(len(p.Buffers)))
	off := hdr
	for i, buf := range p.Buffers {
		e := b[8+16*i:]
		binary.LittleEndian.PutUint32(e, uint32(buf.Type))
		binary.LittleEndian.PutUint32(e[4:], uint32(len(buf.Data)))
		binary.LittleEndian.PutUint64(e[8:], uint64(off))
		copy(b[off:], buf.Data)
		off = align8(off + len(buf.Data))
	}
	return b
}

func align8(n int) int { return (n + 7) &^ 7 }

// Find returns the data of the first buffer of type t.
func (p *PAC) Find(t BufferType) ([]byte, bool) {
	for _, b := range p.Buffers {
		if b.Type == t {
			return b.Data, true
		}
	}
	return nil, false
}

// Set replaces the data of the first buffer of type t, or adds one.
func (p *PAC) Set(t BufferType, data []byte) {
	p.raw, p.offsets = nil, nil
	for i := range p.Buffers {
		if p.Buffers[i].Type == t {
			p.Buffers[i].Data = data
			return
		}
	}
	p.Buffers = append(p.Buffers, Buffer{Type: t, Data: data})
}

// LogonInfo decodes the logon information buffer.
func (p *PAC) LogonInfo() (*LogonInfo, error) {
	b, ok := p.Find(TypeLogonInfo)
	if !ok {
		return nil, fmt.Errorf("%w: no logon information", ErrMalformed)
	}
	return ParseLogonInfo(b)
}

// ClientInfo decodes the client information buffer.
func (p *PAC) ClientInfo() (*ClientInfo, error) {
	b, ok := p.Find(TypeClientInfo)
	if !ok {
		return nil, fmt.Errorf("%w: no client information", ErrMalformed)
	}
	return ParseClientInfo(b)
}

// ClientInfo is PAC_CLIENT_INFO (MS-PAC 2.7): the client's name, without
// realm, and the authentication time of its TGT, for a service to check
// against the ticket.
type ClientInfo struct {
	ClientID FileTime
	Name     string
}

// Marshal encodes the structure.
func (c *ClientInfo) Marshal() []byte {
	u := utf16.Encode([]rune(c.Name))
	b := binary.LittleEndian.AppendUint64(make([]byte, 0, 10+2*len(u)), uint64(c.ClientID))
	b = binary.LittleEndian.AppendUint16(b, uint16(2*len(u)))
	for _, v := range u {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

// ParseClientInfo decodes PAC_CLIENT_INFO.
func ParseClientInfo(b []byte) (*ClientInfo, error) {
	if len(b) < 10 {
		return nil, fmt.Errorf("%w: client information of %d bytes", ErrMalformed, len(b))
	}
	n := int(binary.LittleEndian.Uint16(b[8:]))
	if n%2 != 0 || len(b) != 10+n {
		return nil, fmt.Errorf("%w: client name of %d bytes in %d", ErrMalformed, n, len(b)-10)
	}
	name, err := decodeUTF16(b[10:])
	if err != nil {
		return nil, err
	}
	return &ClientInfo{ClientID: FileTime(binary.LittleEndian.Uint64(b)), Name: name}, nil
}

func decodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("%w: odd UTF-16 length %d", ErrMalformed, len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// UPN_DNS_INFO flags (MS-PAC 2.10).
const (
	UPNConstructed = 0x1 // U: the account has no userPrincipalName; UPN was made up
	UPNExtended    = 0x2 // S: SamName and Sid follow
)

// UPNDNSInfo is UPN_DNS_INFO (MS-PAC 2.10).
type UPNDNSInfo struct {
	UPN, DNSDomainName string
	Flags              uint32
	// SAMName and SID are present when Flags has UPNExtended.
	SAMName string
	SID     *SID
}

// Marshal encodes the structure: the fixed part, then each string (and
// the SID) at the next multiple of 8, as Windows lays it out.
func (u *UPNDNSInfo) Marshal() []byte {
	fixed := 12
	if u.Flags&UPNExtended != 0 {
		fixed = 20
	}
	b := make([]byte, fixed)
	put := func(lenAt int, data []byte) {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		binary.LittleEndian.PutUint16(b[lenAt:], uint16(len(data)))
		binary.LittleEndian.PutUint16(b[lenAt+2:], uint16(len(b)))
		b = append(b, data...)
	}
	put(0, utf16Bytes(u.UPN))
	put(4, utf16Bytes(u.DNSDomainName))
	binary.LittleEndian.PutUint32(b[8:], u.Flags)
	if u.Flags&UPNExtended != 0 {
		put(12, utf16Bytes(u.SAMName))
		var sid []byte
		if u.SID != nil {
			sid = u.SID.marshalBinary()
		}
		put(16, sid)
	}
	return b
}

func utf16Bytes(s string) []byte {
	var b []byte
	for _, v := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

// ParseUPNDNSInfo decodes UPN_DNS_INFO.
func ParseUPNDNSInfo(b []byte) (*UPNDNSInfo, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("%w: UPN_DNS_INFO of %d bytes", ErrMalformed, len(b))
	}
	field := func(at int) ([]byte, error) {
		n, off := int(binary.LittleEndian.Uint16(b[at:])), int(binary.LittleEndian.Uint16(b[at+2:]))
		if off > len(b) || n > len(b)-off {
			return nil, fmt.Errorf("%w: UPN_DNS_INFO field at %d, %d bytes, in %d", ErrMalformed, off, n, len(b))
		}
		return b[off : off+n], nil
	}
	u := &UPNDNSInfo{Flags: binary.LittleEndian.Uint32(b[8:])}
	var err error
	str := func(at int) string {
		if err != nil {
			return ""
		}
		var raw []byte
		if raw, err = field(at); err != nil {
			return ""
		}
		var s string
		s, err = decodeUTF16(raw)
		return s
	}
	u.UPN = str(0)
	u.DNSDomainName = str(4)
	if u.Flags&UPNExtended != 0 {
		if len(b) < 20 {
			return nil, fmt.Errorf("%w: extended UPN_DNS_INFO of %d bytes", ErrMalformed, len(b))
		}
		u.SAMName = str(12)
		if err == nil {
			var raw []byte
			if raw, err = field(16); err == nil && len(raw) > 0 {
				u.SID, err = parseBinarySID(raw)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Signature is PAC_SIGNATURE_DATA (MS-PAC 2.8): a checksum type and the
// checksum, and the RODC identifier of a read-only DC's signature.
type Signature struct {
	Type           kcrypto.ChecksumType
	Value          []byte
	RODCIdentifier *uint16
}

// Marshal encodes the structure.
func (s *Signature) Marshal() []byte {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(s.Value)+2), uint32(s.Type))
	b = append(b, s.Value...)
	if s.RODCIdentifier != nil {
		b = binary.LittleEndian.AppendUint16(b, *s.RODCIdentifier)
	}
	return b
}

// signatureSize is the length of the signature of a checksum type, 0 if
// unknown.
func signatureSize(t kcrypto.ChecksumType) int {
	switch t {
	case kcrypto.HMACSHA196AES128, kcrypto.HMACSHA196AES256:
		return kcrypto.MACSize
	case -138: // KERB_CHECKSUM_HMAC_MD5
		return 16
	}
	return 0
}

// ParseSignature decodes PAC_SIGNATURE_DATA; the signature's length
// follows from its type.
func ParseSignature(b []byte) (*Signature, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrMalformed, len(b))
	}
	t := kcrypto.ChecksumType(int32(binary.LittleEndian.Uint32(b)))
	n := signatureSize(t)
	if n == 0 {
		return nil, fmt.Errorf("%w: signature of unknown type %v", ErrMalformed, t)
	}
	s := &Signature{Type: t}
	switch len(b) - 4 {
	case n:
	case n + 2:
		id := binary.LittleEndian.Uint16(b[4+n:])
		s.RODCIdentifier = &id
	default:
		return nil, fmt.Errorf("%w: %v signature of %d bytes", ErrMalformed, t, len(b)-4)
	}
	s.Value = append([]byte(nil), b[4:4+n]...)
	return s, nil
}

// Sign computes the PAC's server signature with the service's key and
// its KDC signature with the krbtgt key (MS-PAC 2.8.4, 2.8.5), adding the
// two signature buffers if the PAC has none, and returns the encoded PAC.
// Each checksum is of the type that goes with its key.
func (p *PAC) Sign(serverKey, kdcKey *kcrypto.Key) ([]byte, error) {
	srv := &Signature{Type: serverKey.EType().ChecksumType(), Value: make([]byte, kcrypto.MACSize)}
	kdc := &Signature{Type: kdcKey.EType().ChecksumType(), Value: make([]byte, kcrypto.MACSize)}
	p.Set(TypeServerChecksum, srv.Marshal())
	p.Set(TypeKDCChecksum, kdc.Marshal())
	b := p.Marshal()
	sum, err := serverKey.Checksum(kcrypto.UsageKerbNonKerbCksumSalt, b)
	if err != nil {
		return nil, fmt.Errorf("pac: server signature: %w", err)
	}
	srv.Value = sum
	if sum, err = kdcKey.Checksum(kcrypto.UsageKerbNonKerbCksumSalt, sum); err != nil {
		return nil, fmt.Errorf("pac: KDC signature: %w", err)
	}
	kdc.Value = sum
	p.Set(TypeServerChecksum, srv.Marshal())
	p.Set(TypeKDCChecksum, kdc.Marshal())
	out := p.Marshal()
	p.raw = out
	p.offsets = p.offsets[:0]
	off := align8(8 + 16*len(p.Buffers))
	for _, buf := range p.Buffers {
		p.offsets = append(p.offsets, off)
		off = align8(off + len(buf.Data))
	}
	return out, nil
}

// signedBytes returns the PAC's bytes (as received, if it was parsed)
// with the signature values that the server signature does not cover
// zeroed: the server, KDC and extended KDC signatures.
func (p *PAC) signedBytes() []byte {
	raw, offs := p.raw, p.offsets
	if raw == nil {
		raw = p.Marshal()
		offs = nil
		off := align8(8 + 16*len(p.Buffers))
		for _, buf := range p.Buffers {
			offs = append(offs, off)
			off = align8(off + len(buf.Data))
		}
	}
	b := append([]byte(nil), raw...)
	for i, buf := range p.Buffers {
		switch buf.Type {
		case TypeServerChecksum, TypeKDCChecksum, TypeFullPACChecksum:
			if len(buf.Data) > 4 {
				clear(b[offs[i]+4 : offs[i]+len(buf.Data)])
			}
		}
	}
	return b
}

func (p *PAC) signature(t BufferType) (*Signature, error) {
	b, ok := p.Find(t)
	if !ok {
		return nil, fmt.Errorf("%w: no signature buffer of type %#x", ErrSignature, uint32(t))
	}
	s, err := ParseSignature(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return s, nil
}

// VerifyServerSignature checks the server signature with the service's
// key: what a service can check by itself.
func (p *PAC) VerifyServerSignature(serverKey *kcrypto.Key) error {
	s, err := p.signature(TypeServerChecksum)
	if err != nil {
		return err
	}
	if err := serverKey.VerifyChecksum(kcrypto.UsageKerbNonKerbCksumSalt, s.Type, p.signedBytes(), s.Value); err != nil {
		return fmt.Errorf("%w: server signature: %w", ErrSignature, err)
	}
	return nil
}

// VerifyKDCSignature checks the KDC signature, over the server
// signature, with the krbtgt key: what a KDC checks of a PAC it copies
// from a TGT into a service ticket.
func (p *PAC) VerifyKDCSignature(kdcKey *kcrypto.Key) error {
	srv, err := p.signature(TypeServerChecksum)
	if err != nil {
		return err
	}
	s, err := p.signature(TypeKDCChecksum)
	if err != nil {
		return err
	}
	if err := kdcKey.VerifyChecksum(kcrypto.UsageKerbNonKerbCksumSalt, s.Type, srv.Value, s.Value); err != nil {
		return fmt.Errorf("%w: KDC signature: %w", ErrSignature, err)
	}
	return nil
}
