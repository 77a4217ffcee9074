package rc4

import (
	"bufio"
	"bytes"
	stdrc4 "crypto/rc4"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type kat struct {
	key  []byte
	rows map[int][]byte // keystream offset → 16 bytes
}

// readRFC6229 parses the tables of RFC 6229 section 2 kept in testdata.
func readRFC6229(t *testing.T) []kat {
	f, err := os.Open("testdata/rfc6229.txt")
	require.NoError(t, err)
	defer f.Close()
	var kats []kat
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "key: 0x"):
			key, err := hex.DecodeString(strings.TrimPrefix(line, "key: 0x"))
			require.NoError(t, err)
			kats = append(kats, kat{key: key, rows: map[int][]byte{}})
		case strings.HasPrefix(line, "DEC"):
			head, data, ok := strings.Cut(line, ":")
			require.True(t, ok, line)
			off, err := strconv.Atoi(strings.Fields(head)[1])
			require.NoError(t, err)
			b, err := hex.DecodeString(strings.Join(strings.Fields(data), ""))
			require.NoError(t, err)
			require.Len(t, b, 16, line)
			require.NotEmpty(t, kats)
			kats[len(kats)-1].rows[off] = b
		}
	}
	require.NoError(t, sc.Err())
	return kats
}

func TestRFC6229(t *testing.T) {
	kats := readRFC6229(t)
	require.Len(t, kats, 8)
	for _, k := range kats {
		require.Len(t, k.rows, 18)
		c, err := NewCipher(k.key)
		require.NoError(t, err)
		stream := make([]byte, 4096+16)
		c.XORKeyStream(stream, stream)
		for off, want := range k.rows {
			assert.Equal(t, want, stream[off:off+16], "key %x offset %d", k.key, off)
		}
		// The same keystream in pieces of every length up to 7, which
		// crosses the four-byte rounds at every phase.
		c2, err := NewCipher(k.key)
		require.NoError(t, err)
		pieces := make([]byte, len(stream))
		for p, n := 0, 1; p < len(pieces); n = n%7 + 1 {
			e := min(p+n, len(pieces))
			c2.XORKeyStream(pieces[p:e], pieces[p:e])
			p = e
		}
		assert.Equal(t, stream, pieces, "key %x in pieces", k.key)
	}
}

func TestKeySize(t *testing.T) {
	for _, n := range []int{0, 257} {
		_, err := NewCipher(make([]byte, n))
		assert.Equal(t, KeySizeError(n), err)
	}
	for _, n := range []int{1, 256} {
		_, err := NewCipher(make([]byte, n))
		assert.NoError(t, err)
	}
}

// A saved state continues the stream exactly where it stood, in another
// Cipher.
func TestStateRoundTrip(t *testing.T) {
	c, err := NewCipher([]byte("state round trip"))
	require.NoError(t, err)
	c.XORKeyStream(make([]byte, 1001), make([]byte, 1001))
	saved := c.AppendState(nil)
	require.Len(t, saved, StateSize)

	var d Cipher
	require.NoError(t, d.SetState(saved))
	if diff := cmp.Diff(c.AppendState(nil), d.AppendState(nil)); diff != "" {
		t.Fatal(diff)
	}
	a, b := make([]byte, 333), make([]byte, 333)
	c.XORKeyStream(a, a)
	d.XORKeyStream(b, b)
	assert.Equal(t, a, b)
}

func TestSetStateRefuses(t *testing.T) {
	c, err := NewCipher([]byte{1, 2, 3})
	require.NoError(t, err)
	good := c.AppendState(nil)
	dup := bytes.Clone(good)
	dup[0] = dup[1] // two entries alike: not a permutation
	var d Cipher
	assert.ErrorIs(t, d.SetState(good[:StateSize-1]), ErrBadState)
	assert.ErrorIs(t, d.SetState(append(bytes.Clone(good), 0)), ErrBadState)
	assert.ErrorIs(t, d.SetState(dup), ErrBadState)
	assert.Equal(t, Cipher{}, d, "a refused state leaves the cipher alone")
}

func TestReset(t *testing.T) {
	c, err := NewCipher([]byte("secret"))
	require.NoError(t, err)
	c.Reset()
	assert.Equal(t, Cipher{}, *c)
}

// FuzzDifferential runs this cipher and crypto/rc4 side by side on the
// same key and the same sequence of message lengths, with the state saved
// and restored between messages.
func FuzzDifferential(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5}, []byte{16, 0, 3, 255, 7})
	f.Add([]byte("0123456789abcdef"), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, key, lens []byte) {
		if len(key) == 0 || len(key) > 256 {
			_, err := NewCipher(key)
			require.Error(t, err)
			return
		}
		want, err := stdrc4.NewCipher(key)
		require.NoError(t, err)
		got, err := NewCipher(key)
		require.NoError(t, err)
		for i, l := range lens {
			n := int(l) * (i%3 + 1) // lengths up to 765
			msg := bytes.Repeat([]byte{byte(i)}, n)
			a, b := make([]byte, n), bytes.Clone(msg)
			want.XORKeyStream(a, msg)
			got.XORKeyStream(b, b) // in place
			require.Equal(t, a, b, "message %d of %d bytes", i, n)
			if i%2 == 1 {
				var next Cipher
				require.NoError(t, next.SetState(got.AppendState(nil)))
				got = &next
			}
		}
	})
}

var sink byte

func benchmarkXOR(b *testing.B, n int, xor func(dst, src []byte)) {
	buf := make([]byte, n)
	b.SetBytes(int64(n))
	for i := 0; i < b.N; i++ {
		xor(buf, buf)
	}
	sink = buf[0]
}

func BenchmarkXORKeyStream(b *testing.B) {
	key := []byte("0123456789abcdef")
	for _, n := range []int{16, 1024, 64 * 1024} {
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			c, _ := NewCipher(key)
			benchmarkXOR(b, n, c.XORKeyStream)
		})
		b.Run("stdlib/n="+strconv.Itoa(n), func(b *testing.B) {
			c, _ := stdrc4.NewCipher(key)
			benchmarkXOR(b, n, c.XORKeyStream)
		})
	}
}

func BenchmarkInit(b *testing.B) {
	key := []byte("0123456789abcdef")
	b.Run("this", func(b *testing.B) {
		var c Cipher
		for i := 0; i < b.N; i++ {
			_ = c.Init(key)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			c, _ := stdrc4.NewCipher(key)
			_ = c
		}
	})
}

func BenchmarkSetState(b *testing.B) {
	c, _ := NewCipher([]byte("0123456789abcdef"))
	st := c.AppendState(nil)
	var d Cipher
	for i := 0; i < b.N; i++ {
		_ = d.SetState(st)
	}
}

// The 16-byte key schedule, which loads each entry before the previous
// swap lands, gives crypto/rc4's permutation for many keys, among them
// keys whose swaps often write the entry loaded next.
func TestInit16MatchesStdlib(t *testing.T) {
	key := make([]byte, 16)
	for n := 0; n < 4096; n++ {
		for i := range key {
			key[i] = byte(n*31 + i*i*(n>>3) + n>>5)
		}
		if n%7 == 0 {
			key[n%16] = byte(1 - n%16) // with s[0] = 0, j lands on 1
		}
		c, err := NewCipher(key)
		require.NoError(t, err)
		ref, err := stdrc4.NewCipher(key)
		require.NoError(t, err)
		got, want := make([]byte, 64), make([]byte, 64)
		c.XORKeyStream(got, got)
		ref.XORKeyStream(want, want)
		require.Equal(t, want, got, "key %x", key)
	}
}
