// Package context is what gosspi's users touch: the Windows Security
// Support Provider Interface (SSPI) as one Go API, over whichever backend
// the program chooses.
//
// The package shares its name with the standard library's context, so the
// project imports it under one fixed alias:
//
//	import sspictx "github.com/gosspi/gosspi/context"
//
// It sits over package backend as database/sql sits over
// database/sql/driver. A Store wraps a backend (backend/fake emulates SSPI
// in pure Go; backend/winsspi calls secur32.dll on Windows). It acquires
// Credentials, runs ClientContext and ServerContext handshakes, protects
// messages, hands out access Tokens, exports and imports contexts, and
// knows every handle it gave out, so a test can ask it for leaks. Where a
// backend lacks an optional capability (export, impersonation, access
// tokens, ...), the Store answers SEC_E_UNSUPPORTED_FUNCTION itself.
//
// A program imports this package (plus flags, and backend/fake in tests);
// it never needs package backend, except for scoped raw access to a handle
// (Context.Raw, Token.Raw).
//
// Every error is an *Error that names the SSPI call and unwraps to a
// Status, so errors.Is(err, StatusInvalidHandle) works on every backend.
// Status and Error are defined once, in package backend, and named here.
package context
