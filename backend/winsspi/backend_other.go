//go:build !windows

package winsspi

import (
	"runtime"
	"time"

	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// Backend is the real SSPI backend. On this platform it cannot exist: New
// returns an error, and a zero Backend answers every call with the same
// error, so code that names the Windows backend builds everywhere and fails
// gracefully.
type Backend struct{}

// New returns an error wrapping ErrNotWindows and
// sspictx.StatusUnsupportedFunction: secur32.dll exists only on Windows.
func New() (*Backend, error) {
	return nil, notWindows("New")
}

func notWindows(op string) error {
	return sspictx.NewError(op, "", sspictx.StatusUnsupportedFunction,
		"backend/winsspi calls secur32.dll and works only on Windows, not on "+runtime.GOOS, ErrNotWindows)
}

// EnumerateSecurityPackages fails: see New.
func (*Backend) EnumerateSecurityPackages() ([]sspictx.PackageInfo, error) {
	return nil, notWindows("EnumerateSecurityPackages")
}

// QuerySecurityPackageInfo fails: see New.
func (*Backend) QuerySecurityPackageInfo(string) (sspictx.PackageInfo, error) {
	return sspictx.PackageInfo{}, notWindows("QuerySecurityPackageInfo")
}

// AcquireCredentialsHandle fails: see New.
func (*Backend) AcquireCredentialsHandle(string, string, flags.CredentialUse, *sspictx.AuthIdentity) (sspictx.Handle, time.Time, error) {
	return sspictx.Handle{}, time.Time{}, notWindows("AcquireCredentialsHandle")
}

// FreeCredentialsHandle fails: see New.
func (*Backend) FreeCredentialsHandle(sspictx.Handle) error {
	return notWindows("FreeCredentialsHandle")
}

// InitializeSecurityContext fails: see New.
func (*Backend) InitializeSecurityContext(*sspictx.InitializeRequest) (sspictx.InitializeResult, error) {
	return sspictx.InitializeResult{}, notWindows("InitializeSecurityContext")
}

// AcceptSecurityContext fails: see New.
func (*Backend) AcceptSecurityContext(*sspictx.AcceptRequest) (sspictx.AcceptResult, error) {
	return sspictx.AcceptResult{}, notWindows("AcceptSecurityContext")
}

// CompleteAuthToken fails: see New.
func (*Backend) CompleteAuthToken(sspictx.Handle, []sspictx.Buffer) error {
	return notWindows("CompleteAuthToken")
}

// DeleteSecurityContext fails: see New.
func (*Backend) DeleteSecurityContext(sspictx.Handle) error {
	return notWindows("DeleteSecurityContext")
}

// QueryContextAttributes fails: see New.
func (*Backend) QueryContextAttributes(sspictx.Handle, sspictx.Attribute) (any, error) {
	return nil, notWindows("QueryContextAttributes")
}

// MakeSignature fails: see New.
func (*Backend) MakeSignature(sspictx.Handle, uint32, []sspictx.Buffer, uint32) error {
	return notWindows("MakeSignature")
}

// VerifySignature fails: see New.
func (*Backend) VerifySignature(sspictx.Handle, []sspictx.Buffer, uint32) (uint32, error) {
	return 0, notWindows("VerifySignature")
}

// EncryptMessage fails: see New.
func (*Backend) EncryptMessage(sspictx.Handle, uint32, []sspictx.Buffer, uint32) error {
	return notWindows("EncryptMessage")
}

// DecryptMessage fails: see New.
func (*Backend) DecryptMessage(sspictx.Handle, []sspictx.Buffer, uint32) (uint32, error) {
	return 0, notWindows("DecryptMessage")
}

// QuerySecurityContextToken fails: see New.
func (*Backend) QuerySecurityContextToken(sspictx.Handle) (sspictx.TokenHandle, error) {
	return 0, notWindows("QuerySecurityContextToken")
}

// ImpersonateSecurityContext fails: see New.
func (*Backend) ImpersonateSecurityContext(sspictx.Handle) error {
	return notWindows("ImpersonateSecurityContext")
}

// RevertSecurityContext fails: see New.
func (*Backend) RevertSecurityContext(sspictx.Handle) error {
	return notWindows("RevertSecurityContext")
}

// ExportSecurityContext fails: see New.
func (*Backend) ExportSecurityContext(sspictx.Handle, flags.Export, bool) ([]byte, sspictx.TokenHandle, error) {
	return nil, 0, notWindows("ExportSecurityContext")
}

// ImportSecurityContext fails: see New.
func (*Backend) ImportSecurityContext(string, []byte, sspictx.TokenHandle) (sspictx.Handle, error) {
	return sspictx.Handle{}, notWindows("ImportSecurityContext")
}

// TokenInformation fails: see New.
func (*Backend) TokenInformation(sspictx.TokenHandle) (sspictx.TokenInfo, error) {
	return sspictx.TokenInfo{}, notWindows("TokenInformation")
}

// CloseToken fails: see New.
func (*Backend) CloseToken(sspictx.TokenHandle) error {
	return notWindows("CloseToken")
}
