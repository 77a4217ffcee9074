package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/pbkdf2"
)

// profile is what differs between the encryption types of RFC 3962.
type profile struct {
	etype   EType
	keySize int
	cksum   ChecksumType
}

var (
	aes128 = &profile{etype: AES128CTSHMACSHA196, keySize: 16, cksum: HMACSHA196AES128}
	aes256 = &profile{etype: AES256CTSHMACSHA196, keySize: 32, cksum: HMACSHA196AES256}
)

func profileOf(e EType) *profile {
	switch e {
	case AES128CTSHMACSHA196:
		return aes128
	case AES256CTSHMACSHA196:
		return aes256
	}
	return nil
}

// Key is a Kerberos protocol key of one encryption type. Its methods are
// safe for concurrent use, except Zero, which its owner calls last.
type Key struct {
	p     *profile
	value []byte // in buf: one allocation per key
	buf   [maxKeySize]byte
	// derived caches the keys of the usages k has been used with: a
	// long-term key (a service's, the krbtgt's) serves the same usages
	// request after request, and deriving costs more than the message
	// work.
	derived sync.Map // Usage -> *UsageKey
	// hasDerived spares Zero a Range over an empty map, which allocates.
	hasDerived atomic.Bool
}

// NewKey returns a key of type e holding a copy of value.
func NewKey(e EType, value []byte) (*Key, error) {
	p := profileOf(e)
	if p == nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, e)
	}
	if len(value) != p.keySize {
		return nil, fmt.Errorf("%w: %v needs %d bytes, got %d", ErrKeySize, e, p.keySize, len(value))
	}
	return newKey(p, value), nil
}

// maxKeySize is the largest key of the supported types (AES256).
const maxKeySize = 32

// newKey makes a key holding a copy of value, whose size p has checked.
func newKey(p *profile, value []byte) *Key {
	k := &Key{p: p}
	k.value = k.buf[:copy(k.buf[:], value)]
	return k
}

// EType is the key's encryption type.
func (k *Key) EType() EType { return k.p.etype }

// Bytes returns a copy of the key's value, to put in an EncryptionKey.
func (k *Key) Bytes() []byte { return append([]byte(nil), k.value...) }

// Equal reports whether k and o are the same key, in constant time for
// keys of the same type.
func (k *Key) Equal(o *Key) bool {
	return k.p == o.p && subtle.ConstantTimeCompare(k.value, o.value) == 1
}

// Clone returns an independent copy of k, which can be zeroed apart from it.
func (k *Key) Clone() *Key { return newKey(k.p, k.value) }

// Zero overwrites the key's value and the keys derived from it. The key
// must not be used afterwards.
func (k *Key) Zero() {
	clear(k.value)
	if !k.hasDerived.Load() {
		return
	}
	k.derived.Range(func(u, d any) bool {
		d.(*UsageKey).Zero()
		k.derived.Delete(u)
		return true
	})
}

// RandomKey makes a fresh key of type e from r (crypto/rand if nil): the
// random-to-key function of RFC 3962 is the identity, so a key is just
// KeySize random bytes.
func RandomKey(e EType, r io.Reader) (*Key, error) {
	p := profileOf(e)
	if p == nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, e)
	}
	if r == nil {
		r = rand.Reader
	}
	k := &Key{p: p}
	k.value = k.buf[:p.keySize]
	if _, err := io.ReadFull(r, k.value); err != nil {
		return nil, fmt.Errorf("kcrypto: reading a random key: %w", err)
	}
	return k, nil
}

// DefaultIterations is the PBKDF2 iteration count of RFC 3962 section 4
// when the KDC sends no parameters (the string-to-key parameter 00 00 10 00).
const DefaultIterations = 4096

// MaxIterations bounds the PBKDF2 iteration count StringToKey accepts. The
// count comes from the KDC's ETYPE-INFO2 before anything is authenticated,
// so an attacker could otherwise make a client spin for hours (RFC 3962
// section 8 asks implementations to bound it). Real KDCs send 4096.
const MaxIterations = 1 << 20

