package context

import "github.com/gosspi/gosspi/backend"

// These are defined once, in package backend, and named here so that user
// code matches errors and names identities without importing the backend
// interface.

// Status is a Windows SECURITY_STATUS, the result code of every SSPI call.
// A Status is an error: errors.Is(err, StatusInvalidHandle) works on every
// error gosspi returns.
type Status = backend.Status

// Error is the error every gosspi call returns: which call (Op) failed, in
// which security package, with which Status, and why. It unwraps to its
// Status and its cause.
type Error = backend.Error

// AuthIdentity is an explicit user, domain and password
// (SEC_WINNT_AUTH_IDENTITY_W).
type AuthIdentity = backend.AuthIdentity

// PackageInfo describes a security package (SecPkgInfoW).
type PackageInfo = backend.PackageInfo

// Sizes is SecPkgContext_Sizes.
type Sizes = backend.Sizes

// NativeNames is SecPkgContext_NativeNames.
type NativeNames = backend.NativeNames

// Lifespan is SecPkgContext_Lifespan.
type Lifespan = backend.Lifespan

// TokenInfo describes an access token: the user and the groups it carries.
type TokenInfo = backend.TokenInfo

// SECURITY_STATUS values (winerror.h).
const (
	StatusOK                        = backend.StatusOK                        // SEC_E_OK
	StatusInsufficientMemory        = backend.StatusInsufficientMemory        // SEC_E_INSUFFICIENT_MEMORY
	StatusInvalidHandle             = backend.StatusInvalidHandle             // SEC_E_INVALID_HANDLE
	StatusUnsupportedFunction       = backend.StatusUnsupportedFunction       // SEC_E_UNSUPPORTED_FUNCTION
	StatusTargetUnknown             = backend.StatusTargetUnknown             // SEC_E_TARGET_UNKNOWN
	StatusInternalError             = backend.StatusInternalError             // SEC_E_INTERNAL_ERROR
	StatusSecpkgNotFound            = backend.StatusSecpkgNotFound            // SEC_E_SECPKG_NOT_FOUND
	StatusNotOwner                  = backend.StatusNotOwner                  // SEC_E_NOT_OWNER
	StatusInvalidToken              = backend.StatusInvalidToken              // SEC_E_INVALID_TOKEN
	StatusCannotPack                = backend.StatusCannotPack                // SEC_E_CANNOT_PACK
	StatusQOPNotSupported           = backend.StatusQOPNotSupported           // SEC_E_QOP_NOT_SUPPORTED
	StatusNoImpersonation           = backend.StatusNoImpersonation           // SEC_E_NO_IMPERSONATION
	StatusLogonDenied               = backend.StatusLogonDenied               // SEC_E_LOGON_DENIED
	StatusUnknownCredentials        = backend.StatusUnknownCredentials        // SEC_E_UNKNOWN_CREDENTIALS
	StatusNoCredentials             = backend.StatusNoCredentials             // SEC_E_NO_CREDENTIALS
	StatusMessageAltered            = backend.StatusMessageAltered            // SEC_E_MESSAGE_ALTERED
	StatusOutOfSequence             = backend.StatusOutOfSequence             // SEC_E_OUT_OF_SEQUENCE
	StatusNoAuthenticatingAuthority = backend.StatusNoAuthenticatingAuthority // SEC_E_NO_AUTHENTICATING_AUTHORITY
	StatusContinueNeeded            = backend.StatusContinueNeeded            // SEC_I_CONTINUE_NEEDED
	StatusCompleteNeeded            = backend.StatusCompleteNeeded            // SEC_I_COMPLETE_NEEDED
	StatusCompleteAndContinue       = backend.StatusCompleteAndContinue       // SEC_I_COMPLETE_AND_CONTINUE
	StatusLocalLogon                = backend.StatusLocalLogon                // SEC_I_LOCAL_LOGON
	StatusBadPkgID                  = backend.StatusBadPkgID                  // SEC_E_BAD_PKGID
	StatusContextExpired            = backend.StatusContextExpired            // SEC_E_CONTEXT_EXPIRED
	StatusInfoContextExpired        = backend.StatusInfoContextExpired        // SEC_I_CONTEXT_EXPIRED
	StatusIncompleteMessage         = backend.StatusIncompleteMessage         // SEC_E_INCOMPLETE_MESSAGE
	StatusBufferTooSmall            = backend.StatusBufferTooSmall            // SEC_E_BUFFER_TOO_SMALL
	StatusRenegotiate               = backend.StatusRenegotiate               // SEC_I_RENEGOTIATE
	StatusWrongPrincipal            = backend.StatusWrongPrincipal            // SEC_E_WRONG_PRINCIPAL
	StatusTimeSkew                  = backend.StatusTimeSkew                  // SEC_E_TIME_SKEW
	StatusUnfinishedContextDeleted  = backend.StatusUnfinishedContextDeleted  // SEC_E_UNFINISHED_CONTEXT_DELETED
	StatusBadBindings               = backend.StatusBadBindings               // SEC_E_BAD_BINDINGS
	StatusInvalidParameter          = backend.StatusInvalidParameter          // SEC_E_INVALID_PARAMETER
	StatusNoContext                 = backend.StatusNoContext                 // SEC_E_NO_CONTEXT

	// StatusNotSupported is SEC_E_NOT_SUPPORTED, which winerror.h defines as
	// an alias of SEC_E_UNSUPPORTED_FUNCTION.
	StatusNotSupported = backend.StatusNotSupported
)

// StatusOf returns the Status an error carries: StatusOK for nil, the
// Status of an *Error or a bare Status, and StatusInternalError for any
// other error.
func StatusOf(err error) Status { return backend.StatusOf(err) }
