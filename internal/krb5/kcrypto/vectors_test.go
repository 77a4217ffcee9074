package kcrypto

import (
	"crypto/aes"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/pbkdf2"
)

// unhex decodes hex that may be split by spaces, as the RFCs print it.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// TestNFoldRFC3961 checks every n-fold vector of RFC 3961 appendix A.1.
// The RFC gives the fold sizes in bits.
func TestNFoldRFC3961(t *testing.T) {
	for _, tc := range []struct {
		bits int
		in   string
		want string
	}{
		{64, "012345", "be072631276b1955"},
		{56, "password", "78a07b6caf85fa"},
		{64, "Rough Consensus, and Running Code", "bb6ed30870b7f0e0"},
		{168, "password", "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"},
		{192, "MASSACHVSETTS INSTITVTE OF TECHNOLOGY", "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"},
		{168, "Q", "518a54a2 15a8452a 518a54a2 15a8452a 518a54a2 15"},
		{168, "ba", "fb25d531 ae897449 9f52fd92 ea9857c4 ba24cf29 7e"},
		{64, "kerberos", "6b65726265726f73"},
		{128, "kerberos", "6b65726265726f73 7b9b5b2b93132b93"},
		{168, "kerberos", "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4"},
		{256, "kerberos", "6b65726265726f73 7b9b5b2b93132b93 5c9bdcdad95c9899 c4cae4dee6d6cae4"},
	} {
		got := nfold([]byte(tc.in), tc.bits/8)
		assert.Equal(t, hex.EncodeToString(unhex(t, tc.want)), hex.EncodeToString(got), "%d-fold(%q)", tc.bits, tc.in)
	}
}

// s2kVector is one string-to-key sample of RFC 3962 appendix B: the
// PBKDF2 outputs and the final keys for both key sizes.
type s2kVector struct {
	iter             uint32
	pass, salt       string
	pbkdf128, key128 string
	pbkdf256, key256 string
}

