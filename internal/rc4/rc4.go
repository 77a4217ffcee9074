// Package rc4 is the RC4 stream cipher with a state that can be saved and
// restored.
//
// NTLM session security seals every message of a session with one running
// RC4 stream per direction, so a packed NTLM context must carry the cipher
// where it stands. crypto/rc4 keeps its permutation unexported, and without
// it the only way to continue a stream in another process is to run the key
// schedule again and discard every keystream byte the session has used,
// which costs time in proportion to the traffic. This package holds the
// same cipher in a form that State and SetState can copy out and in, so
// restoring a context is constant work whatever it carried.
//
// It is the one cryptographic primitive the project writes itself; every
// other one comes from the standard library or golang.org/x/crypto. It is
// checked against the test vectors of RFC 6229 and, by a differential fuzz
// target, against crypto/rc4.
//
// RC4 is broken as a cipher. It is here because MS-NLMP requires it, not
// for new protocols.
package rc4

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// StateSize is the length of a saved state: the permutation, then i and j.
const StateSize = 256 + 2

// KeySizeError is returned by NewCipher and Init for a key of a length
// RC4 does not take (0 or more than 256 bytes).
type KeySizeError int

func (k KeySizeError) Error() string {
	return "rc4: invalid key size " + strconv.Itoa(int(k))
}

// ErrBadState is returned by SetState for bytes that are not a saved
// state: the wrong length, or a table that is not a permutation.
var ErrBadState = errors.New("rc4: not a saved cipher state")

// Cipher is an RC4 stream. The zero Cipher is not usable; Init or
// SetState make it so. A Cipher is a plain value: copying it forks the
// stream, which is how a receiver tries a message without committing.
type Cipher struct {
	// The permutation holds bytes but is kept in 32-bit words: on amd64
	// byte-wide table updates stall on partial-register and store
	// forwarding, and words run measurably faster. Indices are bytes, so
	// every access is in range by its type and needs no bounds check.
	s    [256]uint32
	i, j uint8
}

// NewCipher returns a Cipher keyed with key, 1 to 256 bytes.
func NewCipher(key []byte) (*Cipher, error) {
	c := new(Cipher)
	if err := c.Init(key); err != nil {
		return nil, err
	}
	return c, nil
}

// identity is the permutation a key schedule starts from.
var identity = func() (s [256]uint32) {
	for i := range s {
		s[i] = uint32(i)
	}
	return s
}()

// Init runs the key schedule into c, so a Cipher embedded in a larger
// value needs no allocation of its own.
func (c *Cipher) Init(key []byte) error {
	k := len(key)
	if k < 1 || k > 256 {
		return KeySizeError(k)
	}
	c.s = identity
	s := &c.s
	var j uint8
	if k == 16 { // every NTLM key: the key index needs neither wrap nor bounds check
		kk := (*[16]byte)(key)
		// The next entry is loaded before this round's swap is stored,
		// and patched when the swap wrote it (j == i+1). Loaded after the
		// stores, it waits on them whenever the CPU cannot tell that the
		// addresses differ, which nearly doubles the schedule's time.
		x := s[0]
		for i := 0; i < 256; i++ {
			j += uint8(x) + kk[i&15]
			y := s[j]
			next := s[uint8(i+1)]
			s[uint8(i)] = y
			s[j] = x
			if j == uint8(i+1) {
				next = x
			}
			x = next
		}
	} else {
		// The key index wraps by comparison: i%k is a division per
		// byte, tens of cycles each.
		ki := 0
		for i := 0; i < 256; i++ {
			x := s[uint8(i)]
			j += uint8(x) + key[ki]
			s[uint8(i)] = s[j]
			s[j] = x
			if ki++; ki == k {
				ki = 0
			}
		}
	}
	c.i, c.j = 0, 0
	return nil
}

