package kcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"fmt"
	"io"
)

// UsageKey holds the keys derived from a Key for one usage: Ke and Ki to
// encrypt and decrypt, Kc to compute and verify checksums. It is safe for
// concurrent use, except Zero.
type UsageKey struct {
	p      *profile
	usage  Usage
	ke     cipher.Block
	keRaw  []byte
	ki, kc []byte
}

// Derive returns the keys of usage u derived from k. Deriving costs a few
// AES key schedules and block encryptions; a context that protects many
// messages under one usage derives it once.
func (k *Key) Derive(u Usage) (*UsageKey, error) {
	return k.derive(u, true, true)
}

// derive derives the encryption keys (Ke, Ki), the checksum key (Kc), or
// both, of usage u.
func (k *Key) derive(u Usage, enc, sum bool) (*UsageKey, error) {
	base, err := aes.NewCipher(k.value)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeySize, err)
	}
	d := &UsageKey{p: k.p, usage: u}
	if enc {
		d.keRaw = deriveWith(k.p, base, usageConstant(u, constEncryption))
		d.ki = deriveWith(k.p, base, usageConstant(u, constIntegrity))
		if d.ke, err = aes.NewCipher(d.keRaw); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeySize, err)
		}
	}
	if sum {
		d.kc = deriveWith(k.p, base, usageConstant(u, constChecksum))
	}
	return d, nil
}

// EType is the encryption type of the key u was derived from.
func (u *UsageKey) EType() EType { return u.p.etype }

// Usage is the usage u was derived for.
func (u *UsageKey) Usage() Usage { return u.usage }

// Zero overwrites the derived key bytes u holds. (The AES key schedule
// inside crypto/aes cannot be reached.) u must not be used afterwards.
func (u *UsageKey) Zero() {
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
	mac := hmac.New(sha1.New, u.ki)
	mac.Write(body)
	var sum [sha1.Size]byte
	mac.Sum(sum[:0])
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
	ctsDecrypt(u.ke, body, ciphertext[:n])
	mac := hmac.New(sha1.New, u.ki)
	mac.Write(body)
	var sum [sha1.Size]byte
	mac.Sum(sum[:0])
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
	mac := hmac.New(sha1.New, u.kc)
	for _, d := range data {
		mac.Write(d)
	}
	return mac.Sum(nil)[:MACSize]
}

// VerifyChecksum checks sum against the checksum of the concatenated data
// in constant time, failing with ErrIntegrity.
func (u *UsageKey) VerifyChecksum(sum []byte, data ...[]byte) error {
	if !hmac.Equal(u.Checksum(data...), sum) {
		return fmt.Errorf("%w: checksum %v, usage %d", ErrIntegrity, u.p.cksum, u.usage)
	}
	return nil
}

// Encrypt derives the keys of usage u and encrypts plaintext with them
// (see UsageKey.Encrypt).
func (k *Key) Encrypt(u Usage, r io.Reader, plaintext []byte) ([]byte, error) {
	d, err := k.derive(u, true, false)
	if err != nil {
		return nil, err
	}
	defer d.Zero()
	return d.Encrypt(r, plaintext)
}

// Decrypt derives the keys of usage u and decrypts ciphertext with them
// (see UsageKey.Decrypt).
func (k *Key) Decrypt(u Usage, ciphertext []byte) ([]byte, error) {
	d, err := k.derive(u, true, false)
	if err != nil {
		return nil, err
	}
	defer d.Zero()
	return d.Decrypt(ciphertext)
}

// Checksum derives Kc of usage u and returns the checksum of data, of
// type k.EType().ChecksumType().
func (k *Key) Checksum(u Usage, data []byte) ([]byte, error) {
	d, err := k.derive(u, false, true)
	if err != nil {
		return nil, err
	}
	defer d.Zero()
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
	d, err := k.derive(u, false, true)
	if err != nil {
		return err
	}
	defer d.Zero()
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
