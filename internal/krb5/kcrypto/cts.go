package kcrypto

import (
	"crypto/cipher"
	"crypto/subtle"
)

// ctsEncrypt encrypts src into dst (which may be src itself) with AES in
// CBC mode with ciphertext stealing and a zero initial vector, the mode of
// RFC 3962 section 5: ordinary CBC, except that the last two blocks trade
// places and the (formerly) last one is cut to the length of the final
// partial block. A single block is encrypted alone. len(src) >= BlockSize.
func ctsEncrypt(b cipher.Block, dst, src []byte) {
	n := len(src)
	if n == BlockSize {
		b.Encrypt(dst, src)
		return
	}
	r := n % BlockSize
	if r == 0 {
		r = BlockSize
	}
	head := n - r - BlockSize // the blocks before the last two
	var iv [BlockSize]byte
	var last [BlockSize]byte // the final partial block, zero padded
	copy(last[:], src[head+BlockSize:])
	var x, cPrev, cLast [BlockSize]byte
	subtle.XORBytes(x[:], src[head:head+BlockSize], iv[:])
	if head > 0 {
		cbcEncrypt(b, dst[:head], src[:head])
		subtle.XORBytes(x[:], src[head:head+BlockSize], dst[head-BlockSize:head])
	}
	b.Encrypt(cPrev[:], x[:])
	subtle.XORBytes(x[:], last[:], cPrev[:])
	b.Encrypt(cLast[:], x[:])
	copy(dst[head:], cLast[:])
	copy(dst[head+BlockSize:], cPrev[:r])
}

// ctsDecrypt reverses ctsEncrypt; dst may be src itself.
func ctsDecrypt(b cipher.Block, dst, src []byte) {
	n := len(src)
	if n == BlockSize {
		b.Decrypt(dst, src)
		return
	}
	r := n % BlockSize
	if r == 0 {
		r = BlockSize
	}
	head := n - r - BlockSize
	// The stolen tail first, while src is still whole: the full block at
	// head is the encryption of the padded last block, chained to the
	// second-to-last ciphertext block, whose first r bytes end the message
	// and whose rest is recovered from the decryption.
	var d, cPrev, last, pPrev [BlockSize]byte
	b.Decrypt(d[:], src[head:head+BlockSize])
	copy(cPrev[:], src[head+BlockSize:])
	copy(cPrev[r:], d[r:])
	subtle.XORBytes(last[:r], d[:r], cPrev[:r])
	b.Decrypt(pPrev[:], cPrev[:])
	if head > 0 {
		subtle.XORBytes(pPrev[:], pPrev[:], src[head-BlockSize:head])
		cbcDecrypt(b, dst[:head], src[:head])
	}
	copy(dst[head:], pPrev[:])
	copy(dst[head+BlockSize:], last[:r])
}

// smallCBC is the size up to which the CBC loops below are used:
// cipher.NewCBCEncrypter and NewCBCDecrypter allocate per message, which
// shows in the handshakes' many small messages, and are faster on long
// ones.
const smallCBC = 1024

// cbcEncrypt is CBC encryption with a zero IV of whole blocks, dst may be
// src.
func cbcEncrypt(b cipher.Block, dst, src []byte) {
	var prev [BlockSize]byte
	if len(src) > smallCBC {
		cipher.NewCBCEncrypter(b, prev[:]).CryptBlocks(dst, src)
		return
	}
	for i := 0; i < len(src); i += BlockSize {
		subtle.XORBytes(prev[:], prev[:], src[i:i+BlockSize])
		b.Encrypt(dst[i:i+BlockSize], prev[:])
		copy(prev[:], dst[i:i+BlockSize])
	}
}

// cbcDecrypt is CBC decryption with a zero IV of whole blocks; dst may be
// src.
func cbcDecrypt(b cipher.Block, dst, src []byte) {
	var prev, c, p [BlockSize]byte
	if len(src) > smallCBC {
		cipher.NewCBCDecrypter(b, prev[:]).CryptBlocks(dst, src)
		return
	}
	for i := 0; i < len(src); i += BlockSize {
		copy(c[:], src[i:i+BlockSize])
		b.Decrypt(p[:], c[:])
		subtle.XORBytes(dst[i:i+BlockSize], p[:], prev[:])
		prev = c
	}
}
