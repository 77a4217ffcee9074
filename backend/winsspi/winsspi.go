package winsspi

import (
	"errors"

	"github.com/gosspi/gosspi/backend"
)

// ErrNotWindows is the cause of the error New returns on every platform but
// Windows, where there is no secur32.dll to call. The error also unwraps to
// backend.StatusUnsupportedFunction.
var ErrNotWindows = errors.New("winsspi: the real SSPI backend works only on Windows (use backend/fake elsewhere)")

// Compile-time check: *Backend is a context.Backend on every platform.
var _ backend.Full = (*Backend)(nil)
