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

// readTLV decodes the first DER element of b as asn1.Unmarshal into an
// asn1.RawValue does, and returns the bytes after it.
func readTLV(b []byte) (asn1.RawValue, []byte, error) {
	if len(b) == 0 {
		return asn1.RawValue{}, nil, errSeqTruncated
	}
	off := 0
	c := b[off]
	off++
	rv := asn1.RawValue{Class: int(c >> 6), IsCompound: c&0x20 != 0, Tag: int(c & 0x1f)}
	if rv.Tag == 0x1f {
		t, n, err := base128(b, off)
		if err != nil {
			return asn1.RawValue{}, nil, err
		}
		off = n
		if t < 0x1f {
			return asn1.RawValue{}, nil, errNonMinimalTag
		}
		rv.Tag = t
	}
	if off >= len(b) {
		return asn1.RawValue{}, nil, errTruncatedTag
	}
	c = b[off]
	off++
	length := 0
	if c&0x80 == 0 {
		length = int(c & 0x7f)
	} else {
		k := int(c & 0x7f)
		if k == 0 {
			return asn1.RawValue{}, nil, errIndefinite
		}
		for range k {
			if off >= len(b) {
				return asn1.RawValue{}, nil, errTruncatedTag
			}
			if length >= 1<<23 {
				return asn1.RawValue{}, nil, errLengthTooLarge
			}
			length = length<<8 | int(b[off])
			off++
			if length == 0 {
				return asn1.RawValue{}, nil, errLeadingZeros
			}
		}
		if length < 0x80 {
			return asn1.RawValue{}, nil, errNonMinimalLen
		}
	}
	if length > len(b)-off {
		return asn1.RawValue{}, nil, errDataTruncated
	}
	end := off + length
	rv.Bytes = b[off:end:end]
	rv.FullBytes = b[:end:end]
	return rv, b[end:], nil
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
