package client_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gosspi/gosspi/internal/krb5/kcrypto"
	"github.com/gosspi/gosspi/internal/krb5/msg"
)

// readSeed reads a message kept in go test -fuzz's corpus format.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2)
	v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	require.NoError(t, err)
	return []byte(v)
}

// TestMITRecordedASExchange reads what a real MIT 1.20 KDC answered this
// client (recorded by the real-peer tests of internal/krb5/kdc, into the
// message parsers' seed corpus): the PREAUTH_REQUIRED error with its
// METHOD-DATA, and the AS-REP, which opens with alice's key made from
// her password and the salt MIT sent.
func TestMITRecordedASExchange(t *testing.T) {
	kerr, err := msg.ParseKRBError(readSeed(t, "../msg/testdata/fuzz/FuzzParseKRBError/mit-kdc-error-1"))
	require.NoError(t, err)
	assert.Equal(t, msg.KDCErrPreauthRequired, kerr.ErrorCode)
	md, err := msg.ParseMethodData(kerr.EData)
	require.NoError(t, err)
	v, ok := msg.FindPAData(md, msg.PAETypeInfo2)
	require.True(t, ok)
	info, err := msg.ParseETypeInfo2(v)
	require.NoError(t, err)
	require.Equal(t, int32(kcrypto.AES256CTSHMACSHA196), info[0].EType)
	require.NotNil(t, info[0].Salt)
	assert.Equal(t, "MIT.TESTalice", *info[0].Salt, "MIT's salt is RFC 4120's default")

	rep, err := msg.ParseKDCRep(readSeed(t, "../msg/testdata/fuzz/FuzzParseKDCRep/mit-kdc-rep-2"))
	require.NoError(t, err)
	require.Equal(t, msg.MsgASRep, rep.MsgType)
	key, err := kcrypto.StringToKey(kcrypto.AES256CTSHMACSHA196, "s3cret", *info[0].Salt, info[0].S2KParams)
	require.NoError(t, err)
	plain, err := key.Decrypt(kcrypto.UsageASRepEncPart, rep.EncPart.Cipher)
	require.NoError(t, err)
	part, err := msg.ParseEncKDCRepPart(plain)
	require.NoError(t, err)
	assert.Equal(t, "krbtgt/MIT.TEST", part.SName.String())
	assert.Equal(t, "alice", rep.CName.String())
	assert.NotZero(t, part.Flags&msg.TktPreAuthent)
	assert.Equal(t, int32(kcrypto.AES256CTSHMACSHA196), part.Key.KeyType)
}
