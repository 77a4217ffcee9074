package winsspi

import (
	"errors"

	sspictx "github.com/gosspi/gosspi/context"
)

// ErrNotWindows is the cause of the error New returns on every platform but
// Windows, where there is no secur32.dll to call. The error also unwraps to
// sspictx.StatusUnsupportedFunction.
var ErrNotWindows = errors.New("winsspi: the real SSPI backend works only on Windows (use backend/fake elsewhere)")

// Compile-time check: *Backend is a context.Backend on every platform.
var _ sspictx.Backend = (*Backend)(nil)
