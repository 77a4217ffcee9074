package spnego

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
)

// Mechanism OIDs that appear in Negotiate tokens.
var (
	// OIDSPNEGO identifies SPNEGO itself; it is the thisMech OID of the
	// InitialContextToken framing around a NegTokenInit.
	OIDSPNEGO = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 2}
	// OIDNTLMSSP is Microsoft's NTLM security support provider.
	OIDNTLMSSP = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 2, 10}
	// OIDKerberos is Kerberos V5 as registered in RFC 4121.
	OIDKerberos = asn1.ObjectIdentifier{1, 2, 840, 113554, 1, 2, 2}
	// OIDMSKerberos is Kerberos V5 with the 113554 arc truncated to 16 bits
	// (48018), a Windows 2000 bug kept for compatibility: Windows still
	// offers it first, so Negotiate must recognise it.
	OIDMSKerberos = asn1.ObjectIdentifier{1, 2, 840, 48018, 1, 2, 2}
)

// ErrMalformed is wrapped by every parse error, with a detail saying what was
// wrong, so the caller can map any of them to SEC_E_INVALID_TOKEN.
var ErrMalformed = errors.New("spnego: malformed token")

// MaxTokenSize is the largest token the parsers accept and Marshal produces.
// Windows caps SSPI tokens well below this (cbMaxToken is 48000 for
// Negotiate); the cap bounds the work a hostile peer can cause.
const MaxTokenSize = 64 << 10

// NegState is the negState field of a NegTokenResp (RFC 4178 section 4.2.2).
type NegState int

// NegState values. The non-negative ones are the wire values of the
// ENUMERATED; NegStateAbsent stands for the field being omitted, which
// RFC 4178 allows in every reply except the acceptor's first.
const (
	NegStateAbsent   NegState = -1
	AcceptCompleted  NegState = 0
	AcceptIncomplete NegState = 1
	Reject           NegState = 2
	RequestMIC       NegState = 3
)

// String returns the RFC 4178 name of s, for logs and test failures.
func (s NegState) String() string {
	switch s {
	case NegStateAbsent:
		return "absent"
	case AcceptCompleted:
		return "accept-completed"
	case AcceptIncomplete:
		return "accept-incomplete"
	case Reject:
		return "reject"
	case RequestMIC:
		return "request-mic"
	}
	return fmt.Sprintf("NegState(%d)", int(s))
}

// valid reports whether s can be put on the wire (or left off it).
func (s NegState) valid() bool { return s >= NegStateAbsent && s <= RequestMIC }

// Tags of the two NegotiationToken CHOICE arms and of the GSS-API framing.
const (
	tagNegTokenInit = 0
	tagNegTokenResp = 1
	// firstByteInit is [APPLICATION 0] constructed: the InitialContextToken.
	firstByteInit = 0x60
	// firstByteResp is [1] constructed: a bare NegTokenResp.
	firstByteResp = 0xa1
)

// IsNegTokenInit reports whether b looks like a NegTokenInit, i.e. starts
// with the InitialContextToken tag 0x60. It only dispatches; the token may
// still fail to parse.
func IsNegTokenInit(b []byte) bool { return len(b) > 0 && b[0] == firstByteInit }

// IsNegTokenResp reports whether b looks like a NegTokenResp, i.e. starts
// with the context tag [1] (0xa1). It only dispatches; the token may still
// fail to parse.
func IsNegTokenResp(b []byte) bool { return len(b) > 0 && b[0] == firstByteResp }

// MechTypeListDER returns the DER encoding of the MechTypeList (SEQUENCE OF
// OID) exactly as it appears inside NegTokenInit: the bytes the mechListMIC
// is computed over (RFC 4178 section 5). Parsing only accepts mechanism lists
// whose wire bytes equal this encoding, so the MIC can always be computed
// from the parsed OIDs.
func MechTypeListDER(mechs []asn1.ObjectIdentifier) ([]byte, error) {
	if len(mechs) == 0 {
		return nil, errors.New("spnego: empty mechanism list")
	}
	// By hand (der.go), in one allocation: it is built for every
	// NegTokenInit made or parsed.
	body := 0
	for _, m := range mechs {
		n, err := oidLen(m)
		if err != nil {
			return nil, fmt.Errorf("spnego: mechanism list: %w", err)
		}
		body += tlvLen(n)
	}
	b := make([]byte, 0, tlvLen(body))
	b = appendTL(b, derSequence, body)
	for _, m := range mechs {
		n, _ := oidLen(m)
		b = appendTL(b, derOID, n)
		b = appendOIDContent(b, m)
	}
	return b, nil
}

