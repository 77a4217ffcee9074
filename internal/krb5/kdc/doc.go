// Package kdc is an in-memory Kerberos KDC for one realm: the AS and TGS
// exchanges of RFC 4120 with PA-ENC-TIMESTAMP pre-authentication, the
// AES encryption types, and tickets carrying an MS-PAC with the user's
// groups, as a Windows domain controller issues them. It is the KDC of the
// fake's future Kerberos package, and a KDC real MIT clients can use
// over loopback (Serve).
//
// Principals are users, with a password, a RID and group RIDs, and
// services, with one or more SPNs (HTTP/web01.contoso.test) and a
// password or a random key. Long-term keys are derived once, when a
// principal is added, never per request. Names are matched without
// regard to case, as Active Directory matches them.
//
// Tickets and their lifetimes follow the configured clock. Refusals are
// KRB-ERROR replies with the codes a client maps to SSPI statuses:
// KDC_ERR_C_PRINCIPAL_UNKNOWN, KDC_ERR_S_PRINCIPAL_UNKNOWN,
// KDC_ERR_PREAUTH_REQUIRED (with PA-ETYPE-INFO2 first in its METHOD-DATA),
// KDC_ERR_PREAUTH_FAILED, KRB_AP_ERR_SKEW, KRB_AP_ERR_TKT_EXPIRED and the
// others of RFC 4120 section 7.5.9.
//
// What it does not do: cross-realm referrals, user-to-user, S4U,
// renewal and validation, FAST, PKINIT, the RC4 and DES types, and the
// ticket and extended KDC PAC signatures of recent Windows versions.
package kdc
