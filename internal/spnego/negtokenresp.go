package spnego

import (
	"encoding/asn1"
	"fmt"
)

// NegTokenResp is every later token: [1] NegTokenResp.
//
//	NegTokenResp ::= SEQUENCE {
//	    negState      [0] ENUMERATED { accept-completed (0),
//	                      accept-incomplete (1), reject (2),
//	                      request-mic (3) }  OPTIONAL,
//	    supportedMech [1] MechType           OPTIONAL,
//	    responseToken [2] OCTET STRING       OPTIONAL,
//	    mechListMIC   [3] OCTET STRING       OPTIONAL,
//	    ...
//	}
//
// Unlike NegTokenInit it has no GSS-API framing (RFC 4178 section 4.2).
// Absent fields are NegStateAbsent, a nil OID and nil slices; a non-nil empty
// slice is a present, empty OCTET STRING.
type NegTokenResp struct {
	// NegState is required in the acceptor's first reply and optional
	// afterwards; the initiator's replies usually omit it.
	NegState NegState
	// SupportedMech is the mechanism the acceptor chose, present only in
	// its first reply.
	SupportedMech asn1.ObjectIdentifier
	// ResponseToken carries the chosen mechanism's token (for NTLM, the
	// CHALLENGE or AUTHENTICATE message).
	ResponseToken []byte
	// MechListMIC is the MIC over the initiator's MechTypeList.
	MechListMIC []byte
}

// Marshal returns the DER encoding of t, omitting absent optional fields.
// A NegState outside NegStateAbsent..RequestMIC is an error, since the
// parser would reject it.
func (t *NegTokenResp) Marshal() ([]byte, error) {
	if !t.NegState.valid() {
		return nil, fmt.Errorf("spnego: invalid NegState %d", int(t.NegState))
	}
	var body []byte
	var err error
	if t.NegState != NegStateAbsent {
		if body, err = appendField(body, 0, asn1.Enumerated(t.NegState)); err != nil {
			return nil, err
		}
	}
	if t.SupportedMech != nil {
		if body, err = appendField(body, 1, t.SupportedMech); err != nil {
			return nil, fmt.Errorf("spnego: supportedMech: %w", err)
		}
	}
	if t.ResponseToken != nil {
		if body, err = appendField(body, 2, t.ResponseToken); err != nil {
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
	out, err := explicit(tagNegTokenResp, seq)
	if err != nil {
		return nil, err
	}
	return checkOutput(out, "NegTokenResp")
}

// ParseNegTokenResp decodes a bare [1] NegTokenResp. The result shares no
// memory with b.
func ParseNegTokenResp(b []byte) (*NegTokenResp, error) {
	if err := checkSize(b); err != nil {
		return nil, err
	}
	choice, err := only(b, "NegotiationToken")
	if err != nil {
		return nil, err
	}
	if !is(choice, asn1.ClassContextSpecific, tagNegTokenResp, true) {
		return nil, malformed("NegotiationToken is not negTokenResp [1]")
	}
	fields, err := sequenceFields(choice.Bytes, 3, "NegTokenResp")
	if err != nil {
		return nil, err
	}

	t := &NegTokenResp{NegState: NegStateAbsent}
	for _, f := range fields {
		switch f.tag {
		case 0:
			var e asn1.Enumerated
			if err := decodeValue(f.inner, asn1.TagEnum, false, &e, "negState"); err != nil {
				return nil, err
			}
			if e < asn1.Enumerated(AcceptCompleted) || e > asn1.Enumerated(RequestMIC) {
				return nil, malformed("negState %d out of range", int(e))
			}
			t.NegState = NegState(e)
		case 1:
			if t.SupportedMech, err = decodeOID(f.inner, "supportedMech"); err != nil {
				return nil, err
			}
		case 2:
			if t.ResponseToken, err = decodeOctets(f.inner, "responseToken"); err != nil {
				return nil, err
			}
		case 3:
			if t.MechListMIC, err = decodeOctets(f.inner, "mechListMIC"); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}
