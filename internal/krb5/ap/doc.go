// Package ap is the Kerberos AP exchange (RFC 4120 section 3.2) as the
// Kerberos GSS-API mechanism (RFC 4121) runs it, for both sides of the
// fake's future Kerberos security package.
//
// The initiator ([Initiate]) turns a service ticket and its session key
// into an AP-REQ context token whose authenticator carries a subkey, an
// initial sequence number and the 0x8003 checksum with the context flags
// and the channel bindings; with mutual authentication it then checks
// the acceptor's AP-REP ([Initiator.Finish]).
//
// The acceptor ([Acceptor.Accept]) decrypts the ticket with the
// service's key, checks that the ticket is for this service, the
// authenticator's time against its clock, the replay cache, the ticket's
// validity, the channel bindings, and the PAC's server signature, and
// returns the client's name, its PAC groups, the AP-REP token and what
// the per-message session needs.
//
// [Verify] is the part of the acceptor that any AP-REQ needs, which a
// KDC uses for the AP-REQ inside a TGS-REQ.
//
// Everything runs on the clock and random source of its configuration,
// so that the fake can drive it deterministically. Refusals wrap the
// Kerberos error code that names them (msg.ErrorCode: KRB_AP_ERR_SKEW,
// KRB_AP_ERR_TKT_EXPIRED, KRB_AP_ERR_REPEAT, KRB_AP_ERR_MODIFIED, ...), so
// that a mechanism can map them to SSPI statuses with errors.As, and the
// acceptor can answer with a KRB-ERROR token ([ErrorToken]).
package ap
