package ntlm

import (
	"crypto/md5"
	"encoding/binary"
)

// ChannelBindings is a gss_channel_bindings_struct (RFC 2744 section
// 3.11): the addresses of both ends and the application data, which for
// TLS is the channel binding (RFC 5929).
type ChannelBindings struct {
	InitiatorAddrType uint32
	InitiatorAddress  []byte
	AcceptorAddrType  uint32
	AcceptorAddress   []byte
	ApplicationData   []byte
}

// secChannelBindingsHeader is the size of SEC_CHANNEL_BINDINGS' fixed part:
// eight little-endian 32-bit fields.
const secChannelBindingsHeader = 32

// ParseSecChannelBindings decodes SSPI's SEC_CHANNEL_BINDINGS: address
// type, length and offset of the initiator's address, the same for the
// acceptor's, then length and offset of the application data, the
// offsets counted from the start of the structure. Windows reads the
// three pieces through their offsets, so they may lie anywhere in b.
func ParseSecChannelBindings(b []byte) (*ChannelBindings, error) {
	if len(b) < secChannelBindingsHeader {
		return nil, malformed("SEC_CHANNEL_BINDINGS of %d bytes is shorter than its %d-byte header", len(b), secChannelBindingsHeader)
	}
	if len(b) > MaxTokenSize {
		return nil, malformed("SEC_CHANNEL_BINDINGS of %d bytes exceeds %d", len(b), MaxTokenSize)
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(b[4*i:]) }
	piece := func(n, off uint32, name string) ([]byte, error) {
		if n == 0 {
			return nil, nil
		}
		if uint64(off)+uint64(n) > uint64(len(b)) {
			return nil, malformed("SEC_CHANNEL_BINDINGS %s (offset %d, length %d) runs past its %d bytes", name, off, n, len(b))
		}
		return append([]byte(nil), b[off:off+n]...), nil
	}
	cb := &ChannelBindings{InitiatorAddrType: u(0), AcceptorAddrType: u(3)}
	var err error
	if cb.InitiatorAddress, err = piece(u(1), u(2), "initiator address"); err != nil {
		return nil, err
	}
	if cb.AcceptorAddress, err = piece(u(4), u(5), "acceptor address"); err != nil {
		return nil, err
	}
	if cb.ApplicationData, err = piece(u(6), u(7), "application data"); err != nil {
		return nil, err
	}
	return cb, nil
}

// Hash is the MsvAvChannelBindings value (MS-NLMP 3.1.5.1.2 with RFC 4121
// section 4.1.1.2): MD5 over the structure flattened as each field's
// little-endian 32-bit value, the addresses and the application data each
// preceded by its length. Windows, MIT krb5 and gss-ntlmssp hash this,
// not the SSPI structure with its offsets.
func (cb *ChannelBindings) Hash() []byte {
	h := md5.New()
	var n [4]byte
	put := func(v uint32) {
		binary.LittleEndian.PutUint32(n[:], v)
		h.Write(n[:])
	}
	put(cb.InitiatorAddrType)
	put(uint32(len(cb.InitiatorAddress)))
	h.Write(cb.InitiatorAddress)
	put(cb.AcceptorAddrType)
	put(uint32(len(cb.AcceptorAddress)))
	h.Write(cb.AcceptorAddress)
	put(uint32(len(cb.ApplicationData)))
	h.Write(cb.ApplicationData)
	return h.Sum(nil)
}
