package kcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counting is a deterministic stand-in for a random source.
type counting byte

func (c *counting) Read(p []byte) (int, error) {
	for i := range p {
		*c++
		p[i] = byte(*c)
	}
	return len(p), nil
}

func testKey(t testing.TB, e EType) *Key {
	t.Helper()
	var r counting
	k, err := RandomKey(e, &r)
	require.NoError(t, err)
	return k
}

func TestEncryptRoundTripEveryLength(t *testing.T) {
	for _, e := range []EType{AES128CTSHMACSHA196, AES256CTSHMACSHA196} {
		k := testKey(t, e)
		d, err := k.Derive(UsageAPReqAuthenticator)
		require.NoError(t, err)
		for n := 0; n <= 70; n++ {
			pt := bytes.Repeat([]byte{byte(n)}, n)
			ct, err := d.Encrypt(nil, pt)
			require.NoError(t, err)
			require.Len(t, ct, n+e.Overhead())
			got, err := d.Decrypt(ct)
			require.NoError(t, err, "%v, %d bytes", e, n)
			assert.Equal(t, pt, got, "%v, %d bytes", e, n)

			// Key.Decrypt derives the same keys afresh.
			got, err = k.Decrypt(UsageAPReqAuthenticator, ct)
			require.NoError(t, err)
			assert.Equal(t, pt, got)
		}
	}
}

func TestEncryptPartsAndAppend(t *testing.T) {
	k := testKey(t, AES256CTSHMACSHA196)
	d, err := k.Derive(UsageGSSInitiatorSeal)
	require.NoError(t, err)
	r1, r2 := counting(7), counting(7)
	whole, err := d.Encrypt(&r1, []byte("hello, world"))
	require.NoError(t, err)
	prefix := []byte("prefix")
	parts, err := d.AppendEncrypt(prefix, &r2, []byte("hello"), []byte(", "), nil, []byte("world"))
	require.NoError(t, err)
	assert.Equal(t, "prefix", string(parts[:6]))
	assert.Equal(t, whole, parts[6:], "parts encrypt as their concatenation")

	out, err := d.AppendDecrypt([]byte("x"), whole)
	require.NoError(t, err)
	assert.Equal(t, "xhello, world", string(out))
}

func TestDecryptRefusesTamperingWrongKeyAndUsage(t *testing.T) {
	k := testKey(t, AES256CTSHMACSHA196)
	ct, err := k.Encrypt(UsageTicket, nil, []byte("the ticket's secrets"))
	require.NoError(t, err)

	for i := range ct {
		bad := append([]byte(nil), ct...)
		bad[i] ^= 0x01
		_, err := k.Decrypt(UsageTicket, bad)
		require.ErrorIs(t, err, ErrIntegrity, "flipped byte %d", i)
	}
	_, err = k.Decrypt(UsageAPRepEncPart, ct)
	assert.ErrorIs(t, err, ErrIntegrity, "another usage")

	other := testKey(t, AES256CTSHMACSHA196)
	other.value[0] ^= 0xff
	_, err = other.Decrypt(UsageTicket, ct)
	assert.ErrorIs(t, err, ErrIntegrity, "another key")

	_, err = k.Decrypt(UsageTicket, ct[:ConfounderSize+MACSize-1])
	assert.ErrorIs(t, err, ErrMalformed)
	_, err = k.Decrypt(UsageTicket, ct[:len(ct)-1])
	assert.ErrorIs(t, err, ErrIntegrity, "truncated")
}

func TestDecryptFailureLeavesDst(t *testing.T) {
	k := testKey(t, AES128CTSHMACSHA196)
	d, err := k.Derive(UsageGSSAcceptorSeal)
	require.NoError(t, err)
	ct, err := d.Encrypt(nil, []byte("secret payload"))
	require.NoError(t, err)
	ct[0] ^= 1
	dst := make([]byte, 3, 100)
	copy(dst, "abc")
	out, err := d.AppendDecrypt(dst, ct)
	require.ErrorIs(t, err, ErrIntegrity)
	assert.Equal(t, "abc", string(out))
	assert.Equal(t, make([]byte, 30), dst[3:33], "no plaintext is left behind in dst's spare capacity")
}

func TestChecksum(t *testing.T) {
	for _, e := range []EType{AES128CTSHMACSHA196, AES256CTSHMACSHA196} {
		k := testKey(t, e)
		sum, err := k.Checksum(UsageKerbNonKerbCksumSalt, []byte("data"))
		require.NoError(t, err)
		require.Len(t, sum, MACSize)
		require.NoError(t, k.VerifyChecksum(UsageKerbNonKerbCksumSalt, e.ChecksumType(), []byte("data"), sum))
		assert.ErrorIs(t, k.VerifyChecksum(UsageKerbNonKerbCksumSalt, e.ChecksumType(), []byte("Data"), sum), ErrIntegrity)
		assert.ErrorIs(t, k.VerifyChecksum(UsageAPReqAuthCksum, e.ChecksumType(), []byte("data"), sum), ErrIntegrity)
		assert.ErrorIs(t, k.VerifyChecksum(UsageKerbNonKerbCksumSalt, e.ChecksumType(), []byte("data"), sum[:11]), ErrIntegrity)
		assert.ErrorIs(t, k.VerifyChecksum(UsageKerbNonKerbCksumSalt, ChecksumType(-138), []byte("data"), sum), ErrUnsupported)
		assert.Equal(t, e, e.ChecksumType().EType())

		d, err := k.Derive(UsageKerbNonKerbCksumSalt)
		require.NoError(t, err)
		assert.Equal(t, sum, d.Checksum([]byte("da"), []byte("ta")), "checksum of parts is that of the whole")
	}
}

