package ntlm

import (
	"crypto/md5"
	"encoding"
)

// md5StateSize is the length of a crypto/md5 digest's marshalled state.
var md5StateSize = func() int {
	b, err := md5.New().(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("ntlm: crypto/md5 state does not marshal: " + err.Error())
	}
	if len(b) > maxMD5State {
		panic("ntlm: crypto/md5 state outgrew maxMD5State")
	}
	return len(b)
}()

// maxMD5State bounds md5StateSize, so the states live in arrays.
const maxMD5State = 96

// hmacPads is HMAC-MD5 keyed once: the MD5 states after the inner and the
// outer padded key, saved, so that each message hashes only itself and
// not two blocks of key as well. A key that MACs several messages (the
// NTLMv2 ResponseKeyNT, twice a logon) saves a third of each MAC.
type hmacPads struct {
	inner, outer [maxMD5State]byte
}

// init keys p with key, at most a block long, as every NTLM key is.
func (p *hmacPads) init(key []byte) {
	var ipad, opad [md5.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	h := md5.New()
	h.Write(ipad[:])
	// Marshalling an MD5 state cannot fail; the states are the
	// digest's own, so unmarshalling them in sum cannot either.
	m := h.(encoding.BinaryMarshaler)
	b, _ := m.MarshalBinary()
	copy(p.inner[:], b)
	clear(b)
	h.Reset()
	h.Write(opad[:])
	b, _ = m.MarshalBinary()
	copy(p.outer[:], b)
	clear(b)
	h.Reset()
	clear(ipad[:])
	clear(opad[:])
}

// sum is HMAC_MD5(key, concatenation of parts).
func (p *hmacPads) sum(parts ...[]byte) [md5.Size]byte {
	h := md5.New() // stays on the stack: every call below is devirtualized
	u := h.(encoding.BinaryUnmarshaler)
	_ = u.UnmarshalBinary(p.inner[:md5StateSize])
	for _, b := range parts {
		h.Write(b)
	}
	var inner, sum [md5.Size]byte
	h.Sum(inner[:0])
	_ = u.UnmarshalBinary(p.outer[:md5StateSize])
	h.Write(inner[:])
	h.Sum(sum[:0])
	h.Reset()
	clear(inner[:])
	return sum
}

func (p *hmacPads) wipe() {
	clear(p.inner[:])
	clear(p.outer[:])
}

// ResponseKey is ResponseKeyNT of NTLMv2 (NTOWFv2, MS-NLMP 3.3.2) ready
// for use, with its HMAC pads hashed. Deriving it is an MD4 and an
// HMAC-MD5 of the password, and using it two more, a quarter of what a
// logon hashes on each side; so a credential that starts many clients,
// or a directory that answers many logons, derives it once and passes it
// to InitClientKey or returns it from ServerConfig.LookupKey. The zero
// value is no key. It is a secret: Wipe it when done.
type ResponseKey struct {
	key  [16]byte
	pads hmacPads
}

// NewResponseKey derives the ResponseKey of a password, user and domain.
func NewResponseKey(password, user, domain string) ResponseKey {
	nt := NTHash(password)
	defer clear(nt)
	return ResponseKeyFromHash(nt, user, domain)
}

// ResponseKeyFromHash derives the ResponseKey from a stored NT hash.
// User and domain are as the client sends them: NTOWFv2 hashes the user
// upper-cased and the domain as spelled.
func ResponseKeyFromHash(ntHash []byte, user, domain string) ResponseKey {
	var k ResponseKey
	k.key = ntowfv2(ntHash, user, domain)
	k.pads.init(k.key[:])
	return k
}

// Bytes returns NTOWFv2 itself.
func (k *ResponseKey) Bytes() []byte { return k.key[:] }

// Wipe zeroes the key.
func (k *ResponseKey) Wipe() {
	clear(k.key[:])
	k.pads.wipe()
}
