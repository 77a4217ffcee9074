package spnego

import (
	"encoding/asn1"
	"errors"
)

// Hand-written DER for the tokens the package builds. encoding/asn1 goes
// through reflection and allocates for every element, which made a third
// of a Negotiate handshake's allocations; the few shapes SPNEGO needs are
// simple enough to write directly, into one buffer sized in advance. The
// parsers still use encoding/asn1, and the tests hold the two to the same
// bytes.

// derLen is the size of a DER length field for n content bytes.
func derLen(n int) int {
	l := 1
	if n >= 0x80 {
		for ; n > 0; n >>= 8 {
			l++
		}
	}
	return l
}

// tlvLen is the size of an element with n content bytes and a one-byte
// tag.
func tlvLen(n int) int { return 1 + derLen(n) + n }

// appendTL appends a one-byte tag and the DER length n.
func appendTL(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	if n < 0x80 {
		return append(dst, byte(n))
	}
	k := derLen(n) - 1
	dst = append(dst, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		dst = append(dst, byte(n>>(8*i)))
	}
	return dst
}

var errBadOID = errors.New("invalid object identifier")

// knownOID is an OID that nearly every token carries, with its content
// octets computed once: encoding, parsing and checking OIDs arc by arc
// was a tenth of what building and parsing a Negotiate handshake's tokens
// cost.
type knownOID struct {
	oid     asn1.ObjectIdentifier
	content []byte
}

var knownOIDs = func() []knownOID {
	oids := []asn1.ObjectIdentifier{OIDNTLMSSP, OIDMSKerberos, OIDKerberos, OIDSPNEGO}
	k := make([]knownOID, len(oids))
	for i, oid := range oids {
		k[i] = knownOID{oid: oid[:len(oid):len(oid)], content: encodeOIDContent(nil, oid)}
	}
	return k
}()

// knownContent returns the content octets of oid if it is a known one.
func knownContent(oid asn1.ObjectIdentifier) []byte {
	for _, k := range knownOIDs {
		if oid.Equal(k.oid) {
			return k.content
		}
	}
	return nil
}

// knownOIDOf returns the known OID whose content octets are b, or nil.
// The result is shared: callers must not modify it.
func knownOIDOf(b []byte) asn1.ObjectIdentifier {
	for _, k := range knownOIDs {
		if string(b) == string(k.content) {
			return k.oid
		}
	}
	return nil
}

// oidLen is the size of the content of oid's DER encoding, with the
// checks encoding/asn1 makes, and negative arcs refused too.
func oidLen(oid asn1.ObjectIdentifier) (int, error) {
	if c := knownContent(oid); c != nil {
		return len(c), nil
	}
	if len(oid) < 2 || oid[0] < 0 || oid[0] > 2 || oid[1] < 0 || (oid[0] < 2 && oid[1] >= 40) {
		return 0, errBadOID
	}
	n := base128Len(int64(oid[0])*40 + int64(oid[1]))
	for _, a := range oid[2:] {
		if a < 0 {
			return 0, errBadOID
		}
		n += base128Len(int64(a))
	}
	return n, nil
}

func base128Len(v int64) int {
	n := 1
	for ; v > 127; v >>= 7 {
		n++
	}
	return n
}

// appendOIDContent appends the content octets of a valid oid (oidLen
// passed).
func appendOIDContent(dst []byte, oid asn1.ObjectIdentifier) []byte {
	if c := knownContent(oid); c != nil {
		return append(dst, c...)
	}
	return encodeOIDContent(dst, oid)
}

// encodeOIDContent is appendOIDContent arc by arc.
func encodeOIDContent(dst []byte, oid asn1.ObjectIdentifier) []byte {
	dst = appendBase128(dst, int64(oid[0])*40+int64(oid[1]))
	for _, a := range oid[2:] {
		dst = appendBase128(dst, int64(a))
	}
	return dst
}

func appendBase128(dst []byte, v int64) []byte {
	for i := base128Len(v) - 1; i >= 0; i-- {
		b := byte(v>>(7*i)) & 0x7f
		if i != 0 {
			b |= 0x80
		}
		dst = append(dst, b)
	}
	return dst
}

const (
	derEnumerated  = 0x0a
	derOctetString = 0x04
	derOID         = 0x06
	derSequence    = 0x30
	derContext     = 0xa0 // context-specific, constructed; add the tag number
)