// StringToKey derives the long-term key of type e from a password and
// salt (RFC 3962 section 4): PBKDF2-HMAC-SHA1 with the iteration count of
// params (four bytes, big-endian; nil means DefaultIterations), then the
// derivation DK(key, "kerberos"). The salt is normally DefaultSalt of the
// principal, or what the KDC's ETYPE-INFO2 says.
func StringToKey(e EType, password, salt string, params []byte) (*Key, error) {
	p := profileOf(e)
	if p == nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, e)
	}
	iter := uint64(DefaultIterations)
	if params != nil {
		if len(params) != 4 {
			return nil, fmt.Errorf("%w: %d bytes of parameters, want 4", ErrParams, len(params))
		}
		iter = uint64(binary.BigEndian.Uint32(params))
		if iter == 0 {
			iter = 1 << 32 // RFC 3962 section 4: zero means 2**32
		}
	}
	if iter > MaxIterations {
		return nil, fmt.Errorf("%w: %d iterations, more than the %d allowed", ErrParams, iter, MaxIterations)
	}
	tkey := pbkdf2.Key([]byte(password), []byte(salt), int(iter), p.keySize, sha1.New)
	defer clear(tkey)
	v, err := derive(p, tkey, nfold([]byte("kerberos"), BlockSize))
	if err != nil {
		return nil, err
	}
	return &Key{p: p, value: v}, nil
}

// IterationParams encodes an iteration count as string-to-key parameters,
// as a KDC sends them in ETYPE-INFO2.
func IterationParams(iter uint32) []byte { return binary.BigEndian.AppendUint32(nil, iter) }

// DefaultSalt is the salt of RFC 4120 section 4: the realm followed by the
// components of the principal name, with no separators.
func DefaultSalt(realm string, components ...string) string {
	n := len(realm)
	for _, c := range components {
		n += len(c)
	}
	b := make([]byte, 0, n)
	b = append(b, realm...)
	for _, c := range components {
		b = append(b, c...)
	}
	return string(b)
}

// derive is DK(base, constant) of RFC 3961 section 5.1, given the
// constant n-folded to a block: encrypt it repeatedly under the base key,
// and take key-size bytes of the chained blocks (random-to-key is the
// identity).
func derive(p *profile, base, folded []byte) ([]byte, error) {
	b, err := aes.NewCipher(base)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeySize, err)
	}
	return deriveWith(p, b, folded), nil
}

// deriveWith is derive with the base key's cipher already made.
func deriveWith(p *profile, b cipher.Block, folded []byte) []byte {
	out := make([]byte, 0, p.keySize+BlockSize)
	var block [BlockSize]byte
	copy(block[:], folded)
	for len(out) < p.keySize {
		b.Encrypt(block[:], block[:])
		out = append(out, block[:]...)
	}
	clear(out[p.keySize:])
	return out[:p.keySize:p.keySize]
}

// foldedConstants caches usageConstant n-folded to a block, by the
// constant: folding costs more than the AES work of a derivation, and a
// program uses a handful of usages.
var foldedConstants sync.Map // uint64 -> *[BlockSize]byte

// usageConstant is the derivation constant of RFC 3961 section 5.3, the
// usage number in four big-endian bytes and the byte saying which key,
// n-folded to a block.
func usageConstant(u Usage, which byte) []byte {
	id := uint64(u)<<8 | uint64(which)
	if v, ok := foldedConstants.Load(id); ok {
		return v.(*[BlockSize]byte)[:]
	}
	var f [BlockSize]byte
	copy(f[:], nfold(append(binary.BigEndian.AppendUint32(make([]byte, 0, 5), uint32(u)), which), BlockSize))
	v, _ := foldedConstants.LoadOrStore(id, &f)
	return v.(*[BlockSize]byte)[:]
}

// The last byte of the derivation constants (RFC 3961 section 5.3).
const (
	constChecksum   = 0x99 // Kc
	constEncryption = 0xAA // Ke
	constIntegrity  = 0x55 // Ki
)
