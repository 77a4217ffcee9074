//go:build windows

package winsspi_test

import (
	"testing"
	"time"

	"github.com/gosspi/gosspi/backend"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// logged wraps a Backend and logs one line per call with the status it got:
// the behaviour report. Run the tests with -v on Windows (or under Wine) and
// every scenario's log shows what the real SSPI answered, to compare with
// the strict rows of the fake (README, "Export and import semantics").
type logged struct {
	b backend.Full
	t testing.TB
}

func (l logged) log(call string, err error, extra ...any) {
	l.t.Helper()
	st := sspictx.StatusOf(err)
	if len(extra) > 0 {
		l.t.Logf("winsspi: %s -> %v %v", call, st, extra)
		return
	}
	l.t.Logf("winsspi: %s -> %v", call, st)
}

func (l logged) EnumerateSecurityPackages() ([]sspictx.PackageInfo, error) {
	p, err := l.b.EnumerateSecurityPackages()
	l.log("EnumerateSecurityPackages", err, len(p), "packages")
	return p, err
}

func (l logged) QuerySecurityPackageInfo(name string) (sspictx.PackageInfo, error) {
	p, err := l.b.QuerySecurityPackageInfo(name)
	l.log("QuerySecurityPackageInfo("+name+")", err)
	return p, err
}

func (l logged) AcquireCredentialsHandle(principal, pkg string, use flags.CredentialUse, id *sspictx.AuthIdentity) (backend.Handle, time.Time, error) {
	h, exp, err := l.b.AcquireCredentialsHandle(principal, pkg, use, id)
	who := "default"
	if id != nil {
		who = id.Domain + `\` + id.User
	}
	l.log("AcquireCredentialsHandle("+pkg+", "+use.String()+", "+who+")", err)
	return h, exp, err
}

func (l logged) FreeCredentialsHandle(cred backend.Handle) error {
	err := l.b.FreeCredentialsHandle(cred)
	l.log("FreeCredentialsHandle", err)
	return err
}

func (l logged) InitializeSecurityContext(req *backend.InitializeRequest) (backend.InitializeResult, error) {
	r, err := l.b.InitializeSecurityContext(req)
	if err == nil {
		l.log("InitializeSecurityContext", r.Status, len(r.Output), "bytes out, flags", r.Flags)
	} else {
		l.log("InitializeSecurityContext", err)
	}
	return r, err
}

func (l logged) AcceptSecurityContext(req *backend.AcceptRequest) (backend.AcceptResult, error) {
	r, err := l.b.AcceptSecurityContext(req)
	if err == nil {
		l.log("AcceptSecurityContext", r.Status, len(r.Output), "bytes out, flags", r.Flags)
	} else {
		l.log("AcceptSecurityContext", err)
	}
	return r, err
}

func (l logged) CompleteAuthToken(ctx backend.Handle, token []backend.Buffer) error {
	err := l.b.CompleteAuthToken(ctx, token)
	l.log("CompleteAuthToken", err)
	return err
}

func (l logged) DeleteSecurityContext(ctx backend.Handle) error {
	err := l.b.DeleteSecurityContext(ctx)
	l.log("DeleteSecurityContext", err)
	return err
}

func (l logged) QueryContextAttributes(ctx backend.Handle, attr backend.Attribute) (any, error) {
	v, err := l.b.QueryContextAttributes(ctx, attr)
	l.log("QueryContextAttributes("+attr.String()+")", err)
	return v, err
}

func (l logged) MakeSignature(ctx backend.Handle, qop uint32, msg []backend.Buffer, seq uint32) error {
	err := l.b.MakeSignature(ctx, qop, msg, seq)
	l.log("MakeSignature", err)
	return err
}

func (l logged) VerifySignature(ctx backend.Handle, msg []backend.Buffer, seq uint32) (uint32, error) {
	q, err := l.b.VerifySignature(ctx, msg, seq)
	l.log("VerifySignature", err)
	return q, err
}

func (l logged) EncryptMessage(ctx backend.Handle, qop uint32, msg []backend.Buffer, seq uint32) error {
	err := l.b.EncryptMessage(ctx, qop, msg, seq)
	l.log("EncryptMessage", err)
	return err
}

func (l logged) DecryptMessage(ctx backend.Handle, msg []backend.Buffer, seq uint32) (uint32, error) {
	q, err := l.b.DecryptMessage(ctx, msg, seq)
	l.log("DecryptMessage", err)
	return q, err
}

func (l logged) QuerySecurityContextToken(ctx backend.Handle) (backend.TokenHandle, error) {
	tok, err := l.b.QuerySecurityContextToken(ctx)
	l.log("QuerySecurityContextToken", err)
	return tok, err
}

func (l logged) ImpersonateSecurityContext(ctx backend.Handle) error {
	err := l.b.ImpersonateSecurityContext(ctx)
	l.log("ImpersonateSecurityContext", err)
	return err
}

func (l logged) RevertSecurityContext(ctx backend.Handle) error {
	err := l.b.RevertSecurityContext(ctx)
	l.log("RevertSecurityContext", err)
	return err
}

func (l logged) ExportSecurityContext(ctx backend.Handle, f flags.Export, wantToken bool) ([]byte, backend.TokenHandle, error) {
	p, tok, err := l.b.ExportSecurityContext(ctx, f, wantToken)
	l.log("ExportSecurityContext("+f.String()+")", err, len(p), "bytes")
	return p, tok, err
}

func (l logged) ImportSecurityContext(pkg string, packed []byte, token backend.TokenHandle) (backend.Handle, error) {
	h, err := l.b.ImportSecurityContext(pkg, packed, token)
	l.log("ImportSecurityContext("+pkg+")", err, len(packed), "bytes")
	return h, err
}

func (l logged) TokenInformation(token backend.TokenHandle) (sspictx.TokenInfo, error) {
	info, err := l.b.TokenInformation(token)
	l.log("TokenInformation", err, info.User)
	return info, err
}

func (l logged) CloseToken(token backend.TokenHandle) error {
	err := l.b.CloseToken(token)
	l.log("CloseToken", err)
	return err
}
