package ntlm

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MS-NLMP 4.2.2.4: sealing "Plaintext" with RandomSessionKey 0x55 x 16 and
// flags without extended session security or LM_KEY. The example's
// assembled signature shows the encrypted RandomPad (45c844e5); Windows
// writes zero there, as MS-NLMP 3.4.4.1 says and Wine's tests assert on
// Windows, so only the other fields are the example's.
func TestNoESSSealMSNLMP(t *testing.T) {
	key := bytes.Repeat([]byte{0x55}, 16)
	flags := uint32(0xe2028233)
	s, err := NewNoESSSession(key, flags)
	require.NoError(t, err)
	plain, _ := hex.DecodeString("50006c00610069006e007400650078007400")
	sealed, sig := s.Seal(plain)
	assert.Equal(t, "56fe04d861f9319af0d7238a2e3b4d457fb8", hex.EncodeToString(sealed))
	assert.Equal(t, "01000000"+"00000000"+"09dcd1df"+"2e459d36", hex.EncodeToString(sig))

	peer, err := NewNoESSSession(key, flags)
	require.NoError(t, err)
	_, err = peer.Unseal(sealed[:len(sealed)-1], sig)
	assert.ErrorIs(t, err, ErrMessageAltered)
	got, err := peer.Unseal(sealed, sig)
	require.NoError(t, err)
	assert.Equal(t, plain, got)
	_, err = peer.Unseal(sealed, sig)
	assert.Error(t, err, "a replay")

	msig := s.Sign([]byte("msg"))
	require.NoError(t, peer.Verify([]byte("msg"), msig))
	assert.ErrorIs(t, peer.Verify([]byte("msg"), msig), ErrMessageAltered, "the stream has moved on")
}

// A restored session goes on where the original was.
func TestNoESSRestore(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	a, err := NewNoESSSession(key, NegotiateUnicode|Negotiate128)
	require.NoError(t, err)
	b, err := NewNoESSSession(key, NegotiateUnicode|Negotiate128)
	require.NoError(t, err)
	sealed, sig := a.Seal([]byte("one"))
	_, err = b.Unseal(sealed, sig)
	require.NoError(t, err)
	a2, err := RestoreNoESSSession(a.State())
	require.NoError(t, err)
	b2, err := RestoreNoESSSession(b.State())
	require.NoError(t, err)
	sealed, sig = a2.Seal([]byte("two"))
	got, err := b2.Unseal(sealed, sig)
	require.NoError(t, err)
	assert.Equal(t, "two", string(got))
}