var rfc3962S2K = []s2kVector{
	{
		iter: 1, pass: "password", salt: "ATHENA.MIT.EDUraeburn",
		pbkdf128: "cd ed b5 28 1b b2 f8 01 56 5a 11 22 b2 56 35 15",
		key128:   "42 26 3c 6e 89 f4 fc 28 b8 df 68 ee 09 79 9f 15",
		pbkdf256: "cd ed b5 28 1b b2 f8 01 56 5a 11 22 b2 56 35 15 0a d1 f7 a0 4b b9 f3 a3 33 ec c0 e2 e1 f7 08 37",
		key256:   "fe 69 7b 52 bc 0d 3c e1 44 32 ba 03 6a 92 e6 5b bb 52 28 09 90 a2 fa 27 88 39 98 d7 2a f3 01 61",
	},
	{
		iter: 2, pass: "password", salt: "ATHENA.MIT.EDUraeburn",
		pbkdf128: "01 db ee 7f 4a 9e 24 3e 98 8b 62 c7 3c da 93 5d",
		key128:   "c6 51 bf 29 e2 30 0a c2 7f a4 69 d6 93 bd da 13",
		pbkdf256: "01 db ee 7f 4a 9e 24 3e 98 8b 62 c7 3c da 93 5d a0 53 78 b9 32 44 ec 8f 48 a9 9e 61 ad 79 9d 86",
		key256:   "a2 e1 6d 16 b3 60 69 c1 35 d5 e9 d2 e2 5f 89 61 02 68 56 18 b9 59 14 b4 67 c6 76 22 22 58 24 ff",
	},
	{
		iter: 1200, pass: "password", salt: "ATHENA.MIT.EDUraeburn",
		pbkdf128: "5c 08 eb 61 fd f7 1e 4e 4e c3 cf 6b a1 f5 51 2b",
		key128:   "4c 01 cd 46 d6 32 d0 1e 6d be 23 0a 01 ed 64 2a",
		pbkdf256: "5c 08 eb 61 fd f7 1e 4e 4e c3 cf 6b a1 f5 51 2b a7 e5 2d db c5 e5 14 2f 70 8a 31 e2 e6 2b 1e 13",
		key256:   "55 a6 ac 74 0a d1 7b 48 46 94 10 51 e1 e8 b0 a7 54 8d 93 b0 ab 30 a8 bc 3f f1 62 80 38 2b 8c 2a",
	},
	{
		iter: 5, pass: "password", salt: "\x12\x34\x56\x78\x78\x56\x34\x12",
		pbkdf128: "d1 da a7 86 15 f2 87 e6 a1 c8 b1 20 d7 06 2a 49",
		key128:   "e9 b2 3d 52 27 37 47 dd 5c 35 cb 55 be 61 9d 8e",
		pbkdf256: "d1 da a7 86 15 f2 87 e6 a1 c8 b1 20 d7 06 2a 49 3f 98 d2 03 e6 be 49 a6 ad f4 fa 57 4b 6e 64 ee",
		key256:   "97 a4 e7 86 be 20 d8 1a 38 2d 5e bc 96 d5 90 9c ab cd ad c8 7c a4 8f 57 45 04 15 9f 16 c3 6e 31",
	},
	{
		iter: 1200, pass: strings.Repeat("X", 64), salt: "pass phrase equals block size",
		pbkdf128: "13 9c 30 c0 96 6b c3 2b a5 5f db f2 12 53 0a c9",
		key128:   "59 d1 bb 78 9a 82 8b 1a a5 4e f9 c2 88 3f 69 ed",
		pbkdf256: "13 9c 30 c0 96 6b c3 2b a5 5f db f2 12 53 0a c9 c5 ec 59 f1 a4 52 f5 cc 9a d9 40 fe a0 59 8e d1",
		key256:   "89 ad ee 36 08 db 8b c7 1f 1b fb fe 45 94 86 b0 56 18 b7 0c ba e2 20 92 53 4e 56 c5 53 ba 4b 34",
	},
	{
		iter: 1200, pass: strings.Repeat("X", 65), salt: "pass phrase exceeds block size",
		pbkdf128: "9c ca d6 d4 68 77 0c d5 1b 10 e6 a6 87 21 be 61",
		key128:   "cb 80 05 dc 5f 90 17 9a 7f 02 10 4c 00 18 75 1d",
		pbkdf256: "9c ca d6 d4 68 77 0c d5 1b 10 e6 a6 87 21 be 61 1a 8b 4d 28 26 01 db 3b 36 be 92 46 91 5e c8 2a",
		key256:   "d7 8c 5c 9c b8 72 a8 c9 da d4 69 7f 0b b5 b2 d2 14 96 c8 2b eb 2c ae da 21 12 fc ee a0 57 40 1b",
	},
	{
		iter: 50, pass: "\xf0\x9d\x84\x9e", salt: "EXAMPLE.COMpianist", // the g-clef, U+1D11E
		pbkdf128: "6b 9c f2 6d 45 45 5a 43 a5 b8 bb 27 6a 40 3b 39",
		key128:   "f1 49 c1 f2 e1 54 a7 34 52 d4 3e 7f e6 2a 56 e5",
		pbkdf256: "6b 9c f2 6d 45 45 5a 43 a5 b8 bb 27 6a 40 3b 39 e7 fe 37 a0 c4 1e 02 c2 81 ff 30 69 e1 e9 4f 52",
		key256:   "4b 6d 98 39 f8 44 06 df 1f 09 cc 16 6d b4 b8 3c 57 18 48 b7 84 a3 d6 bd c3 46 58 9a 3e 39 3f 9e",
	},
}

