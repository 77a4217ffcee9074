//go:build !windows

package winsspi_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/backend/winsspi"
	sspictx "github.com/gosspi/gosspi/context"
	"github.com/gosspi/gosspi/flags"
)

// TestNewNotWindows checks that off Windows the constructor fails with a
// clear error that names the cause and carries SEC_E_UNSUPPORTED_FUNCTION.
func TestNewNotWindows(t *testing.T) {
	b, err := winsspi.New()
	if err == nil {
		t.Fatalf("New() = %v, nil; want an error off Windows", b)
	}
	if b != nil {
		t.Errorf("New() returned a non-nil backend %v with its error", b)
	}
	if !errors.Is(err, winsspi.ErrNotWindows) {
		t.Errorf("errors.Is(%v, ErrNotWindows) = false", err)
	}
	if !errors.Is(err, sspictx.StatusUnsupportedFunction) {
		t.Errorf("errors.Is(%v, StatusUnsupportedFunction) = false", err)
	}
	var e *sspictx.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *sspictx.Error", err)
	}
	if e.Op != backend.OpInitSecurityInterface {
		t.Errorf("Op = %q, want New", e.Op)
	}
	if msg := err.Error(); !strings.Contains(msg, "only on Windows") {
		t.Errorf("error %q does not say the backend works only on Windows", msg)
	}
}

// TestZeroBackendNotWindows checks that a zero Backend answers every call
// with the same error instead of panicking.
func TestZeroBackendNotWindows(t *testing.T) {
	var b backend.Full = &winsspi.Backend{}
	check := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, winsspi.ErrNotWindows) || !errors.Is(err, sspictx.StatusUnsupportedFunction) {
			t.Errorf("%s: err = %v, want ErrNotWindows and SEC_E_UNSUPPORTED_FUNCTION", name, err)
		}
	}
	_, err := b.EnumerateSecurityPackages()
	check("EnumerateSecurityPackages", err)
	_, _, err = b.AcquireCredentialsHandle("", "NTLM", flags.Outbound, nil)
	check("AcquireCredentialsHandle", err)
	_, err = b.InitializeSecurityContext(&backend.InitializeRequest{})
	check("InitializeSecurityContext", err)
	_, _, err = b.ExportSecurityContext(backend.Handle{}, 0, false)
	check("ExportSecurityContext", err)
	check("CloseToken", b.CloseToken(1))
}
