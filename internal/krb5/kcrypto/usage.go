package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"fmt"
	"hash"
	"io"
	"sync"
)

// UsageKey holds the keys derived from a Key for one usage: Ke and Ki to
// encrypt and decrypt, Kc to compute and verify checksums. Each is
// derived when it is first needed, so that a usage that only ever signs
// (or only encrypts) pays for its own keys alone. It is safe for
// concurrent use, except Zero.
type UsageKey struct {
	p       *profile
	usage   Usage
	base    []byte // the protocol key, in baseBuf: one allocation per UsageKey
	baseBuf [maxKeySize]byte

	encOnce sync.Once
	ke      cipher.Block
	keRaw   []byte
	ki      []byte

	sumOnce sync.Once
	kc      []byte

	// HMACs keyed with ki and kc, reset and reused: keying an HMAC
	// allocates two hashes and hashes the pads.
	hi, hc sync.Pool
}

// enc derives Ke and Ki.
func (u *UsageKey) enc() {
	u.encOnce.Do(func() {
		// The key size was checked when the Key was made, so the
		// ciphers cannot fail.
		base, _ := aes.NewCipher(u.base)
		u.keRaw = deriveWith(u.p, base, usageConstant(u.usage, constEncryption))
		u.ki = deriveWith(u.p, base, usageConstant(u.usage, constIntegrity))
		u.ke, _ = aes.NewCipher(u.keRaw)
	})
}

// sum derives Kc.
func (u *UsageKey) sum() {
	u.sumOnce.Do(func() {
		base, _ := aes.NewCipher(u.base)
		u.kc = deriveWith(u.p, base, usageConstant(u.usage, constChecksum))
	})
}

func (u *UsageKey) macI() hash.Hash {
	if h, ok := u.hi.Get().(hash.Hash); ok {
		h.Reset()
		return h
	}
	u.enc()
	return hmac.New(sha1.New, u.ki)
}

func (u *UsageKey) macC() hash.Hash {
	if h, ok := u.hc.Get().(hash.Hash); ok {
		h.Reset()
		return h
	}
	u.sum()
	return hmac.New(sha1.New, u.kc)
}

// Derive returns the keys of usage u derived from k, each derived when
// first used. Deriving costs a few AES key schedules and block
// encryptions; a context that protects many messages under one usage
// keeps the UsageKey. It is independent of k: zeroing k leaves it.
func (k *Key) Derive(u Usage) (*UsageKey, error) {
	d := new(UsageKey)
	k.DeriveInto(d, u)
	return d, nil
}

// DeriveInto is Derive into storage the caller owns, such as a field of a
// context that keeps several usages: d must be a zero UsageKey (new, or
// never used since it was declared). It saves an allocation per usage.
func (k *Key) DeriveInto(d *UsageKey, u Usage) {
	d.p, d.usage = k.p, u
	d.base = d.baseBuf[:copy(d.baseBuf[:], k.value)]
}

// cached returns the keys of usage u, kept in k from their first use.
func (k *Key) cached(u Usage) (*UsageKey, error) {
	if d, ok := k.derived.Load(u); ok {
		return d.(*UsageKey), nil
	}
	d, err := k.Derive(u)
	if err != nil {
		return nil, err
	}
	actual, _ := k.derived.LoadOrStore(u, d)
	k.hasDerived.Store(true)
	return actual.(*UsageKey), nil
}

// EType is the encryption type of the key u was derived from.
func (u *UsageKey) EType() EType { return u.p.etype }

// Usage is the usage u was derived for.
func (u *UsageKey) Usage() Usage { return u.usage }

// Zero overwrites the key bytes u holds. (The AES key schedule inside
// crypto/aes and the keyed states of pooled HMACs cannot be reached.) u
// must not be used afterwards.
func (u *UsageKey) Zero() {
	clear(u.base)
	clear(u.keRaw)
	clear(u.ki)
	clear(u.kc)
}

// Encrypt returns the ciphertext of plaintext (RFC 3961 section 5.3): a
// confounder of ConfounderSize bytes read from r (crypto/rand if nil) and
// the plaintext, encrypted with AES-CTS under Ke, then the first MACSize
// bytes of HMAC-SHA1 under Ki of the same confounder and plaintext.
func (u *UsageKey) Encrypt(r io.Reader, plaintext ...[]byte) ([]byte, error) {
	return u.AppendEncrypt(nil, r, plaintext...)
}

