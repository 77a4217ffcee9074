// Package spnego implements the SPNEGO token formats (RFC 4178, as profiled
// by Microsoft in [MS-SPNG]) that the emulated Negotiate package exchanges
// around Kerberos or NTLM.
//
// A Negotiate exchange carries two kinds of NegotiationToken:
//
//   - [NegTokenInit], the initiator's first token, which travels inside the
//     GSS-API InitialContextToken framing of RFC 2743 section 3.1:
//     [APPLICATION 0] { OID 1.3.6.1.5.5.2, [0] NegTokenInit }.
//   - [NegTokenResp], every later token in either direction, sent bare as
//     [1] NegTokenResp with no framing.
//
// [IsNegTokenInit] and [IsNegTokenResp] tell the two apart from the first
// byte so a caller can dispatch before parsing.
//
// The package only encodes and decodes; choosing a mechanism, and computing
// and checking the mechListMIC over [MechTypeListDER], are the caller's job.
//
// Parsing is strict DER because the mechListMIC is computed over the
// encoding of the mechanism list, so two encodings of the same list must not
// both be accepted. Parsers never panic: every element is bounds-checked,
// trailing bytes and unknown fields are rejected, and every failure wraps
// [ErrMalformed] so callers can map it to SEC_E_INVALID_TOKEN with
// errors.Is. The one tolerance is Microsoft's NegTokenInit2 (MS-SPNG 2.2.1),
// whose negHints field servers send in their first token; ParseNegTokenInit
// accepts and drops it, since the hints carry nothing a client may rely on,
// and [NegTokenInit2] keeps it, so a server's token re-marshals to its own
// bytes.
//
// [MS-SPNG]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-spng/
package spnego
