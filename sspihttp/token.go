package sspihttp

import (
	"bytes"
	"encoding/asn1"
	"encoding/binary"
)

// The middleware looks into tokens for two reasons only: to tell a first
// token (which starts a new handshake on the connection, RFC 4559 section
// 5) from a continuation, and, under ProtectionRequire, to see whether an
// NTLM client bound its AUTHENTICATE to the channel. Everything else about
// a token is the security package's business.

var ntlmSignature = []byte("NTLMSSP\x00")

// NTLM message types (MS-NLMP 2.2.1).
const (
	ntlmNegotiate    = 1
	ntlmAuthenticate = 3
)

// ntlmType returns the NTLM message type of a raw NTLMSSP token, or 0.
func ntlmType(tok []byte) uint32 {
	if len(tok) < 12 || !bytes.HasPrefix(tok, ntlmSignature) {
		return 0
	}
	return binary.LittleEndian.Uint32(tok[8:12])
}

// isFirstToken reports whether a client token starts a handshake. A GSS
// initial context token (tag 0x60: SPNEGO's NegTokenInit or a raw Kerberos
// AP-REQ) and an NTLM NEGOTIATE do; an SPNEGO NegTokenResp (tag 0xa1) and
// an NTLM AUTHENTICATE continue one. Anything else counts as a first
// token, so that the security package, not this guess, refuses it.
func isFirstToken(tok []byte) bool {
	if t := ntlmType(tok); t != 0 {
		return t != ntlmAuthenticate
	}
	return len(tok) == 0 || tok[0] != 0xa1
}

// negTokenResp is SPNEGO's NegTokenResp (RFC 4178, section 4.2.2).
type negTokenResp struct {
	NegState      asn1.Enumerated       `asn1:"explicit,optional,tag:0"`
	SupportedMech asn1.ObjectIdentifier `asn1:"explicit,optional,tag:1"`
	ResponseToken []byte                `asn1:"explicit,optional,tag:2"`
	MechListMIC   []byte                `asn1:"explicit,optional,tag:3"`
}

// ntlmAuthenticateOf returns the NTLM AUTHENTICATE message a client token
// carries, raw or as the responseToken of a NegTokenResp, or nil.
func ntlmAuthenticateOf(tok []byte) []byte {
	if ntlmType(tok) == ntlmAuthenticate {
		return tok
	}
	var outer asn1.RawValue
	if rest, err := asn1.Unmarshal(tok, &outer); err != nil || len(rest) != 0 ||
		outer.Class != asn1.ClassContextSpecific || outer.Tag != 1 || !outer.IsCompound {
		return nil
	}
	var resp negTokenResp
	if rest, err := asn1.Unmarshal(outer.Bytes, &resp); err != nil || len(rest) != 0 {
		return nil
	}
	if ntlmType(resp.ResponseToken) == ntlmAuthenticate {
		return resp.ResponseToken
	}
	return nil
}

// ntlmBindsChannel reports whether an AUTHENTICATE message carries an
// NTLMv2 response whose AV pairs hold a non-zero MsvAvChannelBindings
// (MS-NLMP 2.2.2.1): the client bound its logon to the channel. The
// pairs sit inside the NTProofStr's HMAC, so once the security package
// has accepted the message they are the client's own; a package given the
// server's bindings has also compared the two (MS-NLMP 3.2.5.1.2).
func ntlmBindsChannel(auth []byte) bool {
	// NtChallengeResponseFields: Len (2), MaxLen (2), BufferOffset (4) at 20.
	if len(auth) < 28 {
		return false
	}
	n := int(binary.LittleEndian.Uint16(auth[20:22]))
	off := int(binary.LittleEndian.Uint32(auth[24:28]))
	if off < 0 || off > len(auth) || n > len(auth)-off {
		return false
	}
	resp := auth[off : off+n]
	// NTLMv2_RESPONSE: NTProofStr (16), then NTLMv2_CLIENT_CHALLENGE whose
	// AV pairs start at byte 28; an NTLMv1 response is 24 bytes long.
	const pairsAt = 16 + 28
	if len(resp) <= pairsAt {
		return false
	}
	for p := resp[pairsAt:]; len(p) >= 4; {
		id := binary.LittleEndian.Uint16(p[0:2])
		l := int(binary.LittleEndian.Uint16(p[2:4]))
		if id == 0 || l > len(p)-4 { // MsvAvEOL, or a truncated pair
			return false
		}
		if id == 0x000A { // MsvAvChannelBindings
			return !allZero(p[4 : 4+l])
		}
		p = p[4+l:]
	}
	return false
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