// AppendEncrypt is Encrypt appending the ciphertext to dst. The plaintext
// is the concatenation of its parts, so a caller need not join them first.
func (u *UsageKey) AppendEncrypt(dst []byte, r io.Reader, plaintext ...[]byte) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	n := ConfounderSize
	for _, p := range plaintext {
		n += len(p)
	}
	start := len(dst)
	dst = grow(dst, n+MACSize)
	body := dst[start : start+n]
	if _, err := io.ReadFull(r, body[:ConfounderSize]); err != nil {
		return nil, fmt.Errorf("kcrypto: reading a confounder: %w", err)
	}
	off := ConfounderSize
	for _, p := range plaintext {
		off += copy(body[off:], p)
	}
	u.enc()
	mac := u.macI()
	mac.Write(body)
	var sum [sha1.Size]byte
	mac.Sum(sum[:0])
	u.hi.Put(mac)
	ctsEncrypt(u.ke, body, body)
	copy(dst[start+n:], sum[:MACSize])
	return dst, nil
}

// Decrypt returns the plaintext of ciphertext made by Encrypt under the
// same key and usage, without the confounder. It fails with ErrIntegrity
// if the MAC does not match (wrong key, wrong usage, or altered data) and
// with ErrMalformed if ciphertext is too short.
func (u *UsageKey) Decrypt(ciphertext []byte) ([]byte, error) {
	return u.AppendDecrypt(nil, ciphertext)
}

// AppendDecrypt is Decrypt appending the plaintext to dst. dst must not
// overlap ciphertext. On failure dst's new bytes are zeroed and dropped.
func (u *UsageKey) AppendDecrypt(dst, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < ConfounderSize+MACSize {
		return dst, fmt.Errorf("%w: %d bytes, at least %d needed", ErrMalformed, len(ciphertext), ConfounderSize+MACSize)
	}
	n := len(ciphertext) - MACSize
	start := len(dst)
	dst = grow(dst, n)
	body := dst[start:]
	u.enc()
	ctsDecrypt(u.ke, body, ciphertext[:n])
	mac := u.macI()
	mac.Write(body)
	var sum [sha1.Size]byte
	mac.Sum(sum[:0])
	u.hi.Put(mac)
	if !hmac.Equal(sum[:MACSize], ciphertext[n:]) {
		clear(body)
		return dst[:start], fmt.Errorf("%w: %v, usage %d", ErrIntegrity, u.p.etype, u.usage)
	}
	copy(body, body[ConfounderSize:])
	return dst[:len(dst)-ConfounderSize], nil
}

// Checksum returns the keyed checksum of the concatenated data
// (hmac-sha1-96-aes*: the first MACSize bytes of HMAC-SHA1 under Kc).
func (u *UsageKey) Checksum(data ...[]byte) []byte {
	mac := u.macC()
	for _, d := range data {
		mac.Write(d)
	}
	sum := mac.Sum(make([]byte, 0, sha1.Size))[:MACSize]
	u.hc.Put(mac)
	return sum
}

// VerifyChecksum checks sum against the checksum of the concatenated data
// in constant time, failing with ErrIntegrity.
func (u *UsageKey) VerifyChecksum(sum []byte, data ...[]byte) error {
	if !hmac.Equal(u.Checksum(data...), sum) {
		return fmt.Errorf("%w: checksum %v, usage %d", ErrIntegrity, u.p.cksum, u.usage)
	}
	return nil
}

// Encrypt encrypts plaintext with the keys of usage u (see
// UsageKey.Encrypt), derived on first use and kept with k.
func (k *Key) Encrypt(u Usage, r io.Reader, plaintext []byte) ([]byte, error) {
	d, err := k.cached(u)
	if err != nil {
		return nil, err
	}
	return d.Encrypt(r, plaintext)
}

// Decrypt decrypts ciphertext with the keys of usage u (see
// UsageKey.Decrypt), derived on first use and kept with k.
func (k *Key) Decrypt(u Usage, ciphertext []byte) ([]byte, error) {
	d, err := k.cached(u)
	if err != nil {
		return nil, err
	}
	return d.Decrypt(ciphertext)
}

// Checksum returns the checksum of data, of type
// k.EType().ChecksumType(), with Kc of usage u, derived on first use and
// kept with k.
func (k *Key) Checksum(u Usage, data []byte) ([]byte, error) {
	d, err := k.cached(u)
	if err != nil {
		return nil, err
	}
	return d.Checksum(data), nil
}

// VerifyChecksum checks a checksum of type t over data under usage u. The
// type must be the one that goes with the key's encryption type: a keyed
// checksum of another type is refused with ErrUnsupported rather than
// computed with a key it was not made for.
func (k *Key) VerifyChecksum(u Usage, t ChecksumType, data, sum []byte) error {
	if t != k.p.cksum {
		return fmt.Errorf("%w: checksum %v with a %v key", ErrUnsupported, t, k.p.etype)
	}
	d, err := k.cached(u)
	if err != nil {
		return err
	}
	return d.VerifyChecksum(sum, data)
}

// grow extends b by n bytes, reallocating if its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, len(b)+n+len(b)/4)
	copy(nb, b)
	return nb
}
