package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"strings"
	"testing"
)

// TestHMACMD5Sum checks the stack HMAC against crypto/hmac for keys
// shorter and longer than a block and inputs on both sides of hmacStack.
func TestHMACMD5Sum(t *testing.T) {
	for _, klen := range []int{0, 16, 64, 65, 200} {
		for _, n := range []int{0, 1, 100, hmacStack, hmacStack + 1, 3 * hmacStack} {
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
