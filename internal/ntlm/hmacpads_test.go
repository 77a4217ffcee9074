package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"testing"

	"github.com/stretchr/testify/require"
)

// HMAC-MD5 from saved pads is crypto/hmac's, for keys and messages of
// every length a logon uses, and messages in several parts.
func TestHMACPadsMatchCryptoHMAC(t *testing.T) {
	for n := 0; n < 300; n++ {
		key := make([]byte, 1+n%64)
		msg := make([]byte, n*3)
		for i := range key {
			key[i] = byte(n*7 + i)
		}
		for i := range msg {
			msg[i] = byte(i ^ n)
		}
		var p hmacPads
		p.init(key)
		mac := hmac.New(md5.New, key)
		mac.Write(msg)
		want := mac.Sum(nil)
		cut := len(msg) / 3
		got := p.sum(msg[:cut], msg[cut:])
		require.Equal(t, want, got[:], "key %d bytes, message %d", len(key), len(msg))
		again := p.sum(msg)
		require.Equal(t, want, again[:], "the pads are reusable")
	}
}

// A ResponseKey is NTOWFv2 with pads of that key; Wipe zeroes both.
func TestResponseKey(t *testing.T) {
	k := NewResponseKey("Passw0rd!", "alice", "CONTOSO")
	require.Equal(t, NTOWFv2("Passw0rd!", "alice", "CONTOSO"), k.Bytes())
	require.Equal(t, hmacMD5(k.Bytes(), []byte("proof")), func() []byte { s := k.pads.sum([]byte("pr"), []byte("oof")); return s[:] }())
	k.Wipe()
	require.Equal(t, ResponseKey{}, k)
}

func BenchmarkHMACPads(b *testing.B) {
	var p hmacPads
	p.init([]byte("0123456789abcdef"))
	msg := make([]byte, 300)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.sum(msg)
	}
}
