// Package backendtest is the conformance suite every gosspi backend must
// pass, in the manner of testing/fstest.TestFS: a backend hands Run a
// Harness, and Run checks the lifecycle, handshakes, attributes, message
// protection, impersonation, export and import, invalid handles and
// concurrency against it.
//
// The suite asserts only what holds on Windows. Where a backend cannot do
// something (Wine implements no export or import, for example), the Harness
// declares it, and the suite then checks the declared answer exactly instead
// of skipping silently. Where nothing documents the answer and no run has
// observed it yet, the Harness says so instead of guessing: a capability
// declared Unknown runs its checks but logs what does not hold, and
// Caps.Observed lets one check accept the plausible statuses and log which
// one came. Both write "backendtest: observed" lines, so a first run on a
// new platform reports what it does.
//
// Imports can run in another OS process (Harness.Importer), as Microsoft
// describes ImportSecurityContext; the job and its result cross as JSON.
//
// Every error the suite provokes is checked for its Status and for its Op,
// the call that failed: a backend must name the call the same way on every
// platform.
//
// The suite uses nothing but package testing, so a backend's tests need no
// other test library to run it.
package backendtest

import (
	"strconv"
	"testing"
	"time"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
)

// DefaultTimeout is how long one scenario may run when Harness.Timeout is
// zero.
const DefaultTimeout = 3 * time.Minute

// Harness is what a backend gives the suite.
type Harness struct {
	// Name names the backend in the suite's failures and log lines, e.g.
	// "fake" or "winsspi". It is required.
	Name string
	// NewBackend returns a backend for a new process on the machine under
	// test. Export and import hand contexts between two of them. It may
	// register cleanups on t.
	NewBackend func(t testing.TB) backend.Backend
	// NewForeignBackend, if set, returns a backend on another machine: a
	// context exported on the machine under test must not import there.
	NewForeignBackend func(t testing.TB) backend.Backend
	// Importer, if set, does an ImportJob in another OS process of the
	// machine under test and returns its result: Microsoft describes
	// ImportSecurityContext as importing into a different process, which
	// is what the winsspi harness does on Windows by running its test
	// binary again. Nil does every import in this process, on a backend
	// from NewBackend (the fake's NewBackend already is a new process).
	// An Importer must carry ImportJob.Token into the other process.
	Importer func(t testing.TB, job ImportJob) ImportResult
	// Packages lists the security packages to test, each with the
	// credentials and capabilities it has on this backend.
	Packages []Package
	// DoubleDelete reports that deleting an already deleted handle is safe
	// to try (it is not under Wine, whose handle table it corrupts).
	DoubleDelete bool
	// Timeout bounds each scenario of the suite (Handshake, Sign, Export,
	// ...). Zero means DefaultTimeout; a negative Timeout means none, for
	// a session under a debugger.
	//
	// An SSPI call that hangs cannot be cancelled, and the goroutine stuck
	// in it may hold locks the rest of the suite needs, so a scenario that
	// runs out of time is not failed and left behind: the suite stops the
	// whole test binary, as go test's -timeout does, with a panic that
	// names the backend and the scenario and prints every goroutine's
	// stack, the hung call's included.
	Timeout time.Duration
}

// Package is one security package under test.
type Package struct {
	// Name is the package name as the backend knows it: "NTLM", "Kerberos", "Negotiate".
	Name string
	// Client is the explicit identity of the client, or nil for the
	// caller's default credentials.
	Client *sspictx.AuthIdentity
	// Server is the explicit identity of the server, or nil for default.
	Server *sspictx.AuthIdentity
	// Target is the service principal name the client asks for.
	Target string
	// ClientName is the name the server reports for the client through
	// AttrNames, as DOMAIN\user or user@REALM (compared case-insensitively).
	ClientName string
	// WrongPassword, if set, is the client identity with a wrong password:
	// acquiring its credentials or the handshake must fail with
	// SEC_E_LOGON_DENIED, from the call that checked the password.
	WrongPassword *sspictx.AuthIdentity
	// Caps says what this package can do on this backend.
	Caps Caps
}

// Support says how a backend answers one kind of call.
type Support int

const (
	// Supported: the suite checks the full behaviour.
	Supported Support = iota
	// Unsupported: the suite checks that the call fails with
	// SEC_E_UNSUPPORTED_FUNCTION, from the call the capability names, and
	// that the context stays usable. A backend that lacks the optional
	// interface of package backend for a call (backend.Signer for
	// signatures, for example) gets that answer from the Store, so it
	// declares the call Unsupported.
	Unsupported
	// Broken: the backend is known to misbehave here (say why in the
	// harness); the suite leaves these checks out and counts them.
	Broken
	// Unknown: nothing documents how the backend answers here and no run
	// has observed it yet. The suite runs the checks of Supported, but a
	// check that does not hold is logged as a "backendtest: observed"
	// line and the test is skipped, not failed, so that the first run on
	// a new platform reports what it does. Once a run has shown the
	// answer, declare it instead.
	Unknown
)

// String returns "Supported", "Unsupported", "Broken" or "Unknown".
func (s Support) String() string {
	switch s {
	case Supported:
		return "Supported"
	case Unsupported:
		return "Unsupported"
	case Broken:
		return "Broken"
	case Unknown:
		return "Unknown"
	}
	return "Support(" + strconv.Itoa(int(s)) + ")"
}

