// Package client gets Kerberos tickets for the fake's future Kerberos
// security package: a TGT from the AS exchange with PA-ENC-TIMESTAMP
// pre-authentication, and service tickets from the TGS exchange (RFC 4120
// sections 3.1 and 3.3).
//
// The AS exchange goes as Windows runs it: a first AS-REQ without
// pre-authentication, which the KDC answers with KDC_ERR_PREAUTH_REQUIRED
// and the salts and iteration counts of PA-ETYPE-INFO2; then an AS-REQ
// with the timestamp encrypted in the key derived from them. The client
// remembers the KDC's answer, so its next AS-REQ pre-authenticates at
// once.
//
// A Client reaches its KDC through a function (Config.Exchange), so the
// fake can call an in-memory KDC directly and a test can use the network,
// and runs on the clock and random source of its Config. KDC refusals
// come back as *msg.KRBError errors, which wrap their msg.ErrorCode.
package client