func TestKeys(t *testing.T) {
	_, err := NewKey(AES256CTSHMACSHA196, make([]byte, 16))
	assert.ErrorIs(t, err, ErrKeySize)
	_, err = NewKey(EType(23), make([]byte, 16))
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = RandomKey(EType(1), nil)
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = RandomKey(AES128CTSHMACSHA196, iotest.ErrReader(errors.New("no entropy")))
	assert.Error(t, err)
	_, err = StringToKey(EType(3), "p", "s", nil)
	assert.ErrorIs(t, err, ErrUnsupported)

	k, err := RandomKey(AES256CTSHMACSHA196, nil)
	require.NoError(t, err)
	assert.Len(t, k.Bytes(), 32)
	c := k.Clone()
	assert.True(t, k.Equal(c))
	k2, err := NewKey(AES256CTSHMACSHA196, k.Bytes())
	require.NoError(t, err)
	assert.True(t, k.Equal(k2))
	k.Zero()
	assert.Equal(t, make([]byte, 32), k.Bytes())
	assert.False(t, k.Equal(c), "zeroing a key leaves its clone")

	d, err := c.Derive(UsageGSSInitiatorSign)
	require.NoError(t, err)
	assert.Equal(t, UsageGSSInitiatorSign, d.Usage())
	assert.Equal(t, AES256CTSHMACSHA196, d.EType())
	assert.Nil(t, d.kc, "derived when first needed")
	d.Checksum([]byte("x"))
	assert.Nil(t, d.ki, "a checksum needs no encryption keys")
	_, err = d.Encrypt(nil, []byte("y"))
	require.NoError(t, err)
	d.Zero()
	assert.Equal(t, make([]byte, 32), d.kc)
	assert.Equal(t, make([]byte, 32), d.ki)
	assert.Equal(t, make([]byte, 32), d.base)

	// A key's kept derivations are zeroed with it.
	_, err = c.Checksum(UsageKerbNonKerbCksumSalt, []byte("z"))
	require.NoError(t, err)
	kept, ok := c.derived.Load(UsageKerbNonKerbCksumSalt)
	require.True(t, ok)
	c.Zero()
	assert.Equal(t, make([]byte, 32), kept.(*UsageKey).kc)
	_, ok = c.derived.Load(UsageKerbNonKerbCksumSalt)
	assert.False(t, ok)
}

func TestStringToKeyParams(t *testing.T) {
	def, err := StringToKey(AES128CTSHMACSHA196, "pw", "REALMuser", nil)
	require.NoError(t, err)
	explicit, err := StringToKey(AES128CTSHMACSHA196, "pw", "REALMuser", IterationParams(DefaultIterations))
	require.NoError(t, err)
	assert.True(t, def.Equal(explicit), "no parameters means 4096 iterations")

	_, err = StringToKey(AES128CTSHMACSHA196, "pw", "s", []byte{1, 2})
	assert.ErrorIs(t, err, ErrParams)
	_, err = StringToKey(AES128CTSHMACSHA196, "pw", "s", IterationParams(0))
	assert.ErrorIs(t, err, ErrParams, "zero is 2**32 iterations")
	_, err = StringToKey(AES128CTSHMACSHA196, "pw", "s", IterationParams(MaxIterations+1))
	assert.ErrorIs(t, err, ErrParams)

	assert.Equal(t, "CONTOSO.TESTHTTPweb01.contoso.test", DefaultSalt("CONTOSO.TEST", "HTTP", "web01.contoso.test"))
	assert.Equal(t, "R", DefaultSalt("R"))
}

func TestNames(t *testing.T) {
	assert.Equal(t, "aes256-cts-hmac-sha1-96", AES256CTSHMACSHA196.String())
	assert.Equal(t, "aes128-cts-hmac-sha1-96", AES128CTSHMACSHA196.String())
	assert.Equal(t, "etype(23)", EType(23).String())
	assert.Equal(t, "hmac-sha1-96-aes256", HMACSHA196AES256.String())
	assert.Equal(t, "hmac-sha1-96-aes128", HMACSHA196AES128.String())
	assert.Equal(t, "cksumtype(-138)", ChecksumType(-138).String())
	assert.Equal(t, 0, EType(23).KeySize())
	assert.Equal(t, 0, EType(23).Overhead())
	assert.Equal(t, ChecksumType(0), EType(23).ChecksumType())
	assert.Equal(t, EType(0), ChecksumType(1).EType())
	assert.False(t, EType(23).Supported())
}

func TestNFoldEdges(t *testing.T) {
	assert.Equal(t, make([]byte, 8), nfold(nil, 8))
	assert.Equal(t, []byte("0123456789abcdef"), nfold([]byte("0123456789abcdef"), 16))
}

// TestCBCLoopsMatchStdlib: the allocation-free CBC loops for short
// messages are the standard library's CBC, in place or not.
func TestCBCLoopsMatchStdlib(t *testing.T) {
	b, err := aes.NewCipher(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	for _, n := range []int{16, 32, smallCBC, smallCBC + 16, 4096} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i * 7)
		}
		var iv [BlockSize]byte
		want := make([]byte, n)
		cipher.NewCBCEncrypter(b, iv[:]).CryptBlocks(want, src)
		got := append([]byte(nil), src...)
		cbcEncrypt(b, got, got)
		assert.Equal(t, want, got, "encrypt %d", n)
		cbcDecrypt(b, got, got)
		assert.Equal(t, src, got, "decrypt %d", n)
	}
}
