// Package pac encodes, decodes, signs and verifies the Privilege
// Attribute Certificate of MS-PAC: the authorization data a Windows KDC
// puts in every ticket, in an AD-WIN2K-PAC element inside AD-IF-RELEVANT,
// so that a service learns the client's groups without asking a domain
// controller.
//
// A PAC is a PACTYPE: a list of typed buffers ([PAC]). This package
// gives the buffers it knows their own types:
//
//   - KERB_VALIDATION_INFO, the logon information ([LogonInfo]): names,
//     the user's RID, the RIDs of its groups in its domain, that domain's
//     SID, extra SIDs and resource groups. It is NDR-encoded (MS-RPCE
//     2.2.6, type serialization version 1, little-endian), and this
//     package writes it as Windows does, byte for byte (checked against
//     the example of MS-PAC section 3): every pointer's referent after the
//     structure, in order, with referent IDs counting up from 0x00020000,
//     and empty strings as present, zero-length arrays.
//   - PAC_CLIENT_INFO ([ClientInfo]): the client's name and the time its
//     TGT was issued, which a service compares with the ticket.
//   - UPN_DNS_INFO ([UPNDNSInfo]): the user principal name and DNS domain,
//     with the SAM name and SID when the S flag says so.
//   - PAC_SIGNATURE_DATA ([Signature]) of the server (checksum over the
//     whole PAC, in the service's key) and of the KDC (over the server
//     signature, in the krbtgt key), with the keyed checksums of
//     internal/krb5/kcrypto under key usage 17 (KERB_NON_KERB_CKSUM_SALT).
//
// Other buffers (credentials, delegation, claims, device information,
// attributes, requestor, and the ticket and extended KDC signatures of
// newer KDCs) are kept as bytes and written back unchanged; verification
// zeroes the extended KDC signature along with the server and KDC ones,
// as MS-PAC 2.8 asks. Signatures with HMAC-MD5 (RC4 keys) cannot be made
// or checked here.
package pac
