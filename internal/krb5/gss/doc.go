// Package gss is the token layer of the Kerberos GSS-API mechanism (RFC
// 4121), which Windows' Kerberos SSP speaks too: the framing of context
// tokens, the authenticator checksum that carries the context flags and
// the channel bindings, and the per-message MIC and Wrap tokens of an
// established context.
//
// Context tokens (AP-REQ, AP-REP, KRB-ERROR) travel in the
// InitialContextToken framing of RFC 2743 section 3.1 with the Kerberos
// OID and a two-byte token ID: [FrameToken] and [UnframeToken].
//
// The AP-REQ's authenticator carries a checksum of type 0x8003 (RFC 4121
// section 4.1.1): the MD5 of the channel bindings, the GSS flags the
// initiator asks for, and optionally a delegated credential:
// [AuthChecksum].
//
// A [Session] makes and checks MIC tokens (TOK_ID 04 04) and Wrap tokens
// (05 04) with and without confidentiality, numbering what it sends and
// checking the numbers of what it receives. It refuses a token whose
// checksum or encryption does not verify, or which claims the wrong
// sender or key, with [ErrModified], and a genuine token that arrives out
// of order (a replay, a gap, a reordering) with [ErrOutOfSequence], so a
// mechanism can report SEC_E_MESSAGE_ALTERED and SEC_E_OUT_OF_SEQUENCE
// as Windows does.
//
// Besides the GSS form of a Wrap token (header, then the rotated
// ciphertext, in one buffer), [Session.SealInPlace] and
// [Session.UnsealInPlace] use the buffer layout of Windows'
// EncryptMessage: the data is encrypted in place in its own buffer, and
// the security trailer holds the 16-byte header followed by the part of
// the ciphertext that a right rotation count of 28 moves to the front
// (the encrypted copy of the header, the HMAC and the encrypted
// confounder), 60 bytes for AES. The two forms are the same token: the
// trailer followed by the data is a Wrap token any RFC 4121 peer unwraps.
package gss
