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
// parser would reject it. It is written by hand (der.go) into one buffer.
func (t *NegTokenResp) Marshal() ([]byte, error) {
	if !t.NegState.valid() {
		return nil, fmt.Errorf("spnego: invalid NegState %d", int(t.NegState))
	}
	// Sizes first, inside out, so the token is built in one allocation.
	body := 0
	if t.NegState != NegStateAbsent {
		body += tlvLen(tlvLen(1))
	}
	mech := 0
	if t.SupportedMech != nil {
		var err error
		if mech, err = oidLen(t.SupportedMech); err != nil {
			return nil, fmt.Errorf("spnego: supportedMech: %w", err)
		}
		body += tlvLen(tlvLen(mech))
	}
	if t.ResponseToken != nil {
		body += tlvLen(tlvLen(len(t.ResponseToken)))
	}
	if t.MechListMIC != nil {
		body += tlvLen(tlvLen(len(t.MechListMIC)))
	}
	size := tlvLen(tlvLen(body))
	if size > MaxTokenSize {
		return nil, fmt.Errorf("spnego: NegTokenResp of %d bytes exceeds %d", size, MaxTokenSize)
	}

	out := make([]byte, 0, size)
	out = appendTL(out, derContext+tagNegTokenResp, tlvLen(body))
	out = appendTL(out, derSequence, body)
	if t.NegState != NegStateAbsent {
		out = appendTL(out, derContext+0, tlvLen(1))
		out = append(out, derEnumerated, 1, byte(t.NegState))
	}
	if t.SupportedMech != nil {
		out = appendTL(out, derContext+1, tlvLen(mech))
		out = appendTL(out, derOID, mech)
		out = appendOIDContent(out, t.SupportedMech)
	}
	for i, f := range [...][]byte{t.ResponseToken, t.MechListMIC} {
		if f != nil {
			out = appendTL(out, derContext+2+byte(i), tlvLen(len(f)))
			out = appendTL(out, derOctetString, len(f))
			out = append(out, f...)
		}
	}
	return out, nil
}

// ParseNegTokenResp decodes a bare [1] NegTokenResp. The result shares no
// memory with b.
func ParseNegTokenResp(b []byte) (*NegTokenResp, error) {
	t := new(NegTokenResp)
	if err := parseNegTokenResp(t, b, true); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseNegTokenRespInto is ParseNegTokenResp into *t, without copies:
// ResponseToken and MechListMIC share b's memory. A handshake that
// parses a token and is done with it before the caller's next use of b
// saves two allocations. After an error *t holds no result.
func ParseNegTokenRespInto(t *NegTokenResp, b []byte) error {
	return parseNegTokenResp(t, b, false)
}

func parseNegTokenResp(t *NegTokenResp, b []byte, copied bool) error {
	*t = NegTokenResp{NegState: NegStateAbsent}
	if err := t.parse(b, copied); err != nil {
		*t = NegTokenResp{}
		return err
	}
	return nil
}

func (t *NegTokenResp) parse(b []byte, copied bool) error {
	if err := checkSize(b); err != nil {
		return err
	}
	choice, err := only(b, "NegotiationToken")
	if err != nil {
		return err
	}
	if !is(choice, asn1.ClassContextSpecific, tagNegTokenResp, true) {
		return malformed("NegotiationToken is not negTokenResp [1]")
	}
	var fieldBuf [4]field
	fields, err := sequenceFields(fieldBuf[:0], choice.Bytes(), 3, "NegTokenResp")
	if err != nil {
		return err
	}

	// Copies of the two octet strings share one allocation.
	var octets []byte
	if copied {
		for _, f := range fields {
			if f.tag == 2 || f.tag == 3 {
				octets = make([]byte, 0, len(choice.Bytes()))
				break
			}
		}
	}
	for _, f := range fields {
		switch f.tag {
		case 0:
			if err := checkUniversal(f.inner, asn1.TagEnum, false, "negState"); err != nil {
				return err
			}
			e, err := parseEnum32(f.inner.Bytes())
			if err != nil {
				return malformed("%s: %v", "negState", err)
			}
			if e < int32(AcceptCompleted) || e > int32(RequestMIC) {
				return malformed("negState %d out of range", int(e))
			}
			t.NegState = NegState(e)
		case 1:
			if t.SupportedMech, err = decodeOID(f.inner, "supportedMech"); err != nil {
				return err
			}
		case 2:
			if t.ResponseToken, octets, err = octetsOf(octets, f.inner, copied, "responseToken"); err != nil {
				return err
			}
		case 3:
			if t.MechListMIC, octets, err = octetsOf(octets, f.inner, copied, "mechListMIC"); err != nil {
				return err
			}
		}
	}
	return nil
}
