package backend_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
)

func TestStatusStrings(t *testing.T) {
	tests := []struct {
		st   backend.Status
		want string
	}{
		{backend.StatusInvalidHandle, "SEC_E_INVALID_HANDLE (0x80090301)"},
		{backend.StatusContinueNeeded, "SEC_I_CONTINUE_NEEDED (0x00090312)"},
		{backend.StatusInvalidParameter, "SEC_E_INVALID_PARAMETER (0x8009035d)"},
		{backend.StatusNotSupported, "SEC_E_UNSUPPORTED_FUNCTION (0x80090302)"},
		{backend.Status(0xC0000001), "0xc0000001"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.st.String())
	}
	assert.Contains(t, backend.StatusInvalidHandle.Error(), "SEC_E_INVALID_HANDLE (0x80090301): ")
	assert.Equal(t, "0xc0000001: unknown status code", backend.Status(0xC0000001).Error())
	assert.False(t, backend.Status(0xC0000001).Known())
}

// Every code the package names, with the value winerror.h gives it.
func TestStatusValues(t *testing.T) {
	want := map[string]uint32{
		"SEC_E_OK": 0, "SEC_E_INSUFFICIENT_MEMORY": 0x80090300, "SEC_E_INVALID_HANDLE": 0x80090301,
		"SEC_E_UNSUPPORTED_FUNCTION": 0x80090302, "SEC_E_TARGET_UNKNOWN": 0x80090303, "SEC_E_INTERNAL_ERROR": 0x80090304,
		"SEC_E_SECPKG_NOT_FOUND": 0x80090305, "SEC_E_NOT_OWNER": 0x80090306, "SEC_E_INVALID_TOKEN": 0x80090308,
		"SEC_E_CANNOT_PACK": 0x80090309, "SEC_E_QOP_NOT_SUPPORTED": 0x8009030A, "SEC_E_NO_IMPERSONATION": 0x8009030B,
		"SEC_E_LOGON_DENIED": 0x8009030C, "SEC_E_UNKNOWN_CREDENTIALS": 0x8009030D, "SEC_E_NO_CREDENTIALS": 0x8009030E,
		"SEC_E_MESSAGE_ALTERED": 0x8009030F, "SEC_E_OUT_OF_SEQUENCE": 0x80090310, "SEC_E_NO_AUTHENTICATING_AUTHORITY": 0x80090311,
		"SEC_I_CONTINUE_NEEDED": 0x00090312, "SEC_I_COMPLETE_NEEDED": 0x00090313, "SEC_I_COMPLETE_AND_CONTINUE": 0x00090314,
		"SEC_I_LOCAL_LOGON": 0x00090315, "SEC_E_BAD_PKGID": 0x80090316, "SEC_E_CONTEXT_EXPIRED": 0x80090317,
		"SEC_I_CONTEXT_EXPIRED": 0x00090317, "SEC_E_INCOMPLETE_MESSAGE": 0x80090318, "SEC_E_BUFFER_TOO_SMALL": 0x80090321,
		"SEC_I_RENEGOTIATE": 0x00090321, "SEC_E_WRONG_PRINCIPAL": 0x80090322, "SEC_E_TIME_SKEW": 0x80090324,
		"SEC_E_UNFINISHED_CONTEXT_DELETED": 0x80090333, "SEC_E_BAD_BINDINGS": 0x80090346,
		"SEC_E_INVALID_PARAMETER": 0x8009035D, "SEC_E_NO_CONTEXT": 0x80090361,
	}
	got := map[string]uint32{}
	for _, s := range backend.Statuses() {
		got[s.Name()] = uint32(s)
		assert.NotEmpty(t, s.Meaning())
	}
	assert.Equal(t, want, got)
	assert.True(t, backend.StatusInvalidToken.Failed())
	assert.False(t, backend.StatusContinueNeeded.Failed())
}

func TestErrorUnwraps(t *testing.T) {
	cause := errors.New("blob from another machine")
	err := fmt.Errorf("import: %w", backend.NewError(backend.OpImportSecurityContext, "NTLM", backend.StatusInvalidToken, "the blob was exported on another machine", cause))
	assert.ErrorIs(t, err, backend.StatusInvalidToken)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, backend.StatusInvalidHandle)
	var e *backend.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "NTLM", e.Package)
	assert.Equal(t, backend.StatusInvalidToken, backend.StatusOf(err))
	assert.Equal(t, "gosspi: ImportSecurityContext [NTLM]: SEC_E_INVALID_TOKEN (0x80090308): the blob was exported on another machine: blob from another machine", e.Error())
	assert.Equal(t, backend.StatusOK, backend.StatusOf(nil))
	assert.Equal(t, backend.StatusInternalError, backend.StatusOf(errors.New("other")))
	assert.Equal(t, backend.StatusLogonDenied, backend.StatusOf(backend.StatusLogonDenied))
}

func TestOpNames(t *testing.T) {
	seen := map[string]bool{}
	for _, op := range backend.Ops() {
		require.True(t, op.Valid(), "%d", op)
		name := op.String()
		assert.NotContains(t, name, "Op(", "op %d has no name", op)
		assert.False(t, seen[name], "two ops named %s", name)
		seen[name] = true
	}
	assert.Equal(t, "ExportSecurityContext", backend.OpExportSecurityContext.String())
	assert.Equal(t, "ImportSecurityContext", backend.OpImportSecurityContext.String())
	assert.False(t, backend.Op(0).Valid())
	assert.Equal(t, "Op(200)", backend.Op(200).String())
}