// The helpers below do the framing by hand on top of encoding/asn1, which
// still encodes and decodes every element. Struct tags alone cannot express
// what SPNEGO needs: the NegotiationToken CHOICE, the [3] field that is a
// mechListMIC in RFC 4178 but negHints in NegTokenInit2, and strictness
// (encoding/asn1 deliberately ignores trailing elements in a SEQUENCE and
// does not check that an explicit tag's length matches its content).

// malformed returns an error wrapping ErrMalformed with a detail.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// checkSize rejects empty and oversized input before any decoding.
func checkSize(b []byte) error {
	if len(b) == 0 {
		return malformed("empty token")
	}
	if len(b) > MaxTokenSize {
		return malformed("token of %d bytes exceeds %d", len(b), MaxTokenSize)
	}
	return nil
}

// next decodes the first DER element of b, returning it and the bytes after
// it. readTLV bounds-checks the length and rejects indefinite and
// non-minimal lengths, as encoding/asn1 does.
func next(b []byte, what string) (element, []byte, error) {
	rv, rest, err := readTLV(b)
	if err != nil {
		return element{}, nil, malformed("%s: %v", what, err)
	}
	return rv, rest, nil
}

// only decodes b, which must hold exactly one DER element.
func only(b []byte, what string) (element, error) {
	rv, rest, err := next(b, what)
	if err != nil {
		return rv, err
	}
	if len(rest) != 0 {
		return rv, malformed("%s: %d trailing bytes", what, len(rest))
	}
	return rv, nil
}

// is reports whether rv has the given class, tag and form.
func is(rv element, class, tag int, compound bool) bool {
	return int(rv.Class) == class && rv.Tag == tag && rv.IsCompound == compound
}

// decodeValue checks that rv is the universal element tag (primitive unless
// compound) and decodes it into v, a pointer to a type encoding/asn1 knows.
// Checking the tag here keeps error details short and readable.
func decodeValue(rv element, tag int, compound bool, v any, what string) error {
	if !is(rv, asn1.ClassUniversal, tag, compound) {
		return malformed("%s: unexpected element (class %d, tag %d)", what, rv.Class, rv.Tag)
	}
	rest, err := asn1.Unmarshal(rv.FullBytes, v)
	if err != nil {
		return malformed("%s: %v", what, err)
	}
	if len(rest) != 0 { // cannot happen: FullBytes is one element
		return malformed("%s: trailing bytes", what)
	}
	return nil
}

// checkUniversal is decodeValue's tag check.
func checkUniversal(rv element, tag int, compound bool, what string) error {
	if !is(rv, asn1.ClassUniversal, tag, compound) {
		return malformed("%s: unexpected element (class %d, tag %d)", what, rv.Class, rv.Tag)
	}
	return nil
}

// decodeOctets decodes an OCTET STRING, returning a non-nil copy so that a
// present but empty field stays distinguishable from an absent one.
func decodeOctets(rv element, what string) ([]byte, error) {
	if err := checkUniversal(rv, asn1.TagOctetString, false, what); err != nil {
		return nil, err
	}
	return append([]byte{}, rv.Bytes()...), nil
}

// octetsOf is decodeOctets copying into dst's spare capacity, which must
// hold the string, or, unless copied, returning the string in place: it
// returns the string, capped, and dst extended. Either way a present but
// empty string is not nil.
func octetsOf(dst []byte, rv element, copied bool, what string) ([]byte, []byte, error) {
	if err := checkUniversal(rv, asn1.TagOctetString, false, what); err != nil {
		return nil, dst, err
	}
	if !copied {
		return rv.Bytes()[:len(rv.Bytes()):len(rv.Bytes())], dst, nil
	}
	start := len(dst)
	dst = append(dst, rv.Bytes()...)
	return dst[start:len(dst):len(dst)], dst, nil
}

