package backend

import (
	"fmt"
	"slices"
)

// Status is a Windows SECURITY_STATUS, the result code of every SSPI call.
// Negative values (high bit set) are errors; SEC_I_* values are successes
// that say more is to be done.
//
// A Status is an error, so errors.Is(err, StatusInvalidHandle) works on any
// error this module returns.
type Status uint32

// SECURITY_STATUS values (winerror.h).
const (
	StatusOK                        Status = 0x00000000 // SEC_E_OK
	StatusInsufficientMemory        Status = 0x80090300 // SEC_E_INSUFFICIENT_MEMORY
	StatusInvalidHandle             Status = 0x80090301 // SEC_E_INVALID_HANDLE
	StatusUnsupportedFunction       Status = 0x80090302 // SEC_E_UNSUPPORTED_FUNCTION
	StatusTargetUnknown             Status = 0x80090303 // SEC_E_TARGET_UNKNOWN
	StatusInternalError             Status = 0x80090304 // SEC_E_INTERNAL_ERROR
	StatusSecpkgNotFound            Status = 0x80090305 // SEC_E_SECPKG_NOT_FOUND
	StatusNotOwner                  Status = 0x80090306 // SEC_E_NOT_OWNER
	StatusInvalidToken              Status = 0x80090308 // SEC_E_INVALID_TOKEN
	StatusCannotPack                Status = 0x80090309 // SEC_E_CANNOT_PACK
	StatusQOPNotSupported           Status = 0x8009030A // SEC_E_QOP_NOT_SUPPORTED
	StatusNoImpersonation           Status = 0x8009030B // SEC_E_NO_IMPERSONATION
	StatusLogonDenied               Status = 0x8009030C // SEC_E_LOGON_DENIED
	StatusUnknownCredentials        Status = 0x8009030D // SEC_E_UNKNOWN_CREDENTIALS
	StatusNoCredentials             Status = 0x8009030E // SEC_E_NO_CREDENTIALS
	StatusMessageAltered            Status = 0x8009030F // SEC_E_MESSAGE_ALTERED
	StatusOutOfSequence             Status = 0x80090310 // SEC_E_OUT_OF_SEQUENCE
	StatusNoAuthenticatingAuthority Status = 0x80090311 // SEC_E_NO_AUTHENTICATING_AUTHORITY
	StatusContinueNeeded            Status = 0x00090312 // SEC_I_CONTINUE_NEEDED
	StatusCompleteNeeded            Status = 0x00090313 // SEC_I_COMPLETE_NEEDED
	StatusCompleteAndContinue       Status = 0x00090314 // SEC_I_COMPLETE_AND_CONTINUE
	StatusLocalLogon                Status = 0x00090315 // SEC_I_LOCAL_LOGON
	StatusBadPkgID                  Status = 0x80090316 // SEC_E_BAD_PKGID
	StatusContextExpired            Status = 0x80090317 // SEC_E_CONTEXT_EXPIRED
	StatusInfoContextExpired        Status = 0x00090317 // SEC_I_CONTEXT_EXPIRED
	StatusIncompleteMessage         Status = 0x80090318 // SEC_E_INCOMPLETE_MESSAGE
	StatusBufferTooSmall            Status = 0x80090321 // SEC_E_BUFFER_TOO_SMALL
	StatusRenegotiate               Status = 0x00090321 // SEC_I_RENEGOTIATE
	StatusWrongPrincipal            Status = 0x80090322 // SEC_E_WRONG_PRINCIPAL
	StatusTimeSkew                  Status = 0x80090324 // SEC_E_TIME_SKEW
	StatusUnfinishedContextDeleted  Status = 0x80090333 // SEC_E_UNFINISHED_CONTEXT_DELETED
	StatusBadBindings               Status = 0x80090346 // SEC_E_BAD_BINDINGS
	StatusInvalidParameter          Status = 0x8009035D // SEC_E_INVALID_PARAMETER
	StatusNoContext                 Status = 0x80090361 // SEC_E_NO_CONTEXT

	// StatusNotSupported is SEC_E_NOT_SUPPORTED, which winerror.h defines as
	// an alias of SEC_E_UNSUPPORTED_FUNCTION.
	StatusNotSupported = StatusUnsupportedFunction
)

type statusInfo struct {
	name, meaning string
}

