package spnego

import (
	"encoding/asn1"
	"errors"
	"math"
)

// Hand-written DER reading, the counterpart of der.go. encoding/asn1
// allocates through reflection for every element it decodes, which made
// most of what parsing a token cost. These functions accept exactly what
// encoding/asn1 accepts for the shapes SPNEGO uses (TestDERReaderMatches
// holds them to it) and allocate nothing but the copies they return.

var (
	errTruncatedTag   = errors.New("asn1: syntax error: truncated tag or length")
	errNonMinimalTag  = errors.New("asn1: syntax error: non-minimal tag")
	errIndefinite     = errors.New("asn1: syntax error: indefinite length found (not DER)")
	errLengthTooLarge = errors.New("asn1: structure error: length too large")
	errLeadingZeros   = errors.New("asn1: structure error: superfluous leading zeros in length")
	errNonMinimalLen  = errors.New("asn1: structure error: non-minimal length")
	errDataTruncated  = errors.New("asn1: syntax error: data truncated")
	errSeqTruncated   = errors.New("asn1: syntax error: sequence truncated")
	errBase128Large   = errors.New("asn1: structure error: base 128 integer too large")
	errBase128Minimal = errors.New("asn1: syntax error: integer is not minimally encoded")
	errBase128Trunc   = errors.New("asn1: syntax error: truncated base 128 integer")
	errEmptyOID       = errors.New("asn1: syntax error: zero length OBJECT IDENTIFIER")
	errEmptyInteger   = errors.New("asn1: syntax error: empty integer")
	errIntNonMinimal  = errors.New("asn1: structure error: integer not minimally-encoded")
	errIntTooLarge    = errors.New("asn1: structure error: integer too large")
)

// element is one DER element as readTLV reads it: what asn1.RawValue holds,
// in half its size. Tokens are read element by element and the elements
// passed along by value, and copying RawValues was most of what reading
// cost.
type element struct {
	FullBytes  []byte // the whole element
	Tag        int
	Class      uint8
	IsCompound bool
	hdr        uint8 // the length of the tag and length octets
}

// Bytes returns the content octets.
func (t *element) Bytes() []byte { return t.FullBytes[t.hdr:] }

// readTLV decodes the first DER element of b as asn1.Unmarshal into an
// asn1.RawValue does, and returns the bytes after it.
func readTLV(b []byte) (element, []byte, error) {
	if len(b) == 0 {
		return element{}, nil, errSeqTruncated
	}
	off := 0
	c := b[off]
	off++
	tag := int(c & 0x1f)
	if tag == 0x1f {
		t, n, err := base128(b, off)
		if err != nil {
			return element{}, nil, err
		}
		off = n
		if t < 0x1f {
			return element{}, nil, errNonMinimalTag
		}
		tag = t
	}
	if off >= len(b) {
		return element{}, nil, errTruncatedTag
	}
	l := b[off]
	off++
	length := 0
	if l&0x80 == 0 {
		length = int(l & 0x7f)
	} else {
		k := int(l & 0x7f)
		if k == 0 {
			return element{}, nil, errIndefinite
		}
		for range k {
			if off >= len(b) {
				return element{}, nil, errTruncatedTag
			}
			if length >= 1<<23 {
				return element{}, nil, errLengthTooLarge
			}
			length = length<<8 | int(b[off])
			off++
			if length == 0 {
				return element{}, nil, errLeadingZeros
			}
		}
		if length < 0x80 {
			return element{}, nil, errNonMinimalLen
		}
	}
	if length > len(b)-off {
		return element{}, nil, errDataTruncated
	}
	end := off + length
	// off is at most 1 + 5 tag octets + 1 + 3 length octets (longer
	// lengths are refused above), so it fits hdr.
	return element{FullBytes: b[:end:end], Tag: tag, Class: c >> 6, IsCompound: c&0x20 != 0, hdr: uint8(off)}, b[end:], nil
}

// base128 is encoding/asn1's parseBase128Int: a minimally encoded base
// 128 integer that fits in 31 bits.
func base128(b []byte, off int) (int, int, error) {
	var v int64
	for shifted := 0; off < len(b); shifted++ {
		if shifted == 5 {
			return 0, 0, errBase128Large
		}
		v <<= 7
		c := b[off]
		if shifted == 0 && c == 0x80 {
			return 0, 0, errBase128Minimal
		}
		v |= int64(c & 0x7f)
		off++
		if c&0x80 == 0 {
			if v > math.MaxInt32 {
				return 0, 0, errBase128Large
			}
			return int(v), off, nil
		}
	}
	return 0, 0, errBase128Trunc
}

// parseOID is encoding/asn1's parseObjectIdentifier on the content
// octets, appending the arcs to dst.
func parseOID(dst asn1.ObjectIdentifier, b []byte) (asn1.ObjectIdentifier, error) {
	if len(b) == 0 {
		return nil, errEmptyOID
	}
	v, off, err := base128(b, 0)
	if err != nil {
		return nil, err
	}
	if v < 80 {
		dst = append(dst, v/40, v%40)
	} else {
		dst = append(dst, 2, v-80)
	}
	for off < len(b) {
		if v, off, err = base128(b, off); err != nil {
			return nil, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// oidArcs is an upper bound on the arcs of an OID with n content octets.
func oidArcs(n int) int { return n + 1 }

// parseEnum32 is encoding/asn1's parseInt32 on the content octets of an
// ENUMERATED.
func parseEnum32(b []byte) (int32, error) {
	if len(b) == 0 {
		return 0, errEmptyInteger
	}
	if len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 == 0x80) {
		return 0, errIntNonMinimal
	}
	if len(b) > 4 {
		return 0, errIntTooLarge
	}
	var v int64
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	v <<= 64 - 8*uint(len(b))
	v >>= 64 - 8*uint(len(b))
	return int32(v), nil
}