// Caps declares what a package supports on a backend.
type Caps struct {
	// ClientSign is MakeSignature on the client and VerifySignature on the
	// server; Unsupported means both answer SEC_E_UNSUPPORTED_FUNCTION.
	ClientSign Support
	// ServerSign is MakeSignature on the server and VerifySignature on the
	// client.
	ServerSign Support
	// Seal is EncryptMessage and DecryptMessage in both directions.
	Seal Support
	// Export is ExportSecurityContext and ImportSecurityContext.
	Export Support
	// ContextToken is QuerySecurityContextToken on a server context.
	ContextToken Support
	// Impersonate is ImpersonateSecurityContext and RevertSecurityContext
	// on a server context.
	Impersonate Support
	// Unsynchronized is the Unsynchronized scenario: one pair of handles
	// driven from many goroutines at once, below the Store. Unsupported is
	// no answer here: it leaves the scenario out, as Broken does.
	Unsynchronized Support
	// Names, SessionKey and PackageInfo are the context attributes
	// SECPKG_ATTR_NAMES, SECPKG_ATTR_SESSION_KEY and SECPKG_ATTR_PACKAGE_INFO.
	Names       Support
	SessionKey  Support
	PackageInfo Support
	// SequenceDetect reports that replayed and reordered messages are
	// refused with SEC_E_OUT_OF_SEQUENCE. Unsupported means the package
	// numbers no messages, so two signatures of one message may be equal.
	SequenceDetect Support
	// ConcurrentSequence reports that MakeSignature and EncryptMessage
	// calls made at once on one context handle, below the Store (which
	// serializes them), each take a sequence number of their own, so that
	// no two of them return the same bytes. Anything but Supported leaves
	// that check out (under Wine, MIT krb5 hands one number to two calls).
	ConcurrentSequence Support
	// ContextFlags reports that the handshake returns the granted
	// ISC_RET_*/ASC_RET_* flags (Wine's NTLM returns none).
	ContextFlags Support
	// RawNTLM reports that the acceptor takes a raw NTLMSSP
	// NEGOTIATE_MESSAGE that a real client sent (captured from MIT's
	// gss-ntlmssp and Samba) and answers with a raw CHALLENGE_MESSAGE: NTLM
	// does everywhere, and Windows' Negotiate does for HTTP clients that
	// send "Negotiate TlRMTVNT...". Anything but Supported leaves the check
	// out; Kerberos has none.
	RawNTLM Support
	// ImportNegotiated makes the suite import an exported context first
	// under the package that SECPKG_ATTR_NEGOTIATION_INFO names (NTLM, for
	// a Negotiate context that chose it) and then under the package's own
	// name, and log which name took the blob: a Windows Negotiate context
	// exports the blob of the package it negotiated. False imports under
	// the package's own name only.
	ImportNegotiated bool
	// Observed lists the checks whose status nothing documents for this
	// backend, each with the statuses that are plausible there. Such a
	// check accepts any of them and logs the one that came as a
	// "backendtest: observed" line; any other answer still fails. A check
	// not listed expects the documented status exactly.
	Observed map[Check][]sspictx.Status
	// BadTokenStatus is the status a server answers for a first token that
	// is not a security token at all. Zero means SEC_E_INVALID_TOKEN, what
	// Windows answers; Wine's NTLM answers SEC_E_INTERNAL_ERROR.
	BadTokenStatus sspictx.Status
}

// Check names one check of the suite whose status a harness may declare
// unknown in Caps.Observed.
type Check string

// The checks Caps.Observed can name, with the status each expects when it
// is not listed.
const (
	// CheckReorder is VerifySignature of a message that overtook the one
	// signed before it: SEC_E_OUT_OF_SEQUENCE.
	CheckReorder Check = "Reorder"
	// CheckReplay is VerifySignature of a message verified once already:
	// SEC_E_OUT_OF_SEQUENCE.
	CheckReplay Check = "Replay"
	// CheckExportCopies is the client's VerifySignature of the second of
	// two messages that the exported context and its import signed with
	// one sequence number: SEC_E_OUT_OF_SEQUENCE.
	CheckExportCopies Check = "ExportCopies"
	// CheckToKernel is ExportSecurityContext with SECPKG_CONTEXT_EXPORT_TO_KERNEL
	// and DeleteOld: SEC_E_UNSUPPORTED_FUNCTION, the context untouched.
	// When an accepted SEC_E_OK comes instead, the suite logs what became
	// of the old context.
	CheckToKernel Check = "ToKernel"
	// CheckImport is ImportSecurityContext, with no access token, of a
	// blob ExportSecurityContext just returned: SEC_E_OK. When an accepted
	// failure comes instead, the suite leaves out the checks that need the
	// import.
	CheckImport Check = "Import"
	// CheckImportToken is ImportSecurityContext, in another process, of a
	// server context's blob with the client's access token that
	// ExportWithToken returned: SEC_E_OK. The suite makes it only through
	// a Harness.Importer, which can carry the token there.
	CheckImportToken Check = "ImportToken"
)
