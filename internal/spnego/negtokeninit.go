package spnego

import (
	"bytes"
	"encoding/asn1"
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
	mechs, err := MechTypeListDER(t.MechTypes)
	if err != nil {
		return nil, err
	}
	body, err := explicit(0, mechs)
	if err != nil {
		return nil, err
	}
	if t.ReqFlags != nil {
		// Build the BIT STRING by hand to keep the caller's exact octets,
		// and decode it back so that Marshal never emits what the parser
		// would reject (bad unused-bits count, non-zero padding).
		bits, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBitString, Bytes: t.ReqFlags})
		if err != nil {
			return nil, err
		}
		var check asn1.BitString
		if _, err := asn1.Unmarshal(bits, &check); err != nil {
			return nil, fmt.Errorf("spnego: invalid ReqFlags: %w", err)
		}
		f, err := explicit(1, bits)
		if err != nil {
			return nil, err
		}
		body = append(body, f...)
	}
	if t.MechToken != nil {
		if body, err = appendField(body, 2, t.MechToken); err != nil {
			return nil, err
		}
	}
	if t.MechListMIC != nil {
		if body, err = appendField(body, 3, t.MechListMIC); err != nil {
			return nil, err
		}
	}
	seq, err := sequence(body)
	if err != nil {
		return nil, err
	}
	choice, err := explicit(tagNegTokenInit, seq)
	if err != nil {
		return nil, err
	}
	return checkOutput(frame(choice), "NegTokenInit")
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
	mechRV, rest, err := next(outer.Bytes, "thisMech")
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
	fields, err := sequenceFields(choice.Bytes, 4, "NegTokenInit")
	if err != nil {
		return nil, err
	}

	t := &NegTokenInit{}
	micAt3 := false
	for _, f := range fields {
		switch f.tag {
		case 0:
			if err := decodeValue(f.inner, asn1.TagSequence, true, &t.MechTypes, "mechTypes"); err != nil {
				return nil, err
			}
			if len(t.MechTypes) == 0 {
				return nil, malformed("empty mechTypes")
			}
			// The MIC covers the wire bytes of this list; insisting that
			// they are the canonical encoding lets a caller recompute
			// them with MechTypeListDER.
			canon, err := asn1.Marshal(t.MechTypes)
			if err != nil || !bytes.Equal(canon, f.inner.FullBytes) {
				return nil, malformed("mechTypes is not DER")
			}
		case 1:
			var bits asn1.BitString
			if err := decodeValue(f.inner, asn1.TagBitString, false, &bits, "reqFlags"); err != nil {
				return nil, err
			}
			t.ReqFlags = append([]byte{}, f.inner.Bytes...)
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