// XORKeyStream sets dst to src XOR the next len(src) keystream bytes. dst
// and src must overlap entirely or not at all; dst must be at least as
// long as src.
func (c *Cipher) XORKeyStream(dst, src []byte) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)] // one bounds check here instead of one per byte
	s := &c.s
	i, j := c.i, c.j
	x := s[i+1]
	// Eight bytes per round, XORed as one word: the loop overhead and the
	// byte loads and stores of the message are a large part of RC4's few
	// instructions per byte.
	n := len(src) &^ 7
	for k := 0; k < n; k += 8 {
		var k0, k1, k2, k3, k4, k5, k6, k7 uint64
		i++
		j, x, k0 = step(s, i, j, x)
		i++
		j, x, k1 = step(s, i, j, x)
		i++
		j, x, k2 = step(s, i, j, x)
		i++
		j, x, k3 = step(s, i, j, x)
		i++
		j, x, k4 = step(s, i, j, x)
		i++
		j, x, k5 = step(s, i, j, x)
		i++
		j, x, k6 = step(s, i, j, x)
		i++
		j, x, k7 = step(s, i, j, x)
		ks := k0 | k1<<8 | k2<<16 | k3<<24 | k4<<32 | k5<<40 | k6<<48 | k7<<56
		binary.LittleEndian.PutUint64(dst[k:], binary.LittleEndian.Uint64(src[k:])^ks)
	}
	for k := n; k < len(src); k++ {
		var b uint64
		i++
		j, x, b = step(s, i, j, x)
		dst[k] = src[k] ^ byte(b)
	}
	c.i, c.j = i, j
}

// step is one round of the keystream generator at index i, with x =
// s[i] loaded already: it swaps s[i] and s[j], and returns j, the next
// round's x and the keystream byte. As in Init, the next entry is loaded
// before the swap is stored and patched when the swap wrote it, so the
// load need not wait for the stores.
func step(s *[256]uint32, i, j uint8, x uint32) (uint8, uint32, uint64) {
	j += uint8(x)
	y := s[j]
	next := s[i+1]
	s[i], s[j] = y, x
	if j == i+1 {
		next = x
	}
	return j, next, uint64(uint8(s[uint8(x+y)]))
}

// AppendState appends the state of c (StateSize bytes) to dst. The bytes
// are as secret as the key: whoever holds them can decrypt the rest of
// the stream.
func (c *Cipher) AppendState(dst []byte) []byte {
	for _, v := range c.s {
		dst = append(dst, byte(v))
	}
	return append(dst, c.i, c.j)
}

// SetState makes c continue the stream saved by AppendState. It refuses
// bytes whose table is not a permutation, which no keyed cipher can reach.
func (c *Cipher) SetState(b []byte) error {
	if len(b) != StateSize {
		return ErrBadState
	}
	// 256 entries are a permutation exactly when every value appears. Four
	// bitmaps, one per entry index mod 4, keep each update from waiting on
	// the one before (import is latency-critical); their union must be
	// full.
	var seen [4][4]uint64
	for k := 0; k < 256; k += 4 {
		v := b[k : k+4 : k+4]
		seen[0][v[0]>>6] |= 1 << (v[0] & 63)
		seen[1][v[1]>>6] |= 1 << (v[1] & 63)
		seen[2][v[2]>>6] |= 1 << (v[2] & 63)
		seen[3][v[3]>>6] |= 1 << (v[3] & 63)
	}
	full := ^uint64(0)
	for w := 0; w < 4; w++ {
		full &= seen[0][w] | seen[1][w] | seen[2][w] | seen[3][w]
	}
	if full != ^uint64(0) {
		return ErrBadState
	}
	for k, v := range b[:256] {
		c.s[k] = uint32(v)
	}
	c.i, c.j = b[256], b[257]
	return nil
}

// Reset zeroes c, so its state does not outlive the key it came from. A
// reset Cipher must be keyed again before use.
func (c *Cipher) Reset() {
	clear(c.s[:])
	c.i, c.j = 0, 0
}
