package spnego

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// NegTokenInit is the initiator's first token: [APPLICATION 0] { OID
// 1.3.6.1.5.5.2, [0] NegTokenInit }.
//
//	NegTokenInit ::= SEQUENCE {
//	    mechTypes   [0] MechTypeList,
//	    reqFlags    [1] ContextFlags  OPTIONAL,
//	    mechToken   [2] OCTET STRING  OPTIONAL,
//	    mechListMIC [3] OCTET STRING  OPTIONAL,
//	    ...
//	}
//
// Nil slices are absent fields; a non-nil empty slice is a present, empty
// field, so parsing and marshalling preserve the difference.
type NegTokenInit struct {
	// MechTypes lists the initiator's mechanisms, most preferred first. It
	// must not be empty.
	MechTypes []asn1.ObjectIdentifier
	// ReqFlags holds the content octets of the reqFlags BIT STRING as on
	// the wire: the unused-bits count followed by the flag octets, e.g.
	// {0x01, 0x42} for mutualFlag|integFlag. It is raw because MS-SPNG
	// 2.2.1 says senders SHOULD omit it and the emulated Negotiate never
	// acts on it; it is only carried for round trips. Usually nil.
	ReqFlags []byte
	// MechToken is the optimistic token of MechTypes[0], if any.
	MechToken []byte
	// MechListMIC is the MIC over MechTypeListDER(MechTypes), rarely sent
	// in the first token.
	MechListMIC []byte
}

// Marshal returns the DER encoding of t inside the InitialContextToken
// framing. It always uses the RFC 4178 layout (mechListMIC at [3]), never
// NegTokenInit2's negHints.
func (t *NegTokenInit) Marshal() ([]byte, error) {
	// By hand (der.go), sizes first, into one buffer.
	if len(t.MechTypes) == 0 {
		return nil, errors.New("spnego: empty mechanism list")
	}
	mechs := 0
	for _, m := range t.MechTypes {
		n, err := oidLen(m)
		if err != nil {
			return nil, fmt.Errorf("spnego: mechanism list: %w", err)
		}
		mechs += tlvLen(n)
	}
	body := tlvLen(tlvLen(mechs))
	if t.ReqFlags != nil {
		// The caller's exact octets are kept, but decoded first so that
		// Marshal never emits what the parser would reject (bad
		// unused-bits count, non-zero padding).
		var check asn1.BitString
		bits := append(appendTL(nil, 0x03, len(t.ReqFlags)), t.ReqFlags...)
		if _, err := asn1.Unmarshal(bits, &check); err != nil {
			return nil, fmt.Errorf("spnego: invalid ReqFlags: %w", err)
		}
		body += tlvLen(tlvLen(len(t.ReqFlags)))
	}
	for _, f := range [...][]byte{t.MechToken, t.MechListMIC} {
		if f != nil {
			body += tlvLen(tlvLen(len(f)))
		}
	}
	spnego, _ := oidLen(OIDSPNEGO)
	inner := tlvLen(spnego) + tlvLen(tlvLen(body))
	size := tlvLen(inner)
	if size > MaxTokenSize {
		return nil, fmt.Errorf("spnego: %s of %d bytes exceeds %d", "NegTokenInit", size, MaxTokenSize)
	}
	out := make([]byte, 0, size)
	out = appendTL(out, firstByteInit, inner)
	out = appendTL(out, derOID, spnego)
	out = appendOIDContent(out, OIDSPNEGO)
	out = appendTL(out, derContext+tagNegTokenInit, tlvLen(body))
	out = appendTL(out, derSequence, body)
	out = appendTL(out, derContext+0, tlvLen(mechs))
	out = appendTL(out, derSequence, mechs)
	for _, m := range t.MechTypes {
		n, _ := oidLen(m)
		out = appendTL(out, derOID, n)
		out = appendOIDContent(out, m)
	}
	if t.ReqFlags != nil {
		out = appendTL(out, derContext+1, tlvLen(len(t.ReqFlags)))
		out = appendTL(out, 0x03, len(t.ReqFlags))
		out = append(out, t.ReqFlags...)
	}
	for i, f := range [...][]byte{t.MechToken, t.MechListMIC} {
		if f != nil {
			out = appendTL(out, derContext+2+byte(i), tlvLen(len(f)))
			out = appendTL(out, derOctetString, len(f))
			out = append(out, f...)
		}
	}
	return out, nil
}