var statusText = map[Status]statusInfo{
	StatusOK:                        {"SEC_E_OK", "the call succeeded"},
	StatusInsufficientMemory:        {"SEC_E_INSUFFICIENT_MEMORY", "not enough memory is available to complete the request"},
	StatusInvalidHandle:             {"SEC_E_INVALID_HANDLE", "the handle is not valid: never issued, deleted, or moved away by export"},
	StatusUnsupportedFunction:       {"SEC_E_UNSUPPORTED_FUNCTION", "the function is not supported by this package or backend"},
	StatusTargetUnknown:             {"SEC_E_TARGET_UNKNOWN", "the target is unknown or unreachable"},
	StatusInternalError:             {"SEC_E_INTERNAL_ERROR", "an internal error occurred in the security package"},
	StatusSecpkgNotFound:            {"SEC_E_SECPKG_NOT_FOUND", "the requested security package does not exist"},
	StatusNotOwner:                  {"SEC_E_NOT_OWNER", "the caller is not the owner of the credentials"},
	StatusInvalidToken:              {"SEC_E_INVALID_TOKEN", "the token or blob given to the function is not valid"},
	StatusCannotPack:                {"SEC_E_CANNOT_PACK", "the logon attempt failed: the context cannot be packed"},
	StatusQOPNotSupported:           {"SEC_E_QOP_NOT_SUPPORTED", "the requested quality of protection is not supported"},
	StatusNoImpersonation:           {"SEC_E_NO_IMPERSONATION", "the context does not allow impersonation"},
	StatusLogonDenied:               {"SEC_E_LOGON_DENIED", "the logon attempt failed: unknown user or bad password"},
	StatusUnknownCredentials:        {"SEC_E_UNKNOWN_CREDENTIALS", "the credentials supplied to the package were not recognized"},
	StatusNoCredentials:             {"SEC_E_NO_CREDENTIALS", "no credentials are available in the security package"},
	StatusMessageAltered:            {"SEC_E_MESSAGE_ALTERED", "the message or signature has been altered"},
	StatusOutOfSequence:             {"SEC_E_OUT_OF_SEQUENCE", "the message was received out of sequence (replayed or reordered)"},
	StatusNoAuthenticatingAuthority: {"SEC_E_NO_AUTHENTICATING_AUTHORITY", "no authority could be contacted for authentication"},
	StatusContinueNeeded:            {"SEC_I_CONTINUE_NEEDED", "the handshake goes on: send the output token and call again with the reply"},
	StatusCompleteNeeded:            {"SEC_I_COMPLETE_NEEDED", "the caller must call CompleteAuthToken"},
	StatusCompleteAndContinue:       {"SEC_I_COMPLETE_AND_CONTINUE", "the caller must call CompleteAuthToken, then continue the handshake"},
	StatusLocalLogon:                {"SEC_I_LOCAL_LOGON", "the logon was completed, but no network authority was available"},
	StatusBadPkgID:                  {"SEC_E_BAD_PKGID", "the requested security package does not exist"},
	StatusContextExpired:            {"SEC_E_CONTEXT_EXPIRED", "the context has expired and can no longer be used"},
	StatusInfoContextExpired:        {"SEC_I_CONTEXT_EXPIRED", "the peer has closed the context"},
	StatusIncompleteMessage:         {"SEC_E_INCOMPLETE_MESSAGE", "the message is incomplete: more data is needed"},
	StatusBufferTooSmall:            {"SEC_E_BUFFER_TOO_SMALL", "the buffers supplied are too small"},
	StatusRenegotiate:               {"SEC_I_RENEGOTIATE", "the context must be renegotiated"},
	StatusWrongPrincipal:            {"SEC_E_WRONG_PRINCIPAL", "the target principal name is incorrect"},
	StatusTimeSkew:                  {"SEC_E_TIME_SKEW", "the clocks on the client and server differ too much"},
	StatusUnfinishedContextDeleted:  {"SEC_E_UNFINISHED_CONTEXT_DELETED", "a context was deleted before its handshake finished"},
	StatusBadBindings:               {"SEC_E_BAD_BINDINGS", "the client and server channel bindings differ"},
	StatusInvalidParameter:          {"SEC_E_INVALID_PARAMETER", "one or more parameters are not valid"},
	StatusNoContext:                 {"SEC_E_NO_CONTEXT", "no security context exists for the call"},
}

// Name returns the winerror.h name, such as "SEC_E_INVALID_HANDLE", or the
// value in hex for a code this package does not know (Windows sometimes
// returns an NTSTATUS such as 0xC0000001).
func (s Status) Name() string {
	if i, ok := statusText[s]; ok {
		return i.name
	}
	return fmt.Sprintf("%#08x", uint32(s))
}

// Meaning returns a one-sentence description of the code.
func (s Status) Meaning() string {
	if i, ok := statusText[s]; ok {
		return i.meaning
	}
	return "unknown status code"
}

// Known reports whether s is one of the codes this package names.
func (s Status) Known() bool {
	_, ok := statusText[s]
	return ok
}

// Failed reports whether s is an error code (its severity bit is set).
func (s Status) Failed() bool { return int32(s) < 0 }

// String returns e.g. "SEC_E_INVALID_HANDLE (0x80090301)" for a known code
// and "0xc0000001" for an unknown one.
func (s Status) String() string {
	if i, ok := statusText[s]; ok {
		return fmt.Sprintf("%s (%#08x)", i.name, uint32(s))
	}
	return fmt.Sprintf("%#08x", uint32(s))
}

// Error returns the code and its meaning, e.g.
// "SEC_E_INVALID_HANDLE (0x80090301): the handle is not valid: ...".
func (s Status) Error() string {
	return s.String() + ": " + s.Meaning()
}

// Statuses returns every code this package names, in ascending order of
// value, so callers can enumerate them (for tests and tables).
func Statuses() []Status {
	out := make([]Status, 0, len(statusText))
	for s := range statusText {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
