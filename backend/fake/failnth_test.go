package fake

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/backend"
	"github.com/gosspi/gosspi/flags"
)

// FailNth fires for every SSPI call the fake makes, and the injected
// error names that call.
func TestFailNthFiresForEveryCall(t *testing.T) {
	m := newDefectMachine(nil)
	_, p, c, s := pairOn(t, m)
	_, ch := raw(t, &c.Context)
	_, sh := raw(t, &s.Context)
	tok, err := p.QuerySecurityContextToken(sh)
	require.NoError(t, err)
	defer p.CloseToken(tok)
	blob, _, err := p.ExportSecurityContext(sh, 0, false)
	require.NoError(t, err)
	cred, _, err := p.AcquireCredentialsHandle("", "NTLM", flags.Both, &backend.AuthIdentity{Domain: "CONTOSO", User: "alice", Password: "pw"})
	require.NoError(t, err)
	msg := func() []backend.Buffer {
		return []backend.Buffer{{Type: backend.BufferData, Data: []byte("x")}, {Type: backend.BufferToken, Data: make([]byte, 16)}}
	}
	calls := map[backend.Op]func() error{
		backend.OpEnumerateSecurityPackages: func() error { _, err := p.EnumerateSecurityPackages(); return err },
		backend.OpQuerySecurityPackageInfo:  func() error { _, err := p.QuerySecurityPackageInfo("NTLM"); return err },
		backend.OpAcquireCredentialsHandle: func() error {
			_, _, err := p.AcquireCredentialsHandle("", "NTLM", flags.Inbound, nil)
			return err
		},
		backend.OpFreeCredentialsHandle: func() error { return p.FreeCredentialsHandle(cred) },
		backend.OpInitializeSecurityContext: func() error {
			_, err := p.InitializeSecurityContext(&backend.InitializeRequest{Credential: cred})
			return err
		},
		backend.OpAcceptSecurityContext: func() error {
			_, err := p.AcceptSecurityContext(&backend.AcceptRequest{Credential: cred, Input: []backend.Buffer{{Type: backend.BufferToken, Data: []byte("x")}}})
			return err
		},
		backend.OpCompleteAuthToken:      func() error { return p.CompleteAuthToken(ch, nil) },
		backend.OpDeleteSecurityContext:  func() error { return p.DeleteSecurityContext(ch) },
		backend.OpQueryContextAttributes: func() error { _, err := p.QueryContextAttributes(ch, backend.AttrSizes); return err },
		backend.OpMakeSignature:          func() error { return p.MakeSignature(ch, 0, msg(), 0) },
		backend.OpVerifySignature:        func() error { _, err := p.VerifySignature(sh, msg(), 0); return err },
		backend.OpEncryptMessage:         func() error { return p.EncryptMessage(ch, 0, msg(), 0) },
		backend.OpDecryptMessage:         func() error { _, err := p.DecryptMessage(sh, msg(), 0); return err },
		backend.OpQuerySecurityContextToken: func() error {
			_, err := p.QuerySecurityContextToken(sh)
			return err
		},
		backend.OpImpersonateSecurityContext: func() error { return p.ImpersonateSecurityContext(sh) },
		backend.OpRevertSecurityContext:      func() error { return p.RevertSecurityContext(sh) },
		backend.OpExportSecurityContext: func() error {
			_, _, err := p.ExportSecurityContext(sh, 0, false)
			return err
		},
		backend.OpImportSecurityContext: func() error { _, err := p.ImportSecurityContext("NTLM", blob, 0); return err },
		backend.OpGetTokenInformation:   func() error { _, err := p.TokenInformation(tok); return err },
		backend.OpCloseHandle:           func() error { return p.CloseToken(tok) },
	}
	const injected = backend.StatusInsufficientMemory
	for _, op := range backend.Ops() {
		if op == backend.OpInitSecurityInterface {
			continue // the fake loads no library
		}
		call, ok := calls[op]
		require.True(t, ok, "no call for %v", op)
		p.FailNth(op, 1, injected)
		err := call()
		require.ErrorIs(t, err, injected, "%v", op)
		var e *backend.Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, op, e.Op)
	}
	require.NoError(t, p.FreeCredentialsHandle(cred))
}
