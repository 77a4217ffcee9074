// Package backend is gosspi's service provider interface, in the role
// database/sql/driver plays for database/sql: what a backend implements so
// that the user-facing package context (imported as sspictx) can run the
// Security Support Provider Interface over it.
//
// A backend implements Backend, the handful of calls without which there
// is no SSPI (packages, credentials, the two handshake steps, delete,
// attributes), and whichever optional interfaces it can: Signer, Sealer,
// Completer, TokenQuerier, Impersonator, Exporter. The Store detects them
// and answers SEC_E_UNSUPPORTED_FUNCTION itself for a missing one, as
// database/sql does for a driver without driver.Pinger.
//
// Everything a backend returns on failure is an *Error built with
// NewError: the Op names the SSPI call (the same Op for the same call on
// every backend), the Status is the SECURITY_STATUS. Users match errors
// with errors.Is(err, sspictx.StatusInvalidHandle) without importing this
// package; Status and Error are defined here once and aliased there.
//
// Implementations in this module: backend/fake (an emulated SSPI in pure
// Go) and backend/winsspi (secur32.dll on Windows). backend/backendtest is
// the conformance suite every backend must pass.
//
// Users do not import this package except for scoped raw access
// (sspictx.Context.Raw).
package backend
