//go:build !windows

package winsspi

import (
	"runtime"
	"time"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
)

// Backend is the real SSPI backend. On this platform it cannot exist: New
// returns an error, and a zero Backend answers every call with the same
// error, so code that names the Windows backend builds everywhere and fails
// gracefully.
type Backend struct{}

// New returns an error wrapping ErrNotWindows and
// backend.StatusUnsupportedFunction: secur32.dll exists only on Windows.
func New() (*Backend, error) {
	return nil, notWindows(backend.OpInitSecurityInterface)
}

func notWindows(op backend.Op) error {
	return backend.NewError(op, "", backend.StatusUnsupportedFunction,
		"backend/winsspi calls secur32.dll and works only on Windows, not on "+runtime.GOOS, ErrNotWindows)
}

// EnumerateSecurityPackages fails: see New.
func (*Backend) EnumerateSecurityPackages() ([]backend.PackageInfo, error) {
	return nil, notWindows(backend.OpEnumerateSecurityPackages)
}

// QuerySecurityPackageInfo fails: see New.
func (*Backend) QuerySecurityPackageInfo(string) (backend.PackageInfo, error) {
	return backend.PackageInfo{}, notWindows(backend.OpQuerySecurityPackageInfo)
}

// AcquireCredentialsHandle fails: see New.
func (*Backend) AcquireCredentialsHandle(string, string, flags.CredentialUse, *backend.AuthIdentity) (backend.Handle, time.Time, error) {
	return backend.Handle{}, time.Time{}, notWindows(backend.OpAcquireCredentialsHandle)
}

// FreeCredentialsHandle fails: see New.
func (*Backend) FreeCredentialsHandle(backend.Handle) error {
	return notWindows(backend.OpFreeCredentialsHandle)
}

// InitializeSecurityContext fails: see New.
func (*Backend) InitializeSecurityContext(*backend.InitializeRequest) (backend.InitializeResult, error) {
	return backend.InitializeResult{}, notWindows(backend.OpInitializeSecurityContext)
}

// AcceptSecurityContext fails: see New.
func (*Backend) AcceptSecurityContext(*backend.AcceptRequest) (backend.AcceptResult, error) {
	return backend.AcceptResult{}, notWindows(backend.OpAcceptSecurityContext)
}

// CompleteAuthToken fails: see New.
func (*Backend) CompleteAuthToken(backend.Handle, []backend.Buffer) error {
	return notWindows(backend.OpCompleteAuthToken)
}

// DeleteSecurityContext fails: see New.
func (*Backend) DeleteSecurityContext(backend.Handle) error {
	return notWindows(backend.OpDeleteSecurityContext)
}

// QueryContextAttributes fails: see New.
func (*Backend) QueryContextAttributes(backend.Handle, backend.Attribute) (any, error) {
	return nil, notWindows(backend.OpQueryContextAttributes)
}

// MakeSignature fails: see New.
func (*Backend) MakeSignature(backend.Handle, uint32, []backend.Buffer, uint32) error {
	return notWindows(backend.OpMakeSignature)
}

// VerifySignature fails: see New.
func (*Backend) VerifySignature(backend.Handle, []backend.Buffer, uint32) (uint32, error) {
	return 0, notWindows(backend.OpVerifySignature)
}

// EncryptMessage fails: see New.
func (*Backend) EncryptMessage(backend.Handle, uint32, []backend.Buffer, uint32) error {
	return notWindows(backend.OpEncryptMessage)
}

// DecryptMessage fails: see New.
func (*Backend) DecryptMessage(backend.Handle, []backend.Buffer, uint32) (uint32, error) {
	return 0, notWindows(backend.OpDecryptMessage)
}

// QuerySecurityContextToken fails: see New.
func (*Backend) QuerySecurityContextToken(backend.Handle) (backend.TokenHandle, error) {
	return 0, notWindows(backend.OpQuerySecurityContextToken)
}

// ImpersonateSecurityContext fails: see New.
func (*Backend) ImpersonateSecurityContext(backend.Handle) error {
	return notWindows(backend.OpImpersonateSecurityContext)
}

// RevertSecurityContext fails: see New.
func (*Backend) RevertSecurityContext(backend.Handle) error {
	return notWindows(backend.OpRevertSecurityContext)
}

// ExportSecurityContext fails: see New.
func (*Backend) ExportSecurityContext(backend.Handle, flags.Export, bool) ([]byte, backend.TokenHandle, error) {
	return nil, 0, notWindows(backend.OpExportSecurityContext)
}

// ImportSecurityContext fails: see New.
func (*Backend) ImportSecurityContext(string, []byte, backend.TokenHandle) (backend.Handle, error) {
	return backend.Handle{}, notWindows(backend.OpImportSecurityContext)
}

// TokenInformation fails: see New.
func (*Backend) TokenInformation(backend.TokenHandle) (backend.TokenInfo, error) {
	return backend.TokenInfo{}, notWindows(backend.OpGetTokenInformation)
}

// CloseToken fails: see New.
func (*Backend) CloseToken(backend.TokenHandle) error {
	return notWindows(backend.OpCloseHandle)
}
