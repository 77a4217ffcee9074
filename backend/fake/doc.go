// Package fake is an emulated Windows SSPI in pure Go that runs on every
// platform: machines with an identity and a sealing key, processes with
// their own handle tables, a principal directory, an injectable clock,
// fault injection, and security packages that speak the real wire
// protocols (NTLM per MS-NLMP, and Negotiate as SPNEGO over NTLM), so
// tokens look and verify like real ones.
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
// Where Windows' behaviour is not documented, the fake takes the stricter
// reading, so that code which passes on the fake does not fail on Windows.
// Those rows are listed in README.md ("strict").
package fake
