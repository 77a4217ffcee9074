package spnego

import (
	"encoding/asn1"
	"fmt"
)

// tagGeneralString is the universal tag of ASN.1 GeneralString, which
// encoding/asn1 does not name.
const tagGeneralString = 27

// NegTokenInit2 is the NegTokenInit an acceptor sends first, as Windows SMB
// servers do in their NEGOTIATE response (MS-SPNG 2.2.1, MS-SMB2
// 3.3.5.4): negHints at [3] and mechListMIC moved to [4].
//
//	NegTokenInit2 ::= SEQUENCE {
//	    mechTypes   [0] MechTypeList  OPTIONAL,
//	    reqFlags    [1] ContextFlags  OPTIONAL,
//	    mechToken   [2] OCTET STRING  OPTIONAL,
//	    negHints    [3] NegHints      OPTIONAL,
//	    mechListMIC [4] OCTET STRING  OPTIONAL,
//	    ...
//	}
//	NegHints ::= SEQUENCE {
//	    hintName    [0] GeneralString OPTIONAL,
//	    hintAddress [1] OCTET STRING  OPTIONAL
//	}
//
// ParseNegTokenInit reads the same token and drops the hints; this type
// keeps them, so a server's token re-marshals to its own bytes. As in
// NegTokenInit, nil slices are absent fields.
type NegTokenInit2 struct {
	// MechTypes lists the mechanisms the acceptor takes, most preferred
	// first. It must not be empty: this package requires it, as every
	// server does that sends the token.
	MechTypes []asn1.ObjectIdentifier
	// ReqFlags are the raw reqFlags content octets, as in NegTokenInit.
	ReqFlags []byte
	// MechToken is an optimistic token, which servers do not send.
	MechToken []byte
	// HintName is negHints' hintName, the GeneralString's octets; Windows
	// sends "not_defined_in_RFC4178@please_ignore" (MS-SPNG 3.2.5.2).
	HintName []byte
	// HintAddress is negHints' hintAddress.
	HintAddress []byte
	// MechListMIC is the mechListMIC at [4].
	MechListMIC []byte
}

// ParseNegTokenInit2 decodes a NegTokenInit2 inside the InitialContextToken
// framing. A token with an RFC 4178 mechListMIC at [3] is refused: it is a
// NegTokenInit. The result shares no memory with b.
func ParseNegTokenInit2(b []byte) (*NegTokenInit2, error) {
	// ParseNegTokenInit checks the framing and every field but the hints.
	base, err := ParseNegTokenInit(b)
	if err != nil {
		return nil, err
	}
	t := &NegTokenInit2{MechTypes: base.MechTypes, ReqFlags: base.ReqFlags, MechToken: base.MechToken, MechListMIC: base.MechListMIC}
	outer, _ := only(b, "InitialContextToken")
	_, rest, _ := next(outer.Bytes(), "thisMech")
	choice, _ := only(rest, "NegotiationToken")
	fields, _ := sequenceFields(nil, choice.Bytes(), 4, "NegTokenInit")
	for _, f := range fields {
		if f.tag != 3 {
			continue
		}
		if !is(f.inner, asn1.ClassUniversal, asn1.TagSequence, true) {
			return nil, malformed("NegTokenInit has an RFC 4178 mechListMIC at [3], not negHints")
		}
		hints, err := sequenceFields(nil, f.inner.FullBytes, 1, "negHints")
		if err != nil {
			return nil, err
		}
		for _, h := range hints {
			switch h.tag {
			case 0:
				if !is(h.inner, asn1.ClassUniversal, tagGeneralString, false) {
					return nil, malformed("negHints hintName is not a GeneralString")
				}
				t.HintName = append([]byte{}, h.inner.Bytes()...)
			case 1:
				if t.HintAddress, err = decodeOctets(h.inner, "hintAddress"); err != nil {
					return nil, err
				}
			}
		}
		// An empty negHints SEQUENCE would not survive Marshal, which
		// writes negHints only when it has a hint.
		if t.HintName == nil && t.HintAddress == nil {
			return nil, malformed("negHints is empty")
		}
	}
	return t, nil
}

// Marshal returns the DER encoding of t inside the InitialContextToken
// framing, negHints at [3] when it has a hint and mechListMIC at [4].
func (t *NegTokenInit2) Marshal() ([]byte, error) {
	mechs, err := MechTypeListDER(t.MechTypes)
	if err != nil {
		return nil, err
	}
	body, err := explicit(0, mechs)
	if err != nil {
		return nil, err
	}
	if t.ReqFlags != nil {
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
	if t.HintName != nil || t.HintAddress != nil {
		var hints []byte
		if t.HintName != nil {
			if hints, err = appendField(hints, 0, asn1.RawValue{Class: asn1.ClassUniversal, Tag: tagGeneralString, Bytes: t.HintName}); err != nil {
				return nil, err
			}
		}
		if t.HintAddress != nil {
			if hints, err = appendField(hints, 1, t.HintAddress); err != nil {
				return nil, err
			}
		}
		seq, err := sequence(hints)
		if err != nil {
			return nil, err
		}
		f, err := explicit(3, seq)
		if err != nil {
			return nil, err
		}
		body = append(body, f...)
	}
	if t.MechListMIC != nil {
		if body, err = appendField(body, 4, t.MechListMIC); err != nil {
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
	oid, err := asn1.Marshal(OIDSPNEGO)
	if err != nil {
		return nil, err
	}
	out, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassApplication, Tag: 0, IsCompound: true, Bytes: append(oid, choice...)})
	if err != nil {
		return nil, err
	}
	return checkOutput(out, "NegTokenInit2")
}