// decodeOID decodes an OBJECT IDENTIFIER and insists on its canonical
// encoding, so that re-encoding a parsed token reproduces its bytes. A
// known OID comes back shared with every other token that names it.
func decodeOID(rv element, what string) (asn1.ObjectIdentifier, error) {
	if rv.Class == asn1.ClassUniversal && rv.Tag == asn1.TagOID && !rv.IsCompound {
		if oid := knownOIDOf(rv.Bytes()); oid != nil {
			return oid, nil
		}
	}
	return appendOID(make(asn1.ObjectIdentifier, 0, oidArcs(len(rv.Bytes()))), rv, what)
}

// appendOID is decodeOID appending the arcs to dst. The result shares
// dst's array and is capped, so later appends to dst do not reach it.
func appendOID(dst asn1.ObjectIdentifier, rv element, what string) (asn1.ObjectIdentifier, error) {
	if err := checkUniversal(rv, asn1.TagOID, false, what); err != nil {
		return nil, err
	}
	start := len(dst)
	if oid := knownOIDOf(rv.Bytes()); oid != nil { // canonical by construction
		dst = append(dst, oid...)
		return dst[start:len(dst):len(dst)], nil
	}
	dst, err := parseOID(dst, rv.Bytes())
	if err != nil {
		return nil, malformed("%s: %v", what, err)
	}
	oid := dst[start:len(dst):len(dst)]
	var buf [64]byte
	if _, err := oidLen(oid); err != nil || !bytes.Equal(appendOIDContent(buf[:0], oid), rv.Bytes()) {
		return nil, malformed("%s: OBJECT IDENTIFIER is not DER", what)
	}
	return oid, nil
}

// field is one element of a SEQUENCE of explicitly tagged fields: the
// context tag number and the single element inside it.
type field struct {
	tag   int
	inner element
}

// sequenceFields decodes the body of a NegTokenInit or NegTokenResp: seq
// must be one constructed SEQUENCE whose elements are constructed [n] tags,
// n ≤ maxTag, in strictly increasing order (DER order, which also excludes
// duplicates), each wrapping exactly one element.
func sequenceFields(dst []field, seq []byte, maxTag int, what string) ([]field, error) {
	rv, err := only(seq, what)
	if err != nil {
		return nil, err
	}
	if !is(rv, asn1.ClassUniversal, asn1.TagSequence, true) {
		return nil, malformed("%s: not a SEQUENCE", what)
	}
	fields := dst
	last := -1
	for rest := rv.Bytes(); len(rest) > 0; {
		var f element
		if f, rest, err = next(rest, what); err != nil {
			return nil, err
		}
		if f.Class != asn1.ClassContextSpecific || !f.IsCompound {
			return nil, malformed("%s: field is not a constructed context tag", what)
		}
		if f.Tag > maxTag {
			return nil, malformed("%s: unknown field [%d]", what, f.Tag)
		}
		if f.Tag <= last {
			return nil, malformed("%s: field [%d] out of order or repeated", what, f.Tag)
		}
		last = f.Tag
		inner, rest, err := readTLV(f.Bytes())
		if err == nil && len(rest) != 0 {
			return nil, malformed("%s field [%d]: %d trailing bytes", what, f.Tag, len(rest))
		}
		if err != nil {
			return nil, malformed("%s field [%d]: %v", what, f.Tag, err)
		}
		fields = append(fields, field{tag: f.Tag, inner: inner})
	}
	return fields, nil
}

// explicit wraps the DER element content in the constructed context tag [tag].
func explicit(tag int, content []byte) ([]byte, error) {
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: content})
}

// sequence wraps the concatenated elements in a SEQUENCE.
func sequence(elems []byte) ([]byte, error) {
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: elems})
}

// appendField marshals v (anything encoding/asn1 can encode) and appends it
// to dst wrapped in [tag].
func appendField(dst []byte, tag int, v any) ([]byte, error) {
	inner, err := asn1.Marshal(v)
	if err != nil {
		return nil, err
	}
	f, err := explicit(tag, inner)
	if err != nil {
		return nil, err
	}
	return append(dst, f...), nil
}

// checkOutput applies MaxTokenSize to Marshal's result, so that whatever
// Marshal produces the parsers accept.
func checkOutput(b []byte, what string) ([]byte, error) {
	if len(b) > MaxTokenSize {
		return nil, fmt.Errorf("spnego: %s of %d bytes exceeds %d", what, len(b), MaxTokenSize)
	}
	return b, nil
}