// TestStringToKeyRFC3962 checks every string-to-key sample of RFC 3962
// appendix B, for both key sizes, and the PBKDF2 step on its own.
func TestStringToKeyRFC3962(t *testing.T) {
	for _, v := range rfc3962S2K {
		params := IterationParams(v.iter)
		for _, c := range []struct {
			e          EType
			pbkdf, key string
		}{
			{AES128CTSHMACSHA196, v.pbkdf128, v.key128},
			{AES256CTSHMACSHA196, v.pbkdf256, v.key256},
		} {
			name := c.e.String() + "/" + v.salt
			got := pbkdf2.Key([]byte(v.pass), []byte(v.salt), int(v.iter), c.e.KeySize(), sha1.New)
			assert.Equal(t, unhex(t, c.pbkdf), got, "PBKDF2 %s", name)
			k, err := StringToKey(c.e, v.pass, v.salt, params)
			require.NoError(t, err, name)
			assert.Equal(t, unhex(t, c.key), k.Bytes(), "key %s", name)
		}
	}
}

// TestCTSRFC3962 checks the CBC-with-ciphertext-stealing samples of RFC
// 3962 appendix B (AES-128 key "chicken teriyaki", zero IV), both ways,
// and in place.
func TestCTSRFC3962(t *testing.T) {
	key := unhex(t, "63 68 69 63 6b 65 6e 20 74 65 72 69 79 61 6b 69")
	const input = "49 20 77 6f 75 6c 64 20 6c 69 6b 65 20 74 68 65 " +
		"20 47 65 6e 65 72 61 6c 20 47 61 75 27 73 20 43 " +
		"68 69 63 6b 65 6e 2c 20 70 6c 65 61 73 65 2c 20 " +
		"61 6e 64 20 77 6f 6e 74 6f 6e 20 73 6f 75 70 2e"
	in := unhex(t, input)
	for _, tc := range []struct {
		n    int
		want string
	}{
		{17, "c6 35 35 68 f2 bf 8c b4 d8 a5 80 36 2d a7 ff 7f 97"},
		{31, "fc 00 78 3e 0e fd b2 c1 d4 45 d4 c8 ef f7 ed 22 97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5"},
		{32, "39 31 25 23 a7 86 62 d5 be 7f cb cc 98 eb f5 a8 97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5 84"},
		{47, "97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5 84 b3 ff fd 94 0c 16 a1 8c 1b 55 49 d2 f8 38 02 9e " +
			"39 31 25 23 a7 86 62 d5 be 7f cb cc 98 eb f5"},
		{48, "97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5 84 9d ad 8b bb 96 c4 cd c0 3b c1 03 e1 a1 94 bb d8 " +
			"39 31 25 23 a7 86 62 d5 be 7f cb cc 98 eb f5 a8"},
		{64, "97 68 72 68 d6 ec cc c0 c0 7b 25 e2 5e cf e5 84 39 31 25 23 a7 86 62 d5 be 7f cb cc 98 eb f5 a8 " +
			"48 07 ef e8 36 ee 89 a5 26 73 0d bc 2f 7b c8 40 9d ad 8b bb 96 c4 cd c0 3b c1 03 e1 a1 94 bb d8"},
	} {
		b, err := aes.NewCipher(key)
		require.NoError(t, err)
		want := unhex(t, tc.want)
		require.Len(t, want, tc.n)
		got := make([]byte, tc.n)
		ctsEncrypt(b, got, in[:tc.n])
		assert.Equal(t, want, got, "encrypt %d bytes", tc.n)
		back := make([]byte, tc.n)
		ctsDecrypt(b, back, got)
		assert.Equal(t, in[:tc.n], back, "decrypt %d bytes", tc.n)

		buf := append([]byte(nil), in[:tc.n]...)
		ctsEncrypt(b, buf, buf)
		assert.Equal(t, want, buf, "encrypt %d bytes in place", tc.n)
		ctsDecrypt(b, buf, buf)
		assert.Equal(t, in[:tc.n], buf, "decrypt %d bytes in place", tc.n)
	}
}
