package kcrypto

import (
	"testing"

	"github.com/gosspi/gosspi/internal/krb5/internal/seedcorpus"
)

// FuzzDecrypt feeds ciphertext from the wire to Decrypt, which must
// refuse what it cannot open and never panic, whatever the length.
func FuzzDecrypt(f *testing.F) {
	key, err := NewKey(AES128CTSHMACSHA196, make([]byte, 16))
	if err != nil {
		f.Fatal(err)
	}
	var r counting
	var seeds [][]byte
	for _, n := range []int{0, 1, 15, 16, 17, 40} {
		ct, err := key.Encrypt(UsageTicket, &r, make([]byte, n))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, ct)
	}
	seedcorpus.Sync(f, seeds...)
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := key.Decrypt(UsageTicket, ct)
		if err == nil && len(pt) != len(ct)-ConfounderSize-MACSize {
			t.Fatalf("%d bytes of plaintext from %d of ciphertext", len(pt), len(ct))
		}
	})
}
