// Package ntlm implements the NTLM authentication protocol and its session
// security as specified in [MS-NLMP], for use by the emulated SSPI backend.
//
// The package speaks the real wire format so that tokens produced by the
// emulated backend look and verify like the ones Windows produces. It is
// deliberately narrow:
//
//   - NTLMv2 only: NTLMv1 and LM responses are never produced and NTLMv1
//     responses are rejected, because Windows has disabled them by default for
//     years and supporting them would only add attack surface.
//   - Connection-oriented mode only: one RC4 stream per direction for the whole
//     session (MS-NLMP 3.4), no per-message rekeying.
//   - Session security requires NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, the
//     only variant a current Windows negotiates with NTLMv2.
//
// The three handshake messages have typed representations with Marshal and
// Parse functions; [Client] and [Server] run the handshake state machines and
// [Session] provides MakeSignature/VerifySignature/EncryptMessage/
// DecryptMessage semantics, including exportable state so that a context can
// move between processes.
//
// Parsers never panic: every offset and length is bounds-checked and any
// inconsistency yields an error wrapping [ErrMalformed]. Errors returned by
// this package wrap one of the sentinel errors so the backend can map them to
// SSPI status codes with errors.Is.
//
// [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
package ntlm
