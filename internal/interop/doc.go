// Package interop holds the live interop tier: tests that hold the fake
// backend's NTLM, Negotiate and Kerberos against real peers on loopback,
// in both roles. It has no code of its own; everything is in its tests.
//
// The peers are started by the tests themselves:
//
//   - MIT krb5's GSSAPI with gss-ntlmssp, for the raw NTLM mechanism and for
//     SPNEGO, as initiator and as acceptor, driven through Debian's
//     python3-gssapi by testdata/gsspeer.py over a line protocol;
//   - the same SPNEGO initiator with a Kerberos ticket from a throwaway MIT
//     realm on a loopback port, so that it offers Kerberos first, as every
//     domain-joined client does;
//   - MIT's own Kerberos mechanism against the fake's Kerberos package:
//     MIT's initiator with a ticket MIT's kinit got from a fake domain's
//     KDC (Domain.ListenLoopback) to a fake server, and a fake client whose
//     domain sends its requests to the throwaway MIT realm's KDC to MIT's
//     acceptor with the realm's keytab;
//   - the same two setups under SPNEGO: MIT's spnego mechanism against the
//     fake's Negotiate, which must choose Kerberos in one round trip though
//     both MIT peers could fall back to NTLM (gss-ntlmssp);
//   - Samba's ntlm_auth, as NTLM and SPNEGO client and server;
//   - curl, with --ntlm and with --negotiate (GSSAPI with gss-ntlmssp),
//     against an HTTP endpoint served by the fake; and with --negotiate
//     holding a ticket from a fake domain's KDC against the sspihttp
//     middleware on a machine of that domain, where Kerberos must
//     complete in one leg.
//
// A plain `go test ./...` skips the tier with a line saying how to run it.
// GOSSPI_INTEROP=1 runs it where the tools are installed, and
// GOSSPI_REQUIRE_TIERS=1 (set by CI) runs it and fails every test whose
// tool is missing. `bash .ci/interop-tier.sh` installs the tools on Debian
// and runs the tier. The tier ends by printing which operation held
// against which peer in which direction.
//
// TestCapture records conversations with the peers into the repository's
// testdata/interop (GOSSPI_INTEROP_CAPTURE=1 writes those not there yet),
// talking to a fake machine with a fixed clock and randomness, so that
// internal/capture/replay and the fake's own tests replay them without the
// peers.
//
// Environment variables for the peers (GSS_MECH_CONFIG, KRB5_CONFIG,
// KRB5CCNAME, NTLM_USER_FILE) are set for the child processes only, so the
// tests neither read the machine's GSSAPI configuration nor change it.
package interop
