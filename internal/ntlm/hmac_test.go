package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestHMACMD5Sum checks the streamed HMAC against crypto/hmac for keys
// shorter and longer than a block and inputs of zero to many blocks, in
// two parts.
func TestHMACMD5Sum(t *testing.T) {
	for _, klen := range []int{0, 16, 64, 65, 200} {
		for _, n := range []int{0, 1, 63, 64, 65, 100, 448, 449, 2048, 2049, 6144} {
			key := []byte(strings.Repeat("k", klen))
			msg := []byte(strings.Repeat("m", n))
			want := hmac.New(md5.New, key)
			want.Write(msg[:n/2])
			want.Write(msg[n/2:])
			got := hmacMD5Sum(key, msg[:n/2], msg[n/2:])
			if !hmac.Equal(got[:], want.Sum(nil)) {
				t.Errorf("key %d, message %d: got %x", klen, n, got)
			}
		}
	}
}

// TestNTOWFv2Upper checks ntowfv2's rune-wise upper-casing against
// strings.ToUpper, including non-ASCII and invalid UTF-8.
func TestNTOWFv2Upper(t *testing.T) {
	nt := NTHash("pw")
	for _, u := range []string{"alice", "Ärger", "straße", "\xff\xfeuser", "𝒜bc", strings.Repeat("long", 100)} {
		m := hmac.New(md5.New, nt)
		m.Write(utf16le(strings.ToUpper(u) + "Dom"))
		got := ntowfv2(nt, u, "Dom")
		if !hmac.Equal(got[:], m.Sum(nil)) {
			t.Errorf("user %q: got %x", u, got)
		}
	}
}

// TestFromUTF16LE checks the decoder against utf16.Decode, surrogates
// paired, unpaired and reversed included.
func TestFromUTF16LE(t *testing.T) {
	units := []uint16{'a', 0xe9, 0xd835, 0xdc9c, 0xd800, 'b', 0xdc00, 0xdbff, 0xdfff, 0xfffd, 0xffff, 0xd801}
	for i := range units {
		for j := i; j <= len(units); j++ {
			u := units[i:j]
			b := make([]byte, 2*len(u))
			for k, x := range u {
				binary.LittleEndian.PutUint16(b[2*k:], x)
			}
			got, ok := fromUTF16LE(b)
			if want := string(utf16.Decode(u)); !ok || got != want {
				t.Errorf("%x: got %q, want %q", u, got, want)
			}
		}
	}
	long := strings.Repeat("ab\U0001d49c", 200)
	if got, _ := fromUTF16LE(utf16le(long)); got != long {
		t.Error("long string does not round-trip")
	}
	if _, ok := fromUTF16LE([]byte{1}); ok {
		t.Error("odd length accepted")
	}
}