// ParseNegTokenInit decodes a NegTokenInit inside the InitialContextToken
// framing, whose thisMech must be the SPNEGO OID. It also accepts
// Microsoft's NegTokenInit2 (MS-SPNG 2.2.1), which puts negHints at [3] and
// moves mechListMIC to [4]; the hints are dropped. The result shares no
// memory with b.
func ParseNegTokenInit(b []byte) (*NegTokenInit, error) {
	if err := checkSize(b); err != nil {
		return nil, err
	}
	outer, err := only(b, "InitialContextToken")
	if err != nil {
		return nil, err
	}
	if !is(outer, asn1.ClassApplication, 0, true) {
		return nil, malformed("not an InitialContextToken ([APPLICATION 0])")
	}
	mechRV, rest, err := next(outer.Bytes(), "thisMech")
	if err != nil {
		return nil, err
	}
	mech, err := decodeOID(mechRV, "thisMech")
	if err != nil {
		return nil, err
	}
	if !mech.Equal(OIDSPNEGO) {
		return nil, malformed("thisMech is %v, not SPNEGO", mech)
	}
	choice, err := only(rest, "NegotiationToken")
	if err != nil {
		return nil, err
	}
	if !is(choice, asn1.ClassContextSpecific, tagNegTokenInit, true) {
		return nil, malformed("NegotiationToken is not negTokenInit [0]")
	}
	var fieldBuf [5]field
	fields, err := sequenceFields(fieldBuf[:0], choice.Bytes(), 4, "NegTokenInit")
	if err != nil {
		return nil, err
	}

	t := &NegTokenInit{}
	micAt3 := false
	for _, f := range fields {
		switch f.tag {
		case 0:
			if t.MechTypes, err = parseMechTypes(f.inner); err != nil {
				return nil, err
			}
		case 1:
			var bits asn1.BitString
			if err := decodeValue(f.inner, asn1.TagBitString, false, &bits, "reqFlags"); err != nil {
				return nil, err
			}
			t.ReqFlags = append([]byte{}, f.inner.Bytes()...)
		case 2:
			if t.MechToken, err = decodeOctets(f.inner, "mechToken"); err != nil {
				return nil, err
			}
		case 3:
			// RFC 4178 has mechListMIC here, NegTokenInit2 has negHints
			// (a SEQUENCE); the inner tag tells them apart.
			switch {
			case is(f.inner, asn1.ClassUniversal, asn1.TagOctetString, false):
				if t.MechListMIC, err = decodeOctets(f.inner, "mechListMIC"); err != nil {
					return nil, err
				}
				micAt3 = true
			case is(f.inner, asn1.ClassUniversal, asn1.TagSequence, true):
				// negHints: skipped, see the package comment.
			default:
				return nil, malformed("NegTokenInit field [3] is neither mechListMIC nor negHints")
			}
		case 4:
			if micAt3 {
				return nil, malformed("NegTokenInit has both RFC 4178 and NegTokenInit2 mechListMIC")
			}
			if t.MechListMIC, err = decodeOctets(f.inner, "mechListMIC"); err != nil {
				return nil, err
			}
		}
	}
	if t.MechTypes == nil {
		return nil, malformed("NegTokenInit without mechTypes")
	}
	return t, nil
}

// parseMechTypes decodes the MechTypeList, in two allocations: the list
// and one array for all the arcs. The MIC covers the wire bytes of the
// list; insisting that they are the canonical encoding (each OID is, and
// readTLV takes only minimal lengths) lets a caller recompute them with
// MechTypeListDER.
func parseMechTypes(rv element) ([]asn1.ObjectIdentifier, error) {
	if err := checkUniversal(rv, asn1.TagSequence, true, "mechTypes"); err != nil {
		return nil, err
	}
	n, arcs := 0, 0
	for rest := rv.Bytes(); len(rest) > 0; n++ {
		var e element
		var err error
		if e, rest, err = readTLV(rest); err != nil {
			return nil, malformed("%s: %v", "mechTypes", err)
		}
		arcs += oidArcs(len(e.Bytes()))
	}
	if n == 0 {
		return nil, malformed("empty mechTypes")
	}
	mechs := make([]asn1.ObjectIdentifier, 0, n)
	all := make(asn1.ObjectIdentifier, 0, arcs)
	for rest := rv.Bytes(); len(rest) > 0; {
		e, r, _ := readTLV(rest) // read above
		rest = r
		if !is(e, asn1.ClassUniversal, asn1.TagOID, false) {
			return nil, malformed("%s: %v", "mechTypes", "sequence tag mismatch")
		}
		oid, err := appendOID(all, e, "mechTypes")
		if err != nil {
			return nil, err
		}
		all = all[:len(all)+len(oid)]
		mechs = append(mechs, oid)
	}
	return mechs, nil
}
