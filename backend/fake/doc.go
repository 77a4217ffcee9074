// Package fake is an emulated Windows SSPI in pure Go that runs on every
// platform: machines with an identity and a sealing key, processes with
// their own handle tables, a principal directory, an injectable clock,
// fault injection, and security packages that speak the real wire
// protocols (NTLM per MS-NLMP, Kerberos per RFC 4120 and RFC 4121, and
// Negotiate as SPNEGO over both, per RFC 4178 and MS-SPNG), so tokens look
// and verify like real ones.
//
// A Process implements backend.Backend (import sspictx
// "github.com/gosspi/gosspi/context"); give it to sspictx.NewStore and test
// your authentication code on any OS:
//
//	m := fake.NewMachine(fake.MachineConfig{Name: "HOST", Domain: "CONTOSO"})
//	m.AddUser("CONTOSO", "alice", "s3cret")
//	store := sspictx.NewStore(m.NewProcess())
//
// Contexts exported with ExportSecurityContext are sealed with the
// machine's key and bound to its identity: a Process on the same Machine
// can import them, no other machine can. HostMachine binds a machine to the
// real host, so two OS processes on one host can hand a context over.
//
// # Domains and Kerberos
//
// A Domain (NewDomain) is an Active Directory domain in memory: one KDC
// (realm: the DNS name in upper case) and its directory of users, with
// groups, and service accounts with SPNs. Domain.NewMachine joins a
// machine to it, registering its computer account NAME$ with the SPNs
// HOST/name and HOST/name.dnsdomain (Domain.AddSPN adds more). The
// machines of a domain share its KDC, so a client process on one machine
// authenticates to a server process on another:
//
//	dom, _ := fake.NewDomain(fake.DomainConfig{Name: "CONTOSO", DNSName: "contoso.test"})
//	dom.AddUser("alice", "s3cret", "Web Admins")
//	ws01, _ := dom.NewMachine(fake.MachineConfig{Name: "WS01"})
//	web01, _ := dom.NewMachine(fake.MachineConfig{Name: "WEB01"})
//	dom.AddSPN("WEB01$", "HTTP/web01.contoso.test")
//
// The Kerberos package gets a TGT and a service ticket for the target SPN
// from the KDC (cached per machine and principal, on the machine's clock)
// and sends an AP-REQ; with ISC_REQ_MUTUAL_AUTH it finishes on the server's
// AP-REP, without it after its first token. The server accepts tickets to
// the SPNs of its machine account and of the domain service account its
// process runs as (AsUser), or, with credentials acquired for a service
// account explicitly, that account's alone; it takes the client's groups
// from the ticket's PAC. Messages are RFC 4121 tokens with AES (SIZES 28 and
// 60), and a context ends with its ticket. Domain users also log on with
// NTLM on every joined machine. Domain.SetReachable(false) makes the KDC
// unreachable (SEC_E_NO_AUTHENTICATING_AUTHORITY); Domain.ListenLoopback
// serves it to real Kerberos clients, and DomainConfig.KDCs sends the
// fake's requests to real KDCs instead.
//
// # Negotiate
//
// Negotiate prefers Kerberos, as Windows does in a domain. The client
// offers {MS-KRB5, KRB5, NTLM} with the AP-REQ inside its NegTokenInit
// when it can get a ticket for the target SPN, and the server completes
// in one NegTokenResp (the AP-REP with mutual authentication; without it
// the client is done on its first call and the server's reply is not for
// it). A client that cannot get a ticket (unknown SPN, no domain, KDC
// unreachable) offers NTLM alone; a wrong password is SEC_E_LOGON_DENIED,
// not a reason to try NTLM. A server passes over Kerberos when it is in
// no domain or the ticket is for an SPN it holds no key of, and steers the
// client to NTLM with request-mic, as it does MIT clients of other realms.
// SECPKG_ATTR_NEGOTIATION_INFO and PACKAGE_INFO name the package chosen;
// exported contexts carry it. negotiate.go draws both exchanges.
//
// Where Windows' behaviour is not documented, the fake takes the stricter
// reading, so that code which passes on the fake does not fail on Windows.
// Those rows are listed in README.md ("strict").
//
// # Adding a mechanism
//
// A security package is an entry of the registry, packages in mech.go: what
// Windows reports for it (PackageInfo, SIZES), the OID under which
// Negotiate offers it (nil for none), and its mechanism. The generic code
// knows mechanisms only through three interfaces, also in mech.go:
//
//   - mechanism starts client and server handshakes, says which requested
//     context flags it grants, and restores a session from packed state;
//   - handshake steps through the peer's tokens, keeping its own position,
//     until it yields a session (and, on a server, the client it
//     authenticated);
//   - session signs, verifies, seals and unseals, reports its SIZES and
//     session key, records where RESET_NEW returns to, packs its state
//     under a layout version of its own, and zeroes its keys.
//
// Refusals are mechErrors carrying the SSPI status; the generic code names
// the call and the package. mech_ntlm.go and mech_kerberos.go are the
// models. Negotiate offers every registered mechanism with an OID, in
// registry order, and packs the chosen one's state inside its own. Its
// exchange (negotiate.go) takes both shapes: a mechanism that finishes on
// the client's first token, as Kerberos does, and one that needs a round
// trip more, as NTLM does. A mechanism that an acceptor may be unable to
// run, or whose first token may be for another server, implements
// negAcceptor, so that the acceptor takes the client's next mechanism.
//
// A released state layout stays readable: a change gets a new version
// number, and a golden blob of it joins the old ones in testdata.
package fake
