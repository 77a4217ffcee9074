// Package context is the core of gosspi: the Windows Security Support
// Provider Interface (SSPI) as one Go API over pluggable backends.
//
// The package shares its name with the standard library's context, so the
// project imports it under one fixed alias:
//
//	import sspictx "github.com/gosspi/gosspi/context"
//
// It has two layers, in the manner of database/sql over database/sql/driver:
//
//   - Backend is the narrow interface a backend implements, one method per
//     SSPI call (backend/fake emulates SSPI in pure Go; backend/winsspi calls
//     secur32.dll on Windows).
//   - Store is the friendly API on top: it acquires Credentials, runs
//     ClientContext and ServerContext handshakes, protects messages, hands out
//     access Tokens, exports and imports contexts, and knows every handle it
//     gave out, so a test can ask it for leaks.
//
// Every error is an *Error that unwraps to a Status, so
// errors.Is(err, StatusInvalidHandle) works on every backend.
package context
